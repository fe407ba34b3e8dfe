"""Text normalisation shared by the matcher, the emergency detector and the checker.

Pure: text in, tokens out. The language's data (contractions, number words, fillers,
function words) comes from voice.lang, the set's language; domain synonyms come from
the answers set.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import Stemmer

from voice.lang import DEFAULT_LANGUAGE, Language

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


@lru_cache(maxsize=8)
def _stemmer(name: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(name)


def stem(word: str, language: Language = DEFAULT_LANGUAGE) -> str:
    return str(_stemmer(language.stemmer).stemWord(word))


def _expand(word: str, language: Language) -> list[str]:
    contractions = language.contractions
    if word in contractions:
        return contractions[word].split()
    for suffix, replacement in language.contraction_endings:
        if word.endswith(suffix):
            return (word[: -len(suffix)] + replacement).split()
    if word.endswith("'s"):
        base = word[:-2]
        return [base, "is"] if base in language.is_before_s else [base]
    return [word.replace("'", "")]


def _numbers_to_digits(words: list[str], language: Language) -> list[str]:
    """Spoken numbers become digits; runs of single digits join ("nine one one" -> 911)."""
    number_words = language.number_words
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            if len(run) > 1 and all(len(digit) == 1 for digit in run):
                out.append("".join(run))
            else:
                out.extend(run)
            run.clear()

    for index, word in enumerate(words):
        if word.isdigit():
            run.append(word)
            continue
        value = number_words.get(word)
        if value is not None and (word not in language.digit_only_words or run):
            following = words[index + 1] if index + 1 < len(words) else ""
            if value >= 20 and following in number_words and number_words[following] < 10:
                run.append(str(value)[0])  # "twenty one": the unit joins below
            else:
                run.append(str(value))
            continue
        flush()
        out.append(word)
    flush()
    return [word for word in out if word]


_PhraseIndex = dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]]


def _phrase_index(pairs: Iterable[tuple[tuple[str, ...], tuple[str, ...]]]) -> _PhraseIndex:
    """Phrases by their first word, longest first, each with its replacement."""
    index: _PhraseIndex = {}
    for phrase, replacement in pairs:
        if phrase:
            index.setdefault(phrase[0], []).append((phrase, replacement))
    for candidates in index.values():
        candidates.sort(key=lambda pair: len(pair[0]), reverse=True)
    return index


def _replace_phrases(words: Sequence[str], index: _PhraseIndex) -> list[tuple[int, int, tuple[str, ...]]]:
    """(start, end, replacement) for each run of words, phrases replaced longest first."""
    out: list[tuple[int, int, tuple[str, ...]]] = []
    position = 0
    while position < len(words):
        for phrase, replacement in index.get(words[position], ()):
            end = position + len(phrase)
            if tuple(words[position:end]) == phrase:
                out.append((position, end, replacement))
                position = end
                break
        else:
            out.append((position, position + 1, (words[position],)))
            position += 1
    return out


def words(text: str, language: Language = DEFAULT_LANGUAGE) -> list[str]:
    """Lower-case words with contractions expanded and numbers as digits."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    expanded: list[str] = []
    for word in _WORD.findall(text):
        expanded.extend(_expand(word, language))
    return _numbers_to_digits(expanded, language)


class Normalizer:
    """Turns text into the canonical, stemmed tokens the matcher compares.

    Built once per answers set, in the set's language: its synonyms map what people say
    ("physio", "walking frame") onto one token ("pt", "walker").
    """

    def __init__(
        self,
        synonyms: Mapping[str, Iterable[str]] | None = None,
        extra_fillers: Iterable[str] = (),
        language: Language = DEFAULT_LANGUAGE,
    ) -> None:
        self.language = language
        self._stemmer = _stemmer(language.stemmer)
        fillers = {tuple(self._words(filler)) for filler in (*language.fillers, *extra_fillers)}
        self._fillers = _phrase_index((filler, ()) for filler in fillers)
        replacements: dict[tuple[str, ...], tuple[str, ...]] = {}
        for canonical, variants in (synonyms or {}).items():
            target = tuple(self.stem(word) for word in self._words(canonical))
            for variant in variants:
                source = tuple(self.stem(word) for word in self._words(variant))
                if source and source != target:
                    replacements[source] = target
        self._synonyms = _phrase_index(replacements.items())
        self.function_words = frozenset(self.stem(word) for word in language.function_words)
        """Stems of the language's function words."""
        self.question_words = frozenset(self.stem(word) for word in language.question_words)
        """Stems of the language's question words."""

    def _words(self, text: str) -> list[str]:
        return words(text, self.language)

    def stem(self, word: str) -> str:
        """`word`'s stem in the set's language."""
        return str(self._stemmer.stemWord(word))

    def words(self, text: str) -> list[str]:
        """Surface words without fillers, before stemming."""
        found = self._words(text)
        return [word for _, _, kept in _replace_phrases(found, self._fillers) for word in kept]

    def tokens(self, text: str) -> tuple[str, ...]:
        """Stemmed tokens with synonyms replaced by their canonical token."""
        return tuple(token for _, token in self.analyse(text))

    def analyse(self, text: str) -> list[tuple[str, str]]:
        """(surface word, token) pairs; a synonym's tokens carry the words it replaced."""
        surface = self.words(text)
        stems = self._stemmer.stemWords(surface)
        out: list[tuple[str, str]] = []
        for start, end, tokens in _replace_phrases(stems, self._synonyms):
            heard = "".join(surface[start:end])
            out.extend((heard, token) for token in tokens)
        return out

    def content(self, tokens: Sequence[str]) -> tuple[str, ...]:
        """The tokens that carry topic: function words removed."""
        return tuple(token for token in tokens if token not in self.function_words)
