"""Recognising a person signalling a medical emergency.

Runs before any FAQ matching, so no FAQ answer can override it. Triggers come from
the answers set; each is word groups joined by " + " that must all be heard, in any
order, each group a "|"-separated list of alternatives. Matching tolerates one
inserted word inside a longer alternative ("can't get back up") and the word errors speech
recognition makes ("chess pain"), because a missed emergency costs far more than a
false alarm. A word heard only by its sound counts inside a trigger of two words or
more ("hard attack", "coding myself"), never alone: on its own "find" sounds like
"fainted" and "I find it hard to walk" is no emergency.

Two forms keep questions apart from calls for help (docs/answers-format.md). A trigger
led by "alone:" counts only when nothing else is said: "please help me" and "somebody
help" are calls, "help me choose a walker" is a question. Words after " unless ", heard
as written, stop a trigger counting ("can't get up" from a chair is a question).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jellyfish
from rapidfuzz import process
from rapidfuzz.distance import Indel

from voice.core.faq import Emergency, trigger_parts
from voice.core.normalize import Normalizer

_MAX_GAP = 1
_FUZZY_MIN_LENGTH = 5
_FUZZY_MIN_SIMILARITY = 0.8
_PHONETIC_MIN_LENGTH = 4
_PHONETIC_MIN_SIMILARITY = 0.6
_JOINED_MIN_SIMILARITY = 0.85
_GAP_MIN_PHRASE = 4  # shorter phrases must be heard without inserted words
_SOUND_MIN_WORDS = 2  # trigger words in all when one of them is matched by sound only
_ALONE_OTHERS = 1  # words an "alone:" trigger lets pass that neither it nor small words explain


@dataclass(frozen=True, slots=True)
class _Trigger:
    emergency: Emergency
    groups: tuple[tuple[tuple[str, ...], ...], ...]
    """Every group must match; a group matches when one of its alternatives does."""
    unless: tuple[tuple[str, ...], ...] = ()
    """Phrases that, heard as written anywhere, stop this trigger counting."""
    alone: frozenset[str] | None = None
    """For an "alone:" trigger, its words: with function words, all that may be said
    besides _ALONE_OTHERS words the set does not use."""
    group_words: tuple[frozenset[str], ...] = ()
    """Every word of each group's alternatives."""

    def __post_init__(self) -> None:
        words = tuple(
            frozenset(word for alternative in group for word in alternative) for group in self.groups
        )
        object.__setattr__(self, "group_words", words)


@dataclass(slots=True)
class _Heard:
    """What a reading's words may be, by position."""

    tokens: Sequence[str]
    spelled: list[frozenset[str]]
    """The trigger words each token is, or is a near spelling of."""
    sounded: list[frozenset[str]]
    """Those and the trigger words each token sounds like."""
    joined: list[frozenset[str]]
    """The trigger words each token and the next one make together ("my shelf")."""
    spelled_anywhere: frozenset[str] = frozenset()
    sounded_anywhere: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # Most trigger phrases have a word heard nowhere: ruling those out first spares
        # the in-order search, which took three quarters of all matching time.
        self.spelled_anywhere = frozenset().union(*self.spelled, *self.joined)
        self.sounded_anywhere = frozenset().union(*self.sounded, *self.joined)


