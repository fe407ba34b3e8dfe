"""What the matcher knows about an answers set's words, built once per set: how rare each word
is (inverse document frequency), how strongly each entry stands for it, every phrasing's words,
and a way back from a misheard word to the set's own (spelling with rapidfuzz, sound with
Metaphone)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jellyfish
import numpy as np
from rapidfuzz import fuzz, process

from voice.core.faq import Entry
from voice.core.normalize import Normalizer

if TYPE_CHECKING:
    from voice.core.config import MatcherConfig

_FUZZY_MIN_LENGTH = 4
_PHONETIC_SIMILARITY = 0.9
_PHONETIC_MIN_RATIO = 60.0  # spelling likeness a sound match also needs
_PHONETIC_CODE_RATIO = 80.0  # Metaphone codes this alike count as the same sound
_PHONETIC_MIN_LENGTH = 6  # shorter words have too many sound-alikes ("park", "pack")
_PHONETIC_MIN_CODE = 3
_PHONETIC_FUZZY_CODE = 4
_ANSWER_CREDIT = 0.5  # a word in the answer text says less about what people ask than a phrasing
_DETAILS_CREDIT = 0.25


@dataclass(frozen=True, slots=True)
class Phrasing:
    entry_index: int
    tokens: frozenset[str]
    weight: float
    """Sum of the weights of its tokens."""


class SetIndex:
    """What the matcher knows about a set's words, built once."""

    def __init__(self, entries: Sequence[Entry], normalizer: Normalizer, saturation: float) -> None:
        analyse = normalizer.analyse
        function_words = normalizer.function_words
        counts: list[dict[str, float]] = []
        phrasing_tokens: list[tuple[int, frozenset[str]]] = []
        asked_with: set[str] = set()
        self.wordings: list[str] = []
        """Each phrasing's full token string, aligned with self.phrasings."""
        self.topics: list[frozenset[str]] = []
        """Each entry's short topic as tokens: a question holding all of them names the entry."""
        self.exact: dict[str, int] = {}
        """Full token string of each question, phrasing and keyword to its entry."""
        self.surface: dict[str, str] = {}
        """Every word the set uses, as written, to its token."""
        for entry_index, entry in enumerate(entries):
            topic = entry.topic
            self.topics.append(frozenset(t for _, t in analyse(topic) if t not in function_words))
            count: dict[str, float] = defaultdict(float)
            texts = [(text, 1.0, True) for text in (entry.question, *entry.phrasings, *entry.keywords)]
            texts += [(entry.answer, _ANSWER_CREDIT, False)]
            texts += [(entry.details, _DETAILS_CREDIT, False)] if entry.details else []
            for text, amount, is_phrasing in texts:
                analysed = analyse(text)
                pairs = [(w, t) for w, t in analysed if t not in function_words]
                for word, token in pairs:
                    self.surface.setdefault(word, token)
                tokens = frozenset(token for _, token in pairs)
                for token in tokens:
                    count[token] += amount
                if is_phrasing and tokens:
                    asked_with.update(tokens)
                    phrasing_tokens.append((entry_index, tokens))
                    wording = " ".join(token for _, token in analysed)
                    self.wordings.append(wording)
                    self.exact.setdefault(wording, entry_index)
            counts.append(count)
        self.asked_with = frozenset(asked_with)
        """Every word the entries are asked with (questions, phrasings, keywords), function
        words aside."""
        self.credit = [{token: min(1.0, n / saturation) for token, n in count.items()} for count in counts]
        """How strongly each entry stands for each word, 0..1: saturates with repeated use."""
        soft_frequency: dict[str, float] = defaultdict(float)
        for credit in self.credit:
            for token, amount in credit.items():
                soft_frequency[token] += amount
        self.idf = {token: math.log(1 + len(entries) / max(1.0, df)) for token, df in soft_frequency.items()}
        self.max_idf = math.log(1 + len(entries))
        """The weight of a word only one entry uses: the unit of evidence."""
        self.phrasings = [
            Phrasing(entry_index, tokens, sum(self.idf[token] for token in tokens))
            for entry_index, tokens in phrasing_tokens
        ]
        self.phrasing_entries = np.array(
            [phrasing.entry_index for phrasing in self.phrasings], dtype=np.int64
        )
        """Each phrasing's entry index, aligned with self.phrasings and self.wordings."""
        self.phrasings_with: dict[str, list[int]] = defaultdict(list)
        for number, phrasing in enumerate(self.phrasings):
            for token in phrasing.tokens:
                self.phrasings_with[token].append(number)
        self._spellings = [word for word in self.surface if len(word) >= _FUZZY_MIN_LENGTH]
        self._sounds: dict[str, list[str]] = defaultdict(list)
        for word in self._spellings:
            self._sounds[jellyfish.metaphone(word)].append(word)
        self._sound_codes = list(self._sounds)

    def nearest(self, heard: str, config: MatcherConfig, by_sound: bool = True) -> tuple[str | None, float]:
        """The set's token that `heard` is probably a misrecognition of, and how sure (0..1)."""
        if heard in self.surface:
            return self.surface[heard], 1.0
        if len(heard) < _FUZZY_MIN_LENGTH:
            return None, 0.0
        found = process.extractOne(
            heard, self._spellings, scorer=fuzz.ratio, score_cutoff=config.fuzzy_token_cutoff
        )
        if found is not None:
            return self.surface[found[0]], found[1] / 100
        code = jellyfish.metaphone(heard)
        if not by_sound or len(heard) < _PHONETIC_MIN_LENGTH or len(code) < _PHONETIC_MIN_CODE:
            return None, 0.0
        # Short codes must agree exactly; longer ones may differ a little.
        cutoff = _PHONETIC_CODE_RATIO if len(code) >= _PHONETIC_FUZZY_CODE else 100.0
        # By sound: Metaphone codes that (nearly) agree, and some spelling in common,
        # since a code alone is too lossy ("permit" sounds like "paramedic").
        best_word, best_likeness = None, 0.0
        for similar_code, code_likeness, _ in process.extract(
            code, self._sound_codes, scorer=fuzz.ratio, score_cutoff=cutoff, limit=5
        ):
            for word in self._sounds[similar_code]:
                spelling = fuzz.ratio(heard, word)
                likeness = (code_likeness + spelling) / 200
                if spelling >= _PHONETIC_MIN_RATIO and likeness > best_likeness:
                    best_word, best_likeness = word, likeness
        if best_word is not None:
            return self.surface[best_word], _PHONETIC_SIMILARITY * best_likeness
        return None, 0.0
