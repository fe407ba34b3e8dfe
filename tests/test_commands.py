"""Recognising commands, replies, the wake phrase and echoes (voice/commands.py)."""

from __future__ import annotations

import pytest

from voice.conversation.commands import (
    Reply,
    command_phrases,
    is_echo,
    parse_command,
    parse_reply,
    split_wake,
)
from voice.conversation.events import CommandName as C

COMMANDS = [
    # The phrases people use for each command.
    ("repeat", C.REPEAT),
    ("say that again", C.REPEAT),
    ("pardon", C.REPEAT),
    ("What?", C.REPEAT),
    ("slower", C.SLOWER),
    ("slow down", C.SLOWER),
    ("faster", C.FASTER),
    ("speed up", C.FASTER),
    ("louder", C.LOUDER),
    ("speak up", C.LOUDER),
    ("I can't hear you", C.LOUDER),
    ("softer", C.SOFTER),
    ("quieter", C.SOFTER),
    ("change voice", C.VOICE),
    ("could you use a different voice", C.VOICE),
    ("stop", C.STOP),
    ("be quiet", C.STOP),
    ("quiet", C.STOP),
    ("That's enough!", C.STOP),
    ("more", C.MORE),
    ("tell me more", C.MORE),
    ("help", C.HELP),
    ("what can I ask", C.HELP),
    ("go back", C.BACK),
    ("back", C.BACK),
    ("goodbye", C.GOODBYE),
    ("bye", C.GOODBYE),
    ("Thank you, goodbye.", C.GOODBYE),
    ("bye-bye", C.GOODBYE),
    ("yes", C.YES),
    ("yeah", C.YES),
    ("yep", C.YES),
    ("correct", C.YES),
    ("that's right", C.YES),
    ("no", C.NO),
    ("nope", C.NO),
    ("the first", C.FIRST),
    ("the first one", C.FIRST),
    ("first one", C.FIRST),
    ("the second", C.SECOND),
    ("the second one", C.SECOND),
    ("second one", C.SECOND),
    # Politeness and fillers around a command.
    ("please stop", C.STOP),
    ("okay stop", C.STOP),
    ("stop it", C.STOP),
    ("could you repeat that please", C.REPEAT),
    ("could you please repeat that for me", C.REPEAT),
    ("um slower", C.SLOWER),
    ("Lower.", C.SLOWER),  # whisper's usual slip for a quiet "slower"
    ("a bit louder please", C.LOUDER),
    ("tell me more about it", C.MORE),
    ("help please", C.HELP),
    ("Yes please.", C.YES),
    ("no thank you", C.NO),
    ("yes, the first one", C.FIRST),
    ("no, the second", C.SECOND),
    ("sorry, what?", C.REPEAT),
    # Small recognition slips on short utterances.
    ("slow her", C.SLOWER),
    ("repeats", C.REPEAT),
    ("goodby", C.GOODBYE),
    # Questions that contain command words stay questions.
    ("can I stop exercising when I'm tired?", None),
    ("is more exercise better?", None),
    ("help with balance", None),
    ("help me", None),
    ("tell me more about walkers", None),
    ("stop exercising", None),
    ("more exercise", None),
    ("go back to walking", None),
    ("back pain", None),
    ("the first step", None),
    ("second opinion", None),
    ("first aid", None),
    ("what is a walker", None),
    ("what about", None),
    ("again and again", None),
    # Not close enough to one command to risk it.
    ("lowder", None),  # louder, or lower?
    ("flower", None),
    ("master", None),
    ("exercise", None),
    ("posture", None),
    ("", None),
    ("um", None),
    ("thank you", None),
]


@pytest.mark.parametrize(("text", "expected"), COMMANDS)
def test_parse_command(text: str, expected: C | None) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("more topics", Reply.MORE_TOPICS),
        ("next", Reply.MORE_TOPICS),
        ("other topics please", Reply.MORE_TOPICS),
        ("thank you", Reply.THANKS),
        ("thanks", Reply.THANKS),
        ("okay thank you very much", Reply.THANKS),
        ("thank you goodbye", None),  # a command, not a reply
        ("next to my bed", None),
        ("more", None),
    ],
)
def test_parse_reply(text: str, expected: Reply | None) -> None:
    assert parse_reply(text) == expected


def test_every_phrase_is_recognised() -> None:
    assert "hey helper" in command_phrases()
    assert {"stop", "repeat", "slower", "the first one", "more topics"} <= set(command_phrases())
    for phrase in command_phrases():
        if phrase != "hey helper":
            assert parse_command(phrase) is not None or parse_reply(phrase) is not None, phrase


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("hey helper", ""),
        ("Hey, Helper.", ""),
        ("Hey helper, can exercise help my balance?", "can exercise help my balance"),
        ("hi helper what is fes", "what is fes"),
        ("a helper", ""),
        ("hey help her stop", "stop"),
        ("hey helpers", ""),
        ("helper", ""),
        ("okay helper, slower", "slower"),
        ("hello helper", ""),
        ("help", None),
        ("hey help", None),
        ("hello", None),
        ("hey", None),
        ("my helper is nice", None),
        ("he helped her up", None),
        ("hey there helper", None),
        ("can a helper do passive exercise with me", None),
    ],
)
def test_split_wake(text: str, rest: str | None) -> None:
    assert split_wake(text) == rest


def test_split_wake_with_another_phrase() -> None:
    assert split_wake("okay clinic where is the gym", "okay clinic") == "where is the gym"
    assert split_wake("hey helper where is the gym", "okay clinic") is None


ANSWER = "If you fell and can't get up, use your alert button. Your physical therapist can help."


@pytest.mark.parametrize(
    ("heard", "strict", "echo"),
    [
        ("your physical therapist can help", False, True),
        ("your physical therapist can help", True, True),
        ("therapist physical button alert", False, True),  # out of order: an echo, loosely
        ("therapist physical button alert", True, False),
        ("I fell and I can't get up", False, True),  # the same words ...
        ("I fell and I can't get up", True, False),  # ... but the person's own sentence
        ("what is passive exercise", False, False),
        ("stop", False, False),  # too short to call an echo: a command
        ("help", True, False),
    ],
)
def test_is_echo(heard: str, strict: bool, echo: bool) -> None:
    assert is_echo(heard, ANSWER, strict=strict) is echo
