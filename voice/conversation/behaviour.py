"""How a conversation behaves: its mode, wake phrase and patience, checked once when set.

Apart from dialogue.py so that the shells and the command line can build and check a
configuration without the dialogue's machinery.
"""

from __future__ import annotations

from dataclasses import dataclass

from voice.conversation.commands import words
from voice.conversation.events import Mode, VoiceSettings
from voice.errors import VoiceError


class DialogueConfigError(VoiceError, ValueError):
    """A dialogue setting out of range."""


@dataclass(frozen=True, slots=True)
class DialogueConfig:
    """How the conversation behaves."""

    mode: Mode = Mode.ALWAYS
    wake_phrase: str | None = None
    """Said before each question in wake-phrase mode; None: the answers set's language's."""
    idle_reset_s: float = 300.0
    """Seconds without an event from the person after which settings and history are forgotten."""
    confirm_tries: int = 2
    """Failed "Do you mean ...?" rounds in a row before the topics are offered instead."""
    follow_ups: int = 2
    """Related entries offered after an answer."""
    topics_per_group: int = 4
    """Questions read per "help" group."""
    settings: VoiceSettings = VoiceSettings()
    """The voice a session starts with, and returns to on goodbye or an idle reset."""
    wake_window_s: float = 8.0
    """Seconds after a bare wake phrase, or after the assistant stops speaking, during which
    the next utterance needs no wake phrase; a pause mid-question extends it."""

    def __post_init__(self) -> None:
        if self.mode not in set(Mode):
            raise DialogueConfigError(f"mode must be one of {', '.join(Mode)}, not {self.mode!r}")
        object.__setattr__(self, "mode", Mode(self.mode))  # "wake" from a command line works too
        if self.wake_phrase is not None and not words(self.wake_phrase):
            raise DialogueConfigError(f"the wake phrase needs at least one word, not {self.wake_phrase!r}")
        for name, least in (("idle_reset_s", 0.0), ("wake_window_s", 0.0)):
            if not getattr(self, name) > least:
                raise DialogueConfigError(f"{name} must be more than 0 seconds, not {getattr(self, name)}")
        for name, least in (("confirm_tries", 1), ("follow_ups", 0), ("topics_per_group", 1)):
            if getattr(self, name) < least:
                raise DialogueConfigError(f"{name} must be at least {least}, not {getattr(self, name)}")
