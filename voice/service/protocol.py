"""The WebSocket `/api/listen` protocol: what a kiosk page and the server say to each other.

Pure: messages in, events and dataclasses out; the session that runs it is session.py.
The protocol itself (query parameters, every message and event, close codes, limits) is
written once, in docs/protocol.md; the client's messages are checked against the schema
below (_CLIENT_MESSAGE).
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from voice.conversation.events import (
    Action,
    Chose,
    CommandName,
    Cue,
    Event,
    KeyDown,
    Listen,
    Mode,
    Offer,
    Pressed,
    SessionReset,
    SettingsChanged,
    Show,
    Speak,
    SpeechDone,
    StopSpeaking,
    VoiceSettings,
)
from voice.errors import VoiceError

if TYPE_CHECKING:
    from voice.asr import Transcript
    from voice.core.matcher import Match

MAX_FRAME_BYTES = 32_000
"""Bytes: the largest audio frame accepted, 1 s at 16 kHz; the page sends 640 (20 ms)."""
MAX_TEXT_CHARS = 4_096
"""Characters of one JSON message; the longest real one is under 100."""
END_SILENCE_RANGE_S = (0.5, 5.0)
Message = dict[str, Any]
"""One JSON event for the client."""


class ProtocolError(VoiceError):
    """A frame or message the protocol does not allow; the message says what to send."""


def parse_query(params: dict[str, str]) -> tuple[Mode, float | None]:
    """The session's mode and end silence (seconds; None for the default) from the query."""
    mode_text = params.get("mode", Mode.ALWAYS.value)
    try:
        mode = Mode(mode_text)
    except ValueError:
        choices = ", ".join(m.value for m in Mode)
        raise ProtocolError(f"mode={mode_text!r} is not a mode; use one of {choices}") from None
    if "end_silence" not in params:
        return mode, None
    low, high = END_SILENCE_RANGE_S
    try:
        seconds = float(params["end_silence"])
    except ValueError:
        seconds = math.nan
    if not low <= seconds <= high:  # NaN fails too
        raise ProtocolError(f"end_silence must be a number of seconds from {low} to {high}")
    return mode, seconds


def check_audio(frame: bytes) -> None:
    """ProtocolError unless `frame` can be 16-bit PCM of an allowed size."""
    if len(frame) > MAX_FRAME_BYTES:
        raise ProtocolError(
            f"an audio frame may be at most {MAX_FRAME_BYTES} bytes (1 s); send smaller frames"
        )
    if len(frame) % 2:
        raise ProtocolError("audio frames must be 16-bit PCM: an even number of bytes")


class _Message(BaseModel):
    # Strict: "1" is not a speak_id and a list is not an entry id. Unknown keys are ignored,
    # so a newer page still talks to an older service.
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _CommandMessage(_Message):
    type: Literal["command"]
    command: CommandName


class _ChooseMessage(_Message):
    type: Literal["choose"]
    entry_id: Annotated[str, Field(max_length=200)]


class _KeyMessage(_Message):
    type: Literal["key"]


class _DoneMessage(_Message):
    type: Literal["done"]
    speak_id: int
    interrupted: bool = False


_CLIENT_MESSAGE: TypeAdapter[_CommandMessage | _ChooseMessage | _KeyMessage | _DoneMessage] = TypeAdapter(
    Annotated[
        _CommandMessage | _ChooseMessage | _KeyMessage | _DoneMessage,
        Field(discriminator="type"),
    ]
)
"""The schema of what a client may send (docs/protocol.md, "Client to server")."""


def parse_message(text: str, entry_ids: frozenset[str], at: float) -> Event:
    """The dialogue event a client's JSON message stands for (SpeechDone for "done"); a
    ProtocolError saying how to send it right for anything off the schema."""
    if len(text) > MAX_TEXT_CHARS:
        raise ProtocolError(f"a text message may have at most {MAX_TEXT_CHARS} characters")
    try:
        message = _CLIENT_MESSAGE.validate_json(text)
    except ValidationError as exc:
        raise ProtocolError(_explain(exc)) from None
    if isinstance(message, _CommandMessage):
        return Pressed(message.command, at)
    if isinstance(message, _ChooseMessage):
        if message.entry_id not in entry_ids:
            raise ProtocolError(
                f"no entry {message.entry_id!r} to choose; send an entry_id from an offer event"
            )
        return Chose(message.entry_id, at)
    if isinstance(message, _KeyMessage):
        return KeyDown(at)
    return SpeechDone(message.speak_id, at, message.interrupted)


def _explain(exc: ValidationError) -> str:
    """The first thing wrong with a message, in words a client developer can act on."""
    error = exc.errors(include_url=False)[0]
    where = [str(part) for part in error["loc"]]
    if error["type"] == "json_invalid":
        return (
            'text messages must be JSON (not nested deeply), such as {"type": "command", "command": "repeat"}'
        )
    if not where or error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        kind = error["input"].get("type") if isinstance(error["input"], dict) else None
        return f"unknown message type {_shown(kind)}; send command, choose, key or done"
    value = None if error["type"] == "missing" else error["input"]
    if where[0] == "command":
        names = ", ".join(command.value for command in CommandName)
        return f"unknown command {_shown(value)}; commands are {names}"
    if where[0] == "choose":
        return f"no entry {_shown(value)} to choose; send an entry_id from an offer event"
    return '"done" needs "speak_id" (the speak event\'s id) and "interrupted" (true or false)'


def _shown(value: object) -> str:
    """A client's value, quoted and cut short: it goes back to the client in a message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def error_event(message: str, fatal: bool = False) -> Message:
    return {"type": "error", "message": message, "fatal": fatal}


def settings_dict(settings: VoiceSettings) -> dict[str, object]:
    return asdict(settings)


def speak_event(speak: Speak, seconds: float) -> Message:
    """Announces the WAV that follows; `seconds` is its length."""
    return {
        "type": "speak",
        "id": speak.id,
        "text": speak.text,
        "kind": speak.kind.value,
        "settings": settings_dict(speak.settings),
        "seconds": round(seconds, 3),
    }


def action_event(action: Action) -> Message | None:
    """The event for a dialogue action; None for those the session carries out itself
    (Speak: synthesised first; Review: written to the log)."""
    if isinstance(action, StopSpeaking):
        return {"type": "stop_speaking"}
    if isinstance(action, Show):
        return {"type": "show", "role": action.role.value, "text": action.text}
    if isinstance(action, Offer):
        choices = [{"entry_id": entry_id, "question": question} for entry_id, question in action.choices]
        return {"type": "offer", "kind": action.kind.value, "choices": choices}
    if isinstance(action, Cue):
        return {"type": "cue", "name": action.name}
    if isinstance(action, Listen):
        return {"type": "listen"}
    if isinstance(action, SettingsChanged):
        return {"type": "settings", "settings": settings_dict(action.settings)}
    if isinstance(action, SessionReset):
        return {"type": "reset"}
    return None


def decision_event(match: Match, transcript: Transcript) -> Message:
    """The matcher's decision for words the dialogue took as a question (Understood.asked)."""
    return {"type": "decision", **match.to_dict(asr_ms=transcript.asr_ms), "transcript": transcript.text}
