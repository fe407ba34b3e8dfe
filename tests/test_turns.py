"""Turn-taking (voice/conversation/turns.py): scripts of inputs in, what to do out.

Each script is a list of (input, expected actions) steps fed to one fresh Turns. Times
are seconds; audio is a few bytes standing for PCM; jobs are numbered from 1 in the order
Transcribe asks for them.
"""

from __future__ import annotations

from typing import Any

import pytest

from voice.audio.vad import Endpoint, EndpointKind
from voice.conversation.events import Heard, PausedMidQuestion
from voice.conversation.turns import (
    Cancel,
    CutShort,
    Discard,
    Failed,
    Hear,
    LongPause,
    NoWords,
    Partial,
    Paused,
    Restart,
    SpeechBegan,
    SpeechEnded,
    Transcribe,
    Transcribed,
    TranscriptionFailed,
    TurnAction,
    TurnInput,
    Turns,
)
from voice.core.faq import Emergency
from voice.core.matcher import Decision, Match
from voice.spoken import turn_input

ANSWER = Match("where do I park", Decision.FALLBACK, "Please ask at the desk.", None, 0.4, ())
FALL = Emergency("fall", "Call 911.", ("fell",))
EMERGENCY = Match("I fell", Decision.EMERGENCY, FALL.say, None, 1.0, (), emergency=FALL)
STOP = Match("stop", Decision.FALLBACK, "Sorry.", None, 0.1, ())
BROKEN = RuntimeError("the engine broke")

QUIET, TALKING = False, True
"""Whether the assistant is speaking."""


def began(at: float, speaking: bool = QUIET) -> SpeechBegan:
    return SpeechBegan(at, speaking)


def paused(at: float, pcm: bytes, speaking: bool = QUIET, engine_free: bool = True) -> Paused:
    return Paused(at, pcm, speaking, engine_free)


def ended(at: float, pcm: bytes, speaking: bool = QUIET, cut: bool = False) -> SpeechEnded:
    return SpeechEnded(at, pcm, speaking, cut)


def result(job: int, at: float, text: str, match: Match | None, speaking: bool = QUIET) -> Transcribed:
    return Transcribed(job, at, text, match, speaking)


def hear(
    text: str, at: float, match: Match | None, ended_at: float, speculative: bool, over: bool = False
) -> Hear:
    return Hear(Heard(text, at, over, match), ended_at, speculative)


Script = list[tuple[TurnInput, list[TurnAction]]]

