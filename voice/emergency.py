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


def _same_word(heard: str, expected: str) -> bool:
    if heard == expected:
        return True
    shortest = min(len(heard), len(expected))
    if shortest >= _FUZZY_MIN_LENGTH and Indel.normalized_similarity(heard, expected) >= _FUZZY_MIN_SIMILARITY:
        return True
    # Metaphone alone is too lossy ("permit" sounds like "paramedic"): also ask for some spelling overlap.
    return (shortest >= _PHONETIC_MIN_LENGTH
            and jellyfish.metaphone(heard) == jellyfish.metaphone(expected)
            and Indel.normalized_similarity(heard, expected) >= _PHONETIC_MIN_SIMILARITY)


def _same_as_joined(first: str, second: str, expected: str) -> bool:
    """Two heard words that together spell one expected word, near enough."""
    joined = first + second
    return len(expected) >= _FUZZY_MIN_LENGTH and (
        Indel.normalized_similarity(joined, expected) >= _JOINED_MIN_SIMILARITY)


def _contains(tokens: Sequence[str], phrase: tuple[str, ...]) -> bool:
    """Whether `phrase` occurs in order, allowing _MAX_GAP extra words between its words.

    A phrase word may match one heard word or two heard words joined, because
    recognisers split words ("my shelf" for "myself").
    """
    return any(_matches_from(tokens, start, phrase, 0) for start in range(len(tokens)))


def _matches_from(tokens: Sequence[str], position: int, phrase: tuple[str, ...], word: int) -> bool:
    if word == len(phrase):
        return True
    # The first phrase word must start exactly here; later ones may skip _MAX_GAP words.
    gaps = range(_MAX_GAP + 1) if word and len(phrase) >= _GAP_MIN_PHRASE else range(1)
    for gap in gaps:
        at = position + gap
        if at >= len(tokens):
            return False
        if _same_word(tokens[at], phrase[word]) and _matches_from(tokens, at + 1, phrase, word + 1):
            return True
        if (at + 1 < len(tokens) and _same_as_joined(tokens[at], tokens[at + 1], phrase[word])
                and _matches_from(tokens, at + 2, phrase, word + 1)):
            return True
    return False


class EmergencyDetector:
    """Finds the first emergency whose trigger a question contains."""

    def __init__(self, emergencies: Sequence[Emergency], normalizer: Normalizer) -> None:
        self._triggers: list[_Trigger] = []
        for emergency in emergencies:
            for trigger in emergency.triggers:
                groups = tuple(
                    tuple(alternative for alternative in
                          (normalizer.tokens(text) for text in group.split("|")) if alternative)
                    for group in trigger.split("+")
                )
                if groups and all(groups):
                    self._triggers.append(_Trigger(emergency, groups))

    def detect(self, tokens: Sequence[str]) -> Emergency | None:
        for trigger in self._triggers:
            if all(any(_contains(tokens, alternative) for alternative in group)
                   for group in trigger.groups):
                return trigger.emergency
        return None
