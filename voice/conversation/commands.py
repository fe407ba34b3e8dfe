"""What an utterance is, besides a question: a command, a reply, the wake phrase, an echo.

Pure: text in, a name out. A command is recognised only when the whole utterance
is one ("please stop", "um slower", "could you repeat that"), never because a
question contains a command word: "can I stop exercising when I'm tired?" stays a
question. Short utterances tolerate small recognition slips ("slow her" -> slower),
but only when one command is clearly the closest. Speech recognition is biased
towards COMMAND_PHRASES so that a quiet or slurred "stop" is still heard.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from rapidfuzz import fuzz

from voice.conversation.events import CommandName

_C = CommandName
_Name = TypeVar("_Name", CommandName, "Reply")

_COMMANDS: dict[CommandName, str] = {
    _C.REPEAT: "repeat|say that again|say it again|again|pardon|pardon me|what|what was that|"
    "what did you say|sorry|come again|one more time",
    _C.SLOWER: "slower|slow down|more slowly|speak slower|speak more slowly|too fast",
    _C.FASTER: "faster|speed up|speak faster|quicker|too slow",
    _C.LOUDER: "louder|speak up|speak louder|volume up|i cant hear you|cant hear you",
    _C.SOFTER: "softer|quieter|speak softer|speak more quietly|volume down|too loud",
    _C.VOICE: "change voice|change your voice|change the voice|different voice|another voice|other voice|"
    "new voice|next voice|use a different voice|use another voice",
    _C.STOP: "stop|be quiet|quiet|thats enough|that is enough|enough|stop talking|hush|shush|cancel|"
    "never mind",
    _C.MORE: "more|tell me more|more information|more details|go on|continue",
    _C.HELP: "help|what can i ask|what can i ask you|what can you do|topics|menu",
    _C.BACK: "go back|back|previous|previous answer|last answer",
    _C.GOODBYE: "goodbye|good bye|bye|bye bye|thank you goodbye|thanks goodbye|thats all|that is all|"
    "im done|i am done",
    _C.YES: "yes|yeah|yep|yup|correct|thats right|that is right|exactly|sure",
    _C.NO: "no|nope|nah|neither|neither of them|none of them|not really|wrong|thats wrong|thats not it|"
    "no thats not it",
    _C.FIRST: "first|the first|the first one|first one|number one|the 1st one",
    _C.SECOND: "second|the second|the second one|second one|number two|the 2nd one",
}
"""Each command's phrases, separated by "|", written without apostrophes (as words() gives them)."""


class Reply(StrEnum):
    """Utterances the conversation answers that are not commands."""

    MORE_TOPICS = "more_topics"
    """The next group of topics ("more topics", "next")."""
    THANKS = "thanks"


_REPLIES: dict[Reply, str] = {
    Reply.MORE_TOPICS: "more topics|other topics|next|next topics|what else|what else can i ask|"
    "more questions|other questions",
    Reply.THANKS: "thank you|thanks|thank you very much|thanks a lot|great thanks|cheers",
}

WAKE_PHRASE = "hey helper"

COMMAND_PHRASES: tuple[str, ...] = (
    *(phrase for phrases in (*_COMMANDS.values(), *_REPLIES.values()) for phrase in phrases.split("|")),
    WAKE_PHRASE,
)
"""Every phrase above plus the wake phrase: vocabulary that recognisers are biased towards."""

# Politeness and hesitation around a command: "could you please ... for me".
_LEADING = [
    phrase.split()
    for phrase in (
        "could you please|can you please|would you please|will you please|could you|can you|would you|"
        "will you|please|um|umm|uh|uhh|er|erm|ah|oh|hmm|mm|okay|ok|alright|all right|well|so|now|just|"
        "hey|sorry|a little bit|a little|a bit|bit|much|even|i said"
    ).split("|")
]
_LEADING.sort(key=len, reverse=True)  # longest first: "could you please" before "could you"
_TRAILING = [
    phrase.split()
    for phrase in "please|thanks|thank you|now|again|that|it|for me|a bit|a little|okay|ok|then|about that|"
    "about it".split("|")
]
_TRAILING.sort(key=len, reverse=True)
_ORDINAL_LEAD = ("yes", "yeah", "no", "i mean", "i meant")