SCRIPTS: dict[str, Script] = {
    "the pause's transcript is ready when the end silence is over": [
        (began(1.0), []),
        (paused(2.0, b"ab"), [Transcribe(1, b"ab", speculative=True, over_speech=False)]),
        (result(1, 2.5, "where do I park", ANSWER), [Partial("where do I park")]),
        (ended(3.2, b"abc"), [hear("where do I park", 3.2, ANSWER, 3.2, speculative=True)]),
    ],
    "the pause's transcript comes after the end silence: awaited": [
        (began(1.0), []),
        (paused(2.0, b"ab"), [Transcribe(1, b"ab", True, False)]),
        (ended(3.2, b"abc"), []),
        (result(1, 3.4, "where do I park", ANSWER), [hear("where do I park", 3.4, ANSWER, 3.2, True)]),
    ],
    "speech after a pause: the next pause's transcript replaces it": [
        (began(1.0), []),
        (paused(2.0, b"a"), [Transcribe(1, b"a", True, False)]),
        (paused(3.0, b"ab"), [Cancel(1), Transcribe(2, b"ab", True, False)]),
        (result(1, 3.1, "where", None), [Discard(1)]),
        (ended(4.2, b"abc"), []),
        (result(2, 4.3, "where do I park", ANSWER), [hear("where do I park", 4.3, ANSWER, 4.2, True)]),
    ],
    "a ready transcript is replaced too": [
        (began(1.0), []),
        (paused(2.0, b"a"), [Transcribe(1, b"a", True, False)]),
        (result(1, 2.2, "where", None), [Partial("where")]),
        (paused(3.0, b"ab"), [Transcribe(2, b"ab", True, False)]),
    ],
    "no pause transcript (the engine is busy): the whole utterance is transcribed": [
        (began(1.0), []),
        (paused(2.0, b"ab", engine_free=False), []),
        (ended(3.2, b"abc"), [Transcribe(1, b"abc", speculative=False, over_speech=False)]),
        (result(1, 3.9, "where do I park", ANSWER), [hear("where do I park", 3.9, ANSWER, 3.2, False)]),
    ],
    "a busy engine at a later pause drops the earlier pause's transcript": [
        (began(1.0), []),
        (paused(2.0, b"a"), [Transcribe(1, b"a", True, False)]),
        (paused(3.0, b"ab", engine_free=False), [Cancel(1)]),
        (ended(4.2, b"abc"), [Transcribe(2, b"abc", False, False)]),
    ],
    "cut at the longest utterance: the pause's transcript lacks the rest": [
        (began(1.0), []),
        (paused(2.0, b"a"), [Transcribe(1, b"a", True, False)]),
        (ended(31.0, b"abc", cut=True), [Cancel(1), Transcribe(2, b"abc", False, False)]),
        (result(1, 31.1, "where", None), [Discard(1)]),
        (result(2, 32.0, "where do I park", ANSWER), [hear("where do I park", 32.0, ANSWER, 31.0, False)]),
    ],
    "no words": [
        (began(1.0), []),
        (ended(2.6, b"ab"), [Transcribe(1, b"ab", False, False)]),
        (result(1, 2.9, "", None), [NoWords(1)]),
    ],
    "no words at the pause: no partial, and none at the end": [
        (began(1.0), []),
        (paused(2.0, b"a"), [Transcribe(1, b"a", True, False)]),
        (result(1, 2.2, "", None), []),
        (ended(3.2, b"ab"), [NoWords(1)]),
    ],
    "a long pause: the dialogue may cue 'still listening'": [
        (began(1.0), []),
        (LongPause(3.0), [PausedMidQuestion(3.0)]),
    ],
    "the next utterance starts before the last one's transcript: it is still answered": [
        (began(1.0), []),
        (ended(2.6, b"ab"), [Transcribe(1, b"ab", False, False)]),
        (began(2.8), []),
        (result(1, 3.0, "where do I park", ANSWER), [hear("where do I park", 3.0, ANSWER, 2.6, False)]),
    ],
    "the next utterance ends before the last one's transcript: only the newer is answered": [
        (began(1.0), []),
        (ended(2.6, b"ab"), [Transcribe(1, b"ab", False, False)]),
        (began(2.8), []),
        (ended(4.5, b"cd"), [Cancel(1), Transcribe(2, b"cd", False, False)]),
        (result(1, 4.6, "where do I park", ANSWER), [Discard(1)]),
        (result(2, 5.0, "stop", STOP), [hear("stop", 5.0, STOP, 4.5, False)]),
    ],
    "begun over the assistant's speech: heard as such, however it ends": [
        (began(1.0, TALKING), []),
        (paused(2.0, b"a", QUIET), [Transcribe(1, b"a", True, over_speech=True)]),
        (ended(3.2, b"ab", QUIET), []),
        (
            result(1, 3.3, "where do I park", ANSWER, QUIET),
            [hear("where do I park", 3.3, ANSWER, 3.2, True, over=True)],
        ),
    ],
    "ended over the assistant's speech": [
        (began(1.0, QUIET), []),
        (ended(3.2, b"ab", TALKING), [Transcribe(1, b"ab", False, over_speech=True)]),
        (
            result(1, 3.3, "where do I park", ANSWER, QUIET),
            [hear("where do I park", 3.3, ANSWER, 3.2, False, over=True)],
        ),
    ],
    "each utterance starts afresh": [
        (began(1.0, TALKING), []),
        (ended(3.2, b"ab", QUIET), [Transcribe(1, b"ab", False, True)]),
        (result(1, 3.3, "stop", STOP), [hear("stop", 3.3, STOP, 3.2, False, over=True)]),
        (began(4.0, QUIET), []),
        (ended(5.2, b"cd", QUIET), [Transcribe(2, b"cd", False, False)]),
    ],
    "barge-in: a command over the assistant's speech acts at the first pause": [
        (began(1.0, TALKING), []),
        (paused(1.6, b"a", TALKING), [Transcribe(1, b"a", True, True)]),
        (
            result(1, 1.9, "stop", STOP, TALKING),
            [CutShort(1.9), hear("stop", 1.9, STOP, 1.9, True, over=True)],
        ),
        (LongPause(2.5), []),  # the shell reset its endpointer; nothing more of this utterance
        (ended(3.4, b"ab", TALKING), [Transcribe(2, b"ab", False, True)]),  # had it not
    ],
    "a command while quiet waits for the end (it may be the start of a question)": [
        (began(1.0), []),
        (paused(1.6, b"a"), [Transcribe(1, b"a", True, False)]),
        (result(1, 1.9, "stop", STOP), [Partial("stop")]),
        (ended(3.1, b"a"), [hear("stop", 3.1, STOP, 3.1, True)]),
    ],
    "the assistant started speaking since: the command barges in": [
        (began(1.0, QUIET), []),
        (paused(1.6, b"a", QUIET), [Transcribe(1, b"a", True, False)]),
        (
            result(1, 1.9, "stop", STOP, TALKING),
            [CutShort(1.9), hear("stop", 1.9, STOP, 1.9, True, over=True)],
        ),
    ],
    "an emergency acts at the first pause, speaking or not": [
        (began(1.0), []),
        (paused(2.0, b"a"), [Transcribe(1, b"a", True, False)]),
        (result(1, 2.4, "I fell", EMERGENCY), [CutShort(2.4), hear("I fell", 2.4, EMERGENCY, 2.4, True)]),
        (result(1, 2.5, "I fell", EMERGENCY), [Discard(1)]),
    ],
    "an emergency drops an older question still being transcribed": [
        (began(1.0), []),
        (ended(2.6, b"ab"), [Transcribe(1, b"ab", False, False)]),
        (began(2.8), []),
        (paused(3.5, b"c"), [Transcribe(2, b"c", True, False)]),
        (
            result(2, 3.7, "I fell", EMERGENCY),
            [Cancel(1), CutShort(3.7), hear("I fell", 3.7, EMERGENCY, 3.7, True)],
        ),
        (result(1, 3.9, "where do I park", ANSWER), [Discard(1)]),
    ],
    "an emergency in an awaited transcript is just heard": [
        (began(1.0), []),
        (paused(2.0, b"a"), [Transcribe(1, b"a", True, False)]),
        (ended(3.2, b"a"), []),
        (result(1, 3.3, "I fell", EMERGENCY), [hear("I fell", 3.3, EMERGENCY, 3.2, True)]),
    ],
    "a fresh question (push-to-talk): nothing from before counts": [
        (began(1.0), []),
        (ended(2.6, b"ab"), [Transcribe(1, b"ab", False, False)]),
        (began(2.8), []),
        (paused(3.5, b"c"), [Transcribe(2, b"c", True, False)]),
        (Restart(3.6), [Cancel(2), Cancel(1)]),
        (result(1, 3.9, "where do I park", ANSWER), [Discard(1)]),
        (result(2, 4.0, "I fell", EMERGENCY), [Discard(2)]),
        (LongPause(4.1), []),
    ],
    "the awaited transcription failed": [
        (began(1.0), []),
        (ended(2.6, b"ab"), [Transcribe(1, b"ab", False, False)]),
        (TranscriptionFailed(1, 3.0, BROKEN), [Failed(1, BROKEN)]),
    ],
    "the pause's transcription failed: so has the utterance's, if it ends there": [
        (began(1.0), []),
        (paused(2.0, b"a"), [Transcribe(1, b"a", True, False)]),
        (TranscriptionFailed(1, 2.1, BROKEN), []),
        (ended(3.2, b"a"), [Failed(1, BROKEN)]),
    ],
    "a failure nobody waits for is dropped": [
        (began(1.0), []),
        (paused(2.0, b"a"), [Transcribe(1, b"a", True, False)]),
        (paused(3.0, b"ab"), [Cancel(1), Transcribe(2, b"ab", True, False)]),
        (TranscriptionFailed(1, 3.1, BROKEN), [Discard(1)]),
    ],
}


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_script(name: str) -> None:
    turns = Turns()
    for step, (given, expected) in enumerate(SCRIPTS[name]):
        assert turns.feed(given) == expected, f"step {step}: {given}"


