"""What an utterance is, besides a question: a command, a reply, the wake phrase, an echo.

Pure: text in, a name out. A command is recognised only when the whole utterance
is one ("please stop", "um slower", "could you repeat that"), never because a
question contains a command word: "can I stop exercising when I'm tired?" stays a
question. Short utterances tolerate small recognition slips ("slow her" -> slower),
but only when one command is clearly the closest. Speech recognition is biased
towards `command_phrases` so that a quiet or slurred "stop" is still heard. The phrases
are the language's (voice.lang): pass the answers set's.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import lru_cache
from typing import TypeVar

from rapidfuzz import fuzz

from voice.conversation.events import CommandName
from voice.lang import DEFAULT_LANGUAGE, Language

_C = CommandName
_Name = TypeVar("_Name", CommandName, "Reply")


class Reply(StrEnum):
    """Utterances the conversation answers that are not commands."""

    MORE_TOPICS = "more_topics"
    """The next group of topics ("more topics", "next")."""
    THANKS = "thanks"


_FUZZY_MAX_WORDS = 3
_FUZZY_MIN_CHARS = 5  # shorter commands ("no", "stop") have too many near-homophones
_FUZZY_CUTOFF = 85.0
_FUZZY_MARGIN = 8.0  # a slip must be this much closer to one command than to any other
_ECHO_MIN_WORDS = 3
_ECHO_SHARE = 0.6
_ECHO_STRICT_SHARE = 0.8
_WAKE_TAIL_CUTOFF = 85.0
_WAKE_HEAD_CUTOFF = 60.0
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def words(text: str) -> list[str]:
    """Lower-case words without apostrophes ("That's" -> "thats")."""
    lowered = text.lower().replace("\u2019", "'")
    return [word.replace("'", "") for word in _WORD.findall(lowered)]


def _table(phrases: Mapping[str, tuple[str, ...]], names: type[_Name]) -> dict[tuple[str, ...], _Name]:
    return {tuple(phrase.split()): names(name) for name, group in phrases.items() for phrase in group}


def _affixes(phrases: Iterable[str]) -> list[list[str]]:
    """Longest first: "could you please" before "could you"."""
    return sorted((phrase.split() for phrase in phrases), key=len, reverse=True)


@dataclass(frozen=True, slots=True)
class _Tables:
    """One language's phrases, ready to look up."""

    commands: dict[tuple[str, ...], CommandName]
    replies: dict[tuple[str, ...], Reply]
    fuzzy: list[tuple[str, CommandName]]
    leading: list[list[str]]
    trailing: list[list[str]]
    ordinal_leads: list[tuple[str, ...]]


@lru_cache(maxsize=8)
def _tables(language: Language) -> _Tables:
    commands = _table(language.commands, CommandName)
    return _Tables(
        commands,
        _table(language.replies, Reply),
        [
            ("".join(phrase), name)
            for phrase, name in commands.items()
            if len("".join(phrase)) >= _FUZZY_MIN_CHARS
        ],
        _affixes(language.command_openers),
        _affixes(language.command_closers),
        [tuple(lead.split()) for lead in language.ordinal_openers],
    )


def command_phrases(language: Language = DEFAULT_LANGUAGE) -> tuple[str, ...]:
    """Every command and reply phrase plus the wake phrase: the vocabulary that speech
    recognisers are biased towards."""
    groups = (*language.commands.values(), *language.replies.values())
    return (*(phrase for phrases in groups for phrase in phrases), language.wake_phrase)


def _cores(found: list[str], tables: _Tables) -> list[tuple[str, ...]]:
    """The utterance with politeness and fillers peeled off its ends, one layer at a time."""
    cores: list[tuple[str, ...]] = []
    current = tuple(found)
    while current and current not in cores:
        cores.append(current)
        for affix in tables.leading:
            if len(current) > len(affix) and list(current[: len(affix)]) == affix:
                current = current[len(affix) :]
                break
        else:
            for affix in tables.trailing:
                if len(current) > len(affix) and list(current[-len(affix) :]) == affix:
                    current = current[: -len(affix)]
                    break
    return cores


def parse_command(text: str, language: Language = DEFAULT_LANGUAGE) -> CommandName | None:
    """The command the whole utterance is, in `language`, or None (a question, or not a command)."""
    tables = _tables(language)
    table = tables.commands
    cores = _cores(words(text), tables)
    for core in cores:
        if core in table:
            return table[core]
        # "yes, the first one", "no, the second"
        for lead_words in tables.ordinal_leads:
            rest = core[len(lead_words) :]
            if core[: len(lead_words)] == lead_words and table.get(rest) in (_C.FIRST, _C.SECOND):
                return table[rest]
    return _slip(cores[-1], tables) if cores else None


