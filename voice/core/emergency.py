"""Recognising a person signalling a medical emergency.

Runs before any FAQ matching, so no FAQ answer can override it. Triggers come from
the answers set; each is word groups joined by " + " that must all be heard, in any
order, each group a "|"-separated list of alternatives. Matching tolerates one
inserted word inside a longer alternative ("can't get back up") and the word errors speech
recognition makes ("chess pain"), because a missed emergency costs far more than a
false alarm. A word heard only by its sound counts inside a trigger of two words or
more ("hard attack", "coding myself"), never alone: on its own "find" sounds like
"fainted" and "I find it hard to walk" is no emergency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jellyfish
from rapidfuzz import process
from rapidfuzz.distance import Indel

from voice.core.faq import Emergency
from voice.core.normalize import Normalizer

_MAX_GAP = 1
_FUZZY_MIN_LENGTH = 5
_FUZZY_MIN_SIMILARITY = 0.8
_PHONETIC_MIN_LENGTH = 4
_PHONETIC_MIN_SIMILARITY = 0.6
_JOINED_MIN_SIMILARITY = 0.85
_GAP_MIN_PHRASE = 4  # shorter phrases must be heard without inserted words
_SOUND_MIN_WORDS = 2  # trigger words in all when one of them is matched by sound only


@dataclass(frozen=True, slots=True)
class _Trigger:
    emergency: Emergency
    groups: tuple[tuple[tuple[str, ...], ...], ...]
    """Every group must match; a group matches when one of its alternatives does."""


class EmergencyDetector:
    """Finds the first emergency whose trigger a question contains."""

    def __init__(self, emergencies: Sequence[Emergency], normalizer: Normalizer) -> None:
        self._triggers: list[_Trigger] = []
        # Spoken forms of the trigger words: stems lose the sound ("cutting" -> "cut"),
        # and a recogniser's slip is heard in the whole word ("coding" for "cutting").
        spoken: dict[str, str] = {}
        for emergency in emergencies:
            for trigger in emergency.triggers:
                for text in trigger.replace("+", "|").split("|"):
                    spoken.update(normalizer.analyse(text))
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
        self._by_sound: dict[str, list[tuple[str, str]]] = {}
        """Metaphone code to (spelling, trigger token)."""
        for word in self._vocabulary:
            if len(word) >= _PHONETIC_MIN_LENGTH:
                self._by_sound.setdefault(jellyfish.metaphone(word), []).append((word, word))
        for surface, token in spoken.items():
            if len(surface) >= _PHONETIC_MIN_LENGTH and surface != token:
                self._by_sound.setdefault(jellyfish.metaphone(surface), []).append((surface, token))

    def detect(
        self, tokens: Sequence[str], surfaces: Sequence[str] = (), min_words: int = 1
    ) -> Emergency | None:
        """The first emergency whose trigger `tokens` (normalised, stemmed) contain.

        `surfaces`, the words as heard before stemming and aligned with `tokens`, let a
        misheard word be matched by its sound. `min_words` asks for a trigger of at
        least that many words in all ("kill myself", not "suicide"): single words are
        what a recogniser invents over noise, so a less likely reading of the audio
        needs more than one.
        """
        spoken = list(surfaces) if len(surfaces) == len(tokens) else list(tokens)
        spelled = [self._spelled_as(token) for token in tokens]
        sounded = [
            near | self._sounds_as(token, word)
            for near, token, word in zip(spelled, tokens, spoken, strict=True)
        ]
        joined = [self._joined_as(first + second) for first, second in zip(tokens, tokens[1:], strict=False)]
        # Most trigger phrases have a word heard nowhere: ruling those out first spares
        # the in-order search, which took three quarters of all matching time.
        spelled_anywhere = frozenset().union(*spelled, *joined)
        sounded_anywhere = frozenset().union(*sounded, *joined)
        for trigger in self._triggers:
            if _words_found(trigger, spelled, joined, spelled_anywhere) >= min_words:
                return trigger.emergency
            if _words_found(trigger, sounded, joined, sounded_anywhere) >= max(min_words, _SOUND_MIN_WORDS):
                return trigger.emergency
        return None

    def _spelled_as(self, token: str) -> frozenset[str]:
        """The trigger words `token` may be: itself or a near spelling."""
        if len(token) < _FUZZY_MIN_LENGTH:
            return frozenset({token})
        return frozenset({token, *self._spelled_like(token, _FUZZY_MIN_SIMILARITY)})

    def _sounds_as(self, token: str, surface: str) -> set[str]:
        """The trigger words `token`, heard as `surface`, sounds like."""
        words: set[str] = set()
        for heard in {token, surface}:
            if len(heard) >= _PHONETIC_MIN_LENGTH:
                # Metaphone alone is too lossy ("permit" sounds like "paramedic"):
                # also ask for some spelling overlap.
                words.update(
                    word
                    for spelling, word in self._by_sound.get(jellyfish.metaphone(heard), ())
                    if Indel.normalized_similarity(heard, spelling) >= _PHONETIC_MIN_SIMILARITY
                )
        return words

    def _joined_as(self, joined: str) -> frozenset[str]:
        """The trigger words two heard words together may be ("my shelf" for "myself")."""
        return frozenset(self._spelled_like(joined, _JOINED_MIN_SIMILARITY))

    def _spelled_like(self, heard: str, cutoff: float) -> set[str]:
        found = process.extract(
            heard, self._long_words, scorer=Indel.normalized_similarity, score_cutoff=cutoff, limit=None
        )
        return {word for word, _, _ in found}


def _words_found(
    trigger: _Trigger,
    heard: Sequence[frozenset[str]],
    joined: Sequence[frozenset[str]],
    anywhere: frozenset[str],
) -> int:
    """How many words of `trigger` were heard (the longest alternative of each group),
    or 0 unless every group was. `anywhere`: every word in `heard` and `joined`."""
    found = 0
    for group in trigger.groups:
        longest = max(
            (
                len(alternative)
                for alternative in group
                if anywhere.issuperset(alternative) and _contains(heard, joined, alternative)
            ),
            default=0,
        )
        if not longest:
            return 0
        found += longest
    return found


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
