"""Recognising a person signalling a medical emergency.

Runs before any FAQ matching, so no FAQ answer can override it. Triggers come from
the answers set; each is word groups joined by " + " that must all be heard, in any
order, each group a "|"-separated list of alternatives. Matching tolerates one
inserted word inside a longer alternative ("can't get back up") and the word errors speech
recognition makes ("chess pain"), because a missed emergency costs far more than a
false alarm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jellyfish
from rapidfuzz import process
from rapidfuzz.distance import Indel

from voice.faq import Emergency
from voice.normalize import Normalizer

_MAX_GAP = 1
_FUZZY_MIN_LENGTH = 5
_FUZZY_MIN_SIMILARITY = 0.8
_PHONETIC_MIN_LENGTH = 4
_PHONETIC_MIN_SIMILARITY = 0.6
_JOINED_MIN_SIMILARITY = 0.85
_GAP_MIN_PHRASE = 4  # shorter phrases must be heard without inserted words


@dataclass(frozen=True, slots=True)
class _Trigger:
    emergency: Emergency
    groups: tuple[tuple[tuple[str, ...], ...], ...]
    """Every group must match; a group matches when one of its alternatives does."""


class EmergencyDetector:
    """Finds the first emergency whose trigger a question contains."""

    def __init__(self, emergencies: Sequence[Emergency], normalizer: Normalizer) -> None:
        self._triggers: list[_Trigger] = []
        for emergency in emergencies:
            for trigger in emergency.triggers:
                groups = tuple(
                    tuple(
                        alternative
                        for alternative in (normalizer.tokens(text) for text in group.split("|"))
                        if alternative
                    )
                    for group in trigger.split("+")
                )
                if groups and all(groups):
                    self._triggers.append(_Trigger(emergency, groups))
        self._vocabulary = sorted(
            {
                word
                for trigger in self._triggers
                for group in trigger.groups
                for alternative in group
                for word in alternative
            }
        )
        self._long_words = [word for word in self._vocabulary if len(word) >= _FUZZY_MIN_LENGTH]
        self._by_sound: dict[str, list[str]] = {}
        for word in self._vocabulary:
            if len(word) >= _PHONETIC_MIN_LENGTH:
                self._by_sound.setdefault(jellyfish.metaphone(word), []).append(word)

    def detect(self, tokens: Sequence[str]) -> Emergency | None:
        heard = [self._heard_as(token) for token in tokens]
        joined = [self._joined_as(first + second) for first, second in zip(tokens, tokens[1:], strict=False)]
        for trigger in self._triggers:
            if all(
                any(_contains(heard, joined, alternative) for alternative in group)
                for group in trigger.groups
            ):
                return trigger.emergency
        return None

    def _heard_as(self, token: str) -> frozenset[str]:
        """The trigger words `token` may be: itself, a near spelling, or a near sound."""
        words = {token}
        if len(token) >= _FUZZY_MIN_LENGTH:
            words |= self._spelled_like(token, _FUZZY_MIN_SIMILARITY)
        if len(token) >= _PHONETIC_MIN_LENGTH:
            # Metaphone alone is too lossy ("permit" sounds like "paramedic"):
            # also ask for some spelling overlap.
            words.update(
                word
                for word in self._by_sound.get(jellyfish.metaphone(token), ())
                if Indel.normalized_similarity(token, word) >= _PHONETIC_MIN_SIMILARITY
            )
        return frozenset(words)

    def _joined_as(self, joined: str) -> frozenset[str]:
        """The trigger words two heard words together may be ("my shelf" for "myself")."""
        return frozenset(self._spelled_like(joined, _JOINED_MIN_SIMILARITY))

    def _spelled_like(self, heard: str, cutoff: float) -> set[str]:
        found = process.extract(
            heard, self._long_words, scorer=Indel.normalized_similarity, score_cutoff=cutoff, limit=None
        )
        return {word for word, _, _ in found}


def _contains(
    heard: Sequence[frozenset[str]], joined: Sequence[frozenset[str]], phrase: tuple[str, ...]
) -> bool:
    """Whether `phrase` occurs in order, allowing _MAX_GAP extra words between its words
    when it is long enough. A phrase word may match one heard word or two joined."""
    return any(_matches_from(heard, joined, start, phrase, 0) for start in range(len(heard)))


def _matches_from(
    heard: Sequence[frozenset[str]],
    joined: Sequence[frozenset[str]],
    position: int,
    phrase: tuple[str, ...],
    word: int,
) -> bool:
    if word == len(phrase):
        return True
    # The first phrase word must start exactly here; later ones may skip _MAX_GAP words.
    gaps = range(_MAX_GAP + 1) if word and len(phrase) >= _GAP_MIN_PHRASE else range(1)
    for gap in gaps:
        at = position + gap
        if at >= len(heard):
            return False
        if phrase[word] in heard[at] and _matches_from(heard, joined, at + 1, phrase, word + 1):
            return True
        if (
            at < len(joined)
            and phrase[word] in joined[at]
            and _matches_from(heard, joined, at + 2, phrase, word + 1)
        ):
            return True
    return False
