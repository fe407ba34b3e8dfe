"""Text normalisation shared by the matcher, the emergency detector and the checker.

Pure: text in, tokens out. English language data (contractions, number words,
fillers, function words) lives here; domain synonyms come from the answers set.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

# Whole-word contractions, including the apostrophe-less forms speech recognisers write.
_CONTRACTIONS: dict[str, str] = {
    "can't": "can not",
    "cant": "can not",
    "cannot": "can not",
    "won't": "will not",
    "wont": "will not",
    "shan't": "shall not",
    "ain't": "is not",
    "aint": "is not",
    "i'm": "i am",
    "im": "i am",
    "ive": "i have",
    "id": "i would",
    "ill": "i will",
    "youre": "you are",
    "youve": "you have",
    "theyre": "they are",
    "weve": "we have",
    "thats": "that is",
    "whats": "what is",
    "hows": "how is",
    "wheres": "where is",
    "theres": "there is",
    "its": "it is",
    "lets": "let us",
    "let's": "let us",
    "gonna": "going to",
    "wanna": "want to",
    "gotta": "got to",
    "gimme": "give me",
    "dunno": "do not know",
    "kinda": "kind of",
    "sorta": "sort of",
    "y'all": "you all",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "isnt": "is not",
    "arent": "are not",
    "wasnt": "was not",
    "werent": "were not",
    "havent": "have not",
    "hasnt": "has not",
    "hadnt": "had not",
    "wouldnt": "would not",
    "couldnt": "could not",
    "shouldnt": "should not",
    "mustnt": "must not",
}
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("n't", " not"),
    ("'re", " are"),
    ("'ve", " have"),
    ("'ll", " will"),
    ("'d", " would"),
    ("'m", " am"),
)
# "'s" is "is" after these words and a possessive elsewhere ("my doctor's advice").
_IS_BEFORE_S = frozenset("it that what where who how there here he she this everything something".split())

_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_NUMBER_WORDS: dict[str, int] = {word: value for value, word in enumerate(_UNITS)}
_NUMBER_WORDS.update({word: 20 + 10 * index for index, word in enumerate(_TENS)})
_NUMBER_WORDS["oh"] = 0  # only inside a digit run: "nine oh one"

# Spoken noise that says nothing about the question. Multi-word fillers come first.
ENGLISH_FILLERS: tuple[str, ...] = (
    "excuse me",
    "you know",
    "i mean",
    "i was wondering",
    "i am wondering",
    "i wonder",
    "kind of",
    "sort of",
    "can you tell me",
    "could you tell me",
    "tell me",
    "i would like to know",
    "i want to know",
    "i wanted to know",
    "do you know",
    "let me ask",
    "quick question",
    "um",
    "umm",
    "uh",
    "uhh",
    "uhm",
    "erm",
    "er",
    "ah",
    "hmm",
    "mm",
    "mhm",
    "oh",
    "so",
    "well",
    "okay",
    "ok",
    "like",
    "please",
    "hey",
    "hi",
    "hello",
    "sorry",
    "actually",
    "basically",
    "just",
    "really",
    "anyway",
    "yeah",
    "right",
)

# Function words: carry no topic, so the matcher gives them no weight.
ENGLISH_FUNCTION_WORDS = frozenset(
    """a an the and or but if of to in on at by for with about from into over under
    as is are was were be been being am do does did doing have has had having will
    would shall should can could may might must i me my mine myself you your yours we
    us our they them their he him his she her it its this that these those there here
    what who whom whose why how yes any some all each every
    other such than too very also then there once more most lot lots
    get got getting go going goes went come thing things something anything way
    know want need say said tell ask give make let help
    one someone anyone people person good bad better kind sort maybe even
    now just really quite bit little lot whether because while should
    problem problems trouble troubles issue issues difficulty difficulties stuff""".split()
)


# Words that say what kind of answer is wanted ("where", "how much"). They are weighed
# like topic words, so an entry that never uses them looks less likely, but they are
# never evidence for an entry on their own.
ENGLISH_QUESTION_WORDS = frozenset("where when which much many best".split())


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


def _expand(word: str) -> list[str]:
    if word in _CONTRACTIONS:
        return _CONTRACTIONS[word].split()
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix):
            return (word[: -len(suffix)] + replacement).split()
    if word.endswith("'s"):
        base = word[:-2]
        return [base, "is"] if base in _IS_BEFORE_S else [base]
    return [word.replace("'", "")]


def _numbers_to_digits(words: list[str]) -> list[str]:
    """Spoken numbers become digits; runs of single digits join ("nine one one" -> 911)."""
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
        value = _NUMBER_WORDS.get(word)
        if value is not None and (word != "oh" or run):
            following = words[index + 1] if index + 1 < len(words) else ""
            if value >= 20 and following in _NUMBER_WORDS and _NUMBER_WORDS[following] < 10:
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


def words(text: str) -> list[str]:
    """Lower-case words with contractions expanded and numbers as digits."""
    text = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'")
    expanded: list[str] = []
    for word in _WORD.findall(text):
        expanded.extend(_expand(word))
    return _numbers_to_digits(expanded)


class Normalizer:
    """Turns text into the canonical, stemmed tokens the matcher compares.

    Built once per answers set: its synonyms map what people say ("physio",
    "walking frame") onto one token ("pt", "walker").
    """

    def __init__(
        self,
        synonyms: Mapping[str, Iterable[str]] | None = None,
        extra_fillers: Iterable[str] = (),
    ) -> None:
        fillers = {tuple(words(filler)) for filler in (*ENGLISH_FILLERS, *extra_fillers)}
        self._fillers = _phrase_index((filler, ()) for filler in fillers)
        replacements: dict[tuple[str, ...], tuple[str, ...]] = {}
        for canonical, variants in (synonyms or {}).items():
            target = tuple(stem(word) for word in words(canonical))
            for variant in variants:
                source = tuple(stem(word) for word in words(variant))
                if source and source != target:
                    replacements[source] = target
        self._synonyms = _phrase_index(replacements.items())
        self.function_words = frozenset(stem(word) for word in ENGLISH_FUNCTION_WORDS)
        self.question_words = frozenset(stem(word) for word in ENGLISH_QUESTION_WORDS)

    def words(self, text: str) -> list[str]:
        """Surface words without fillers, before stemming."""
        found = words(text)
        return [word for _, _, kept in _replace_phrases(found, self._fillers) for word in kept]

    def tokens(self, text: str) -> tuple[str, ...]:
        """Stemmed tokens with synonyms replaced by their canonical token."""
        return tuple(token for _, token in self.analyse(text))

    def analyse(self, text: str) -> list[tuple[str, str]]:
        """(surface word, token) pairs; a synonym's tokens carry the words it replaced."""
        surface = self.words(text)
        stems = _stemmer().stemWords(surface)
        out: list[tuple[str, str]] = []
        for start, end, tokens in _replace_phrases(stems, self._synonyms):
            heard = "".join(surface[start:end])
            out.extend((heard, token) for token in tokens)
        return out

    def content(self, tokens: Sequence[str]) -> tuple[str, ...]:
        """The tokens that carry topic: function words removed."""
        return tuple(token for token in tokens if token not in self.function_words)