def test_transcripts_are_handed_back() -> None:
    turns = Turns()
    transcript: Any = object()  # the shell's own: Turns only carries it
    turns.feed(began(1.0))
    turns.feed(ended(2.0, b"a"))
    (heard,) = turns.feed(Transcribed(1, 2.5, "where do I park", ANSWER, QUIET, transcript))
    assert isinstance(heard, Hear) and heard.transcript is transcript


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (EndpointKind.SPEECH_STARTED, []),
        (EndpointKind.PAUSED, [Transcribe(1, b"ab", True, False)]),
        (EndpointKind.STILL_LISTENING, [PausedMidQuestion(5.0)]),
        (EndpointKind.SPEECH_ENDED, [Transcribe(1, b"ab", False, False)]),
        (EndpointKind.MAX_LENGTH, [Transcribe(1, b"ab", False, False)]),
        (EndpointKind.NO_SPEECH, []),
    ],
)
def test_endpoints(kind: EndpointKind, expected: list[TurnAction]) -> None:
    turns = Turns()
    turns.feed(began(1.0))
    heard = turn_input(Endpoint(kind, 4.0, b"ab"), 5.0, speaking=False)
    assert (turns.feed(heard) if heard is not None else []) == expected


def test_where_it_stands() -> None:
    turns = Turns()
    assert (turns.hearing, turns.awaiting) == (None, None)
    turns.feed(began(1.0))
    assert (turns.hearing, turns.awaiting) == (1, None)
    turns.feed(ended(2.0, b"a"))
    assert (turns.hearing, turns.awaiting) == (None, 1)
    turns.feed(began(2.5))
    assert (turns.hearing, turns.awaiting) == (2, 1)
    turns.feed(result(1, 3.0, "where do I park", ANSWER))
    assert (turns.hearing, turns.awaiting) == (2, None)
