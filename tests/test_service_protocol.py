"""The /api/listen protocol's pure parts: query parameters, client messages, the events
made from dialogue actions, and the matcher decision reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from voice.asr import Transcript
from voice.conversation.dialogue import Dialogue
from voice.conversation.events import (
    Chose,
    CommandName,
    Cue,
    KeyDown,
    Listen,
    Mode,
    Offer,
    Pressed,
    Role,
    SessionReset,
    SettingsChanged,
    Show,
    Speak,
    SpeechDone,
    SpeechKind,
    Started,
    StopSpeaking,
    Took,
    Understood,
    VoiceSettings,
)
from voice.core.faq import load_set
from voice.core.matcher import Decision, Match, Matcher
from voice.service.protocol import (
    ProtocolError,
    action_event,
    check_audio,
    decision_event,
    parse_message,
    parse_query,
    speak_event,
)

ENTRIES = frozenset({"walker", "cane"})


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, (Mode.ALWAYS, None)),
        ({"mode": "push"}, (Mode.PUSH_TO_TALK, None)),
        ({"mode": "wake", "end_silence": "2.5"}, (Mode.WAKE_PHRASE, 2.5)),
        ({"end_silence": "0.5"}, (Mode.ALWAYS, 0.5)),
    ],
)
def test_query_parameters(params: dict[str, str], expected: tuple[Mode, float | None]) -> None:
    assert parse_query(params) == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"mode": "loud"}, "mode='loud' is not a mode; use one of wake, always, push"),
        ({"end_silence": "0.1"}, "end_silence must be a number of seconds from 0.5 to 5.0"),
        ({"end_silence": "nan"}, "end_silence must be"),
        ({"end_silence": "soon"}, "end_silence must be"),
    ],
)
def test_bad_query_parameters_say_what_to_send(params: dict[str, str], message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_query(params)


@pytest.mark.parametrize(
    ("text", "event"),
    [
        ('{"type": "command", "command": "slower"}', Pressed(CommandName.SLOWER, 5.0)),
        ('{"type": "choose", "entry_id": "cane"}', Chose("cane", 5.0)),
        ('{"type": "key"}', KeyDown(5.0)),
        ('{"type": "done", "speak_id": 3}', SpeechDone(3, 5.0, False)),
        ('{"type": "done", "speak_id": 3, "interrupted": true}', SpeechDone(3, 5.0, True)),
    ],
)
def test_client_messages_become_dialogue_events(text: str, event: object) -> None:
    assert parse_message(text, ENTRIES, at=5.0) == event


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "must be JSON"),
        ('"key"', "unknown message type None"),
        ('{"type": "choose", "entry_id": "walking-frame"}', "no entry 'walking-frame' to choose"),
        ('{"type": "choose"}', "no entry None to choose"),
        ('{"type": "done", "speak_id": 1.5}', '"done" needs "speak_id"'),
        ('{"type": "done", "speak_id": 1, "interrupted": "no"}', '"done" needs'),
        ('{"type": "command", "command": "jump"}', "unknown command 'jump'; commands are repeat, slower"),
    ],
)
def test_bad_client_messages_say_what_to_send(text: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_message(text, ENTRIES, at=0.0)


@pytest.mark.parametrize(
    ("size", "ok"), [(640, True), (32_000, True), (32_002, False), (641, False), (0, True)]
)
def test_audio_frames_are_even_and_at_most_a_second(size: int, ok: bool) -> None:
    if ok:
        check_audio(bytes(size))
    else:
        with pytest.raises(ProtocolError):
            check_audio(bytes(size))


SETTINGS = VoiceSettings(rate=125)


@pytest.mark.parametrize(
    ("action", "event"),
    [
        (StopSpeaking(), {"type": "stop_speaking"}),
        (Show(Role.PERSON, "hi"), {"type": "show", "role": "person", "text": "hi"}),
        (
            Offer(SpeechKind.CONFIRM, (("cane", "Should I use a cane?"),)),
            {
                "type": "offer",
                "kind": "confirm",
                "choices": [{"entry_id": "cane", "question": "Should I use a cane?"}],
            },
        ),
        (Cue("listening"), {"type": "cue", "name": "listening"}),
        (Listen(), {"type": "listen"}),
        (
            SettingsChanged(SETTINGS),
            {"type": "settings", "settings": {"rate": 125, "volume": 0.8, "voice": None}},
        ),
        (SessionReset(), {"type": "reset"}),
        (Speak(1, "Hello.", SpeechKind.NOTICE, SETTINGS), None),
        (Understood(Took.COMMAND, "repeat", command=CommandName.REPEAT), None),  # decision_event
    ],
)
def test_dialogue_actions_become_events(action: object, event: object) -> None:
    assert action_event(action) == event  # type: ignore[arg-type]


def test_a_speak_event_announces_its_wav() -> None:
    event = speak_event(Speak(4, "Hello.", SpeechKind.NOTICE, SETTINGS), 1.23456)
    assert event == {
        "type": "speak",
        "id": 4,
        "text": "Hello.",
        "kind": "notice",
        "settings": {"rate": 125, "volume": 0.8, "voice": None},
        "seconds": 1.235,
    }


@pytest.mark.parametrize("kind", list(SpeechKind))
def test_a_speak_event_says_why_it_is_said(kind: SpeechKind) -> None:
    # The page keeps an answer's caption on screen while follow-ups are said by this kind.
    assert speak_event(Speak(1, "Text.", kind, SETTINGS), 1.0)["kind"] == kind.value


def test_an_answer_and_the_follow_up_after_it_are_told_apart(bundled_set: Path) -> None:
    faq_set = load_set(bundled_set)
    entry = faq_set.entry("mobility-aids")
    dialogue = Dialogue(faq_set, Matcher(faq_set))
    dialogue.handle(Started(0.0))
    answer = next(a for a in dialogue.handle(Chose(entry.id, 1.0)) if isinstance(a, Speak))
    follow_up = next(a for a in dialogue.handle(SpeechDone(answer.id, 2.0)) if isinstance(a, Speak))
    events = [speak_event(speak, 1.0) for speak in (answer, follow_up)]
    assert [(event["kind"], event["text"]) for event in events] == [
        ("answer", entry.answer),
        ("follow_up", follow_up.text),
    ]
    assert "'more'" in follow_up.text and entry.answer not in follow_up.text


def test_a_decision_event_names_the_matchers_decision_and_the_transcript() -> None:
    # Sent when the dialogue's Understood action says the words were taken as a question.
    match = Match(
        "where do I park", Decision.FALLBACK, "Please ask at the desk.", None, 0.25, (), match_ms=1.5
    )
    transcript = Transcript(" Where do I park?", (), "whisper", 1.2, asr_ms=310.0)
    event = decision_event(match, transcript)
    assert (event["type"], event["decision"], event["entry_id"], event["answer"]) == (
        "decision",
        "fallback",
        None,
        "Please ask at the desk.",
    )
    assert event["transcript"] == " Where do I park?"
    assert event["timings_ms"] == {"match_ms": 1.5, "asr_ms": 310.0}