class EmergencyDetector:
    """Finds the first emergency whose trigger a question contains."""

    def __init__(
        self, emergencies: Sequence[Emergency], normalizer: Normalizer, topic_words: frozenset[str]
    ) -> None:
        """`topic_words`: every word the set's entries are asked with (voice.core.index's
        asked_with); no "alone:" trigger lets a call said with one of them pass."""
        self._triggers: list[_Trigger] = []
        self.normalizer = normalizer
        language = normalizer.language
        self._small_words = (
            normalizer.function_words
            | {
                str(value)
                for word, value in language.number_words.items()
                if normalizer.stem(word) in normalizer.function_words
            }
            | set(normalizer.tokens(language.wake_phrase))
        )
        """What an "alone:" trigger lets pass: function words, the digits of those that
        are numbers ("one" is "1" by now), and the wake phrase ("hey helper, help me")."""
        self._topics = topic_words
        # Spoken forms of the trigger words: stems lose the sound ("cutting" -> "cut"),
        # and a recogniser's slip is heard in the whole word ("coding" for "cutting").
        spoken: dict[str, str] = {}
        for emergency in emergencies:
            for alone, texts, vetoes in map(trigger_parts, emergency.triggers):
                for text in (text for group in texts for text in group):
                    spoken.update(normalizer.analyse(text))
                groups = tuple(
                    tuple(alternative for alternative in map(normalizer.tokens, group) if alternative)
                    for group in texts
                )
                own = frozenset(word for group in groups for alternative in group for word in alternative)
                unless = tuple(phrase for phrase in map(normalizer.tokens, vetoes) if phrase)
                if groups and all(groups):
                    self._triggers.append(_Trigger(emergency, groups, unless, own if alone else None))
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

    def detect_text(
        self, text: str, min_words: int = 1, best: str | None = None, guessing: bool = False
    ) -> Emergency | None:
        """`detect` on `text` as this detector's normalizer reads it (and `best` as context)."""
        analysed = self.normalizer.analyse(text)
        context = None
        if best is not None:
            other = self.normalizer.analyse(best)
            context = ([token for _, token in other], [surface for surface, _ in other])
        return self.detect(
            [token for _, token in analysed],
            [surface for surface, _ in analysed],
            min_words,
            context,
            guessing,
        )

    def detect(
        self,
        tokens: Sequence[str],
        surfaces: Sequence[str] = (),
        min_words: int = 1,
        best: tuple[Sequence[str], Sequence[str]] | None = None,
        guessing: bool = False,
    ) -> Emergency | None:
        """The first emergency whose trigger `tokens` (normalised, stemmed) contain.

        `surfaces`, the words as heard before stemming and aligned with `tokens`, let a
        misheard word be matched by its sound. `min_words` asks for a trigger of at
        least that many words in all ("kill myself", not "suicide"): single words are
        what a recogniser invents over noise, so a less likely reading of the audio
        needs more than one. `best`: the (tokens, surfaces) of the recogniser's best
        reading when `tokens` are a less likely one, which drops and changes words: an
        "alone:" trigger must find nothing else said in the best reading either.
        `guessing`: the recogniser was unsure of what it heard, so an "alone:" trigger
        lets no word pass that neither it nor the function words explain.
        """
        heard = self._hear(tokens, surfaces)
        context: _Heard | None = None
        for trigger in self._triggers:
            if not _found(trigger, heard, min_words) or any(
                _contains_exactly(tokens, phrase) for phrase in trigger.unless
            ):
                continue
            if trigger.alone is None:
                return trigger.emergency
            if context is None:
                context = heard if best is None else self._hear(*best)
            if self._said_alone(trigger.alone, heard, guessing) and self._said_alone(
                trigger.alone, context, guessing
            ):
                return trigger.emergency
        return None

    def _hear(self, tokens: Sequence[str], surfaces: Sequence[str]) -> _Heard:
        spoken = list(surfaces) if len(surfaces) == len(tokens) else list(tokens)
        spelled = [self._spelled_as(token) for token in tokens]
        sounded = [
            near | self._sounds_as(token, word)
            for near, token, word in zip(spelled, tokens, spoken, strict=True)
        ]
        joined = [self._joined_as(first + second) for first, second in zip(tokens, tokens[1:], strict=False)]
        return _Heard(tokens, spelled, sounded, joined)

    def _said_alone(self, own: frozenset[str], heard: _Heard, guessing: bool) -> bool:
        """Whether nothing is said but `own` words (or near spellings of them, or two words
        that join into one), function words, and _ALONE_OTHERS words the set does not use."""
        others: set[str] = set()
        for position, token in enumerate(heard.tokens):
            if token in self._small_words or not own.isdisjoint(heard.spelled[position]):
                continue
            pairs = heard.joined[max(0, position - 1) : position + 1]
            if not any(own.intersection(pair) for pair in pairs):
                others.add(token)
        return len(others) <= (0 if guessing else _ALONE_OTHERS) and self._topics.isdisjoint(others)

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


def _found(trigger: _Trigger, heard: _Heard, min_words: int) -> bool:
    """Whether `trigger` was heard, in at least `min_words` words (two when one of them
    is matched only by its sound)."""
    return _words_found(trigger, heard.spelled, heard.joined, heard.spelled_anywhere) >= min_words or (
        _words_found(trigger, heard.sounded, heard.joined, heard.sounded_anywhere)
        >= max(min_words, _SOUND_MIN_WORDS)
    )


def _words_found(
    trigger: _Trigger,
    heard: Sequence[frozenset[str]],
    joined: Sequence[frozenset[str]],
    anywhere: frozenset[str],
) -> int:
    """How many words of `trigger` were heard (the longest alternative of each group),
    or 0 unless every group was. `anywhere`: every word in `heard` and `joined`."""
    found = 0
    for group, words in zip(trigger.groups, trigger.group_words, strict=True):
        if anywhere.isdisjoint(words):  # the common case, and cheap
            return 0
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


def _contains_exactly(tokens: Sequence[str], phrase: tuple[str, ...]) -> bool:
    return any(tuple(tokens[start : start + len(phrase)]) == phrase for start in range(len(tokens)))


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