_FUZZY_MAX_WORDS = 3
_FUZZY_MIN_CHARS = 5  # shorter commands ("no", "stop") have too many near-homophones
_FUZZY_CUTOFF = 85.0
_FUZZY_MARGIN = 8.0  # a slip must be this much closer to one command than to any other
_ECHO_MIN_WORDS = 3
_ECHO_SHARE = 0.6
_ECHO_STRICT_SHARE = 0.8
_WAKE_TAIL_CUTOFF = 85.0
_WAKE_HEAD_CUTOFF = 60.0
_GREETINGS = frozenset("hey hi hay a ok okay hello oh eh".split())
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def words(text: str) -> list[str]:
    """Lower-case words without apostrophes ("That's" -> "thats")."""
    lowered = text.lower().replace("\u2019", "'")
    return [word.replace("'", "") for word in _WORD.findall(lowered)]


def _table(phrases: Mapping[_Name, str]) -> dict[tuple[str, ...], _Name]:
    return {tuple(phrase.split()): name for name, group in phrases.items() for phrase in group.split("|")}


_COMMAND_TABLE = _table(_COMMANDS)
_REPLY_TABLE = _table(_REPLIES)
_FUZZY_CHOICES = [
    ("".join(phrase), name)
    for phrase, name in _COMMAND_TABLE.items()
    if len("".join(phrase)) >= _FUZZY_MIN_CHARS
]


def _cores(found: list[str]) -> list[tuple[str, ...]]:
    """The utterance with politeness and fillers peeled off its ends, one layer at a time."""
    cores: list[tuple[str, ...]] = []
    current = tuple(found)
    while current and current not in cores:
        cores.append(current)
        for affix in _LEADING:
            if len(current) > len(affix) and list(current[: len(affix)]) == affix:
                current = current[len(affix) :]
                break
        else:
            for affix in _TRAILING:
                if len(current) > len(affix) and list(current[-len(affix) :]) == affix:
                    current = current[: -len(affix)]
                    break
    return cores


def _lookup(text: str, table: dict[tuple[str, ...], _Name]) -> _Name | None:
    for core in _cores(words(text)):
        if core in table:
            return table[core]
    return None


def parse_command(text: str) -> CommandName | None:
    """The command the whole utterance is, or None (a question, or not a command)."""
    cores = _cores(words(text))
    for core in cores:
        if core in _COMMAND_TABLE:
            return _COMMAND_TABLE[core]
        # "yes, the first one", "no, the second"
        for lead in _ORDINAL_LEAD:
            lead_words = tuple(lead.split())
            rest = core[len(lead_words) :]
            if core[: len(lead_words)] == lead_words and _COMMAND_TABLE.get(rest) in (_C.FIRST, _C.SECOND):
                return _COMMAND_TABLE[rest]
    return _slip(cores[-1]) if cores else None


def _slip(core: tuple[str, ...]) -> CommandName | None:
    """A short utterance that is a small recognition slip away from one command only."""
    joined = "".join(core)
    if len(core) > _FUZZY_MAX_WORDS or len(joined) < _FUZZY_MIN_CHARS:
        return None
    best: dict[CommandName, float] = {}
    for choice, name in _FUZZY_CHOICES:
        score = fuzz.ratio(joined, choice)
        best[name] = max(best.get(name, 0.0), score)
    ranked = sorted(best.items(), key=lambda item: item[1], reverse=True)
    if not ranked or ranked[0][1] < _FUZZY_CUTOFF:
        return None
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < _FUZZY_MARGIN:
        return None
    return ranked[0][0]


def parse_reply(text: str) -> Reply | None:
    """ "more topics", "thank you" and the like, when that is the whole utterance."""
    return _lookup(text, _REPLY_TABLE)


def split_wake(text: str, wake_phrase: str = WAKE_PHRASE) -> str | None:
    """What follows the wake phrase ("" for a bare one), or None when `text` does not start with it.

    Tolerates how recognisers write it: "hi helper", "a helper", "hey help her", "helper".
    """
    wake = words(wake_phrase)
    spans = [
        (m.end(), m.group().replace("'", "")) for m in _WORD.finditer(text.lower().replace("\u2019", "'"))
    ]
    heard = [word for _, word in spans]
    head_wanted = "".join(wake[:-1])
    for tail_start in range(min(len(wake) + 1, len(heard))):
        head = "".join(heard[:tail_start])
        if head and head not in _GREETINGS and fuzz.ratio(head, head_wanted) < _WAKE_HEAD_CUTOFF:
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