def _slip(core: tuple[str, ...], tables: _Tables) -> CommandName | None:
    """A short utterance that is a small recognition slip away from one command only."""
    joined = "".join(core)
    if len(core) > _FUZZY_MAX_WORDS or len(joined) < _FUZZY_MIN_CHARS:
        return None
    best: dict[CommandName, float] = {}
    for choice, name in tables.fuzzy:
        score = fuzz.ratio(joined, choice)
        best[name] = max(best.get(name, 0.0), score)
    ranked = sorted(best.items(), key=lambda item: item[1], reverse=True)
    if not ranked or ranked[0][1] < _FUZZY_CUTOFF:
        return None
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < _FUZZY_MARGIN:
        return None
    return ranked[0][0]


def parse_reply(text: str, language: Language = DEFAULT_LANGUAGE) -> Reply | None:
    """ "more topics", "thank you" and the like, when that is the whole utterance."""
    tables = _tables(language)
    for core in _cores(words(text), tables):
        if core in tables.replies:
            return tables.replies[core]
    return None


def split_wake(
    text: str, wake_phrase: str | None = None, language: Language = DEFAULT_LANGUAGE
) -> str | None:
    """What follows the wake phrase (`language`'s unless another is given; "" for a bare
    one), or None when `text` does not start with it.

    Tolerates how recognisers write it: "hi helper", "a helper", "hey help her", "helper".
    """
    wake = words(wake_phrase if wake_phrase is not None else language.wake_phrase)
    spans = [
        (m.end(), m.group().replace("'", "")) for m in _WORD.finditer(text.lower().replace("\u2019", "'"))
    ]
    heard = [word for _, word in spans]
    head_wanted = "".join(wake[:-1])
    for tail_start in range(min(len(wake) + 1, len(heard))):
        head = "".join(heard[:tail_start])
        if head and head not in language.wake_greetings and fuzz.ratio(head, head_wanted) < _WAKE_HEAD_CUTOFF:
            continue
        for tail_size in (1, 2):  # "helper" or "help her"
            end = tail_start + tail_size
            tail = "".join(heard[tail_start:end])
            # The same first sounds too, so that "my helper" is not "m-y-helper".
            if (
                end <= len(heard)
                and tail[:2] == wake[-1][:2]
                and fuzz.ratio(tail, wake[-1]) >= _WAKE_TAIL_CUTOFF
            ):
                return text[spans[end - 1][0] :].strip(" ,.;:!?-")
    return None


def is_echo(heard: str, spoken: str, strict: bool = False) -> bool:
    """Whether `heard` is the microphone picking up `spoken`: most of its words are in it.

    `strict` also wants them in the spoken order, as a loudspeaker echo has them: a person
    saying "I fell and I can't get up" over an answer about falls is not an echo of it.
    """
    found = words(heard)
    if len(found) < _ECHO_MIN_WORDS:
        return False
    said = words(spoken)
    if not strict:
        known = set(said)
        return sum(word in known for word in found) / len(found) >= _ECHO_SHARE
    longest = 0  # longest run of words in the same order in both (dynamic programming)
    previous = [0] * (len(said) + 1)
    for word in found:
        row = [0] * (len(said) + 1)
        for index, spoken_word in enumerate(said):
            if word == spoken_word:
                row[index + 1] = previous[index] + 1
                longest = max(longest, row[index + 1])
        previous = row
    return longest / len(found) >= _ECHO_STRICT_SHARE


_PERSONAL_MAX_WORDS = 4


def learn_commands(
    heard: Mapping[str, str], language: Language = DEFAULT_LANGUAGE, protected: frozenset[str] = frozenset()
) -> dict[str, tuple[str, ...]]:
    """One person's own forms of the commands, from what the recogniser wrote when they said
    each (`heard`: command name -> transcript): only those not already understood, of a few
    words, taken for no other command or reply, heard for one command only, and holding none
    of the `protected` words (the emergencies' own)."""
    forms: dict[str, str] = {}
    for name, transcript in heard.items():
        found = words(transcript)
        if not found or len(found) > _PERSONAL_MAX_WORDS or protected.intersection(found):
            continue
        if name not in language.commands or parse_command(transcript, language) == name:
            continue  # already understood
        if parse_command(transcript, language) is not None or parse_reply(transcript, language) is not None:
            continue  # a form of another command
        forms[name] = " ".join(found)
    taken = Counter(forms.values())
    return {name: (form,) for name, form in sorted(forms.items()) if taken[form] == 1}


def personal_language(language: Language, forms: Mapping[str, tuple[str, ...]]) -> Language:
    """`language` also understanding one person's `forms` of its commands."""
    commands = {
        name: (*phrases, *(form for form in forms.get(name, ()) if form not in phrases))
        for name, phrases in language.commands.items()
    }
    return replace(language, commands=commands)
