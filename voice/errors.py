"""The errors voicefaq raises for things a user can fix.

Each message says what went wrong and how to fix it; the command line prints it and
exits non-zero instead of showing a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class VoiceError(Exception):
    """Base of every error that a user can act on."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in an answers set, with where it is."""

    file: Path
    """The YAML file the problem is in."""
    line: int
    """1-based line number; 0 when the problem concerns the whole file."""
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.message}"


class AnswersFormatError(VoiceError):
    """An answers set is missing or invalid; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        count = len(problems)
        listing = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(
            f"the answers set has {count} problem{'s' if count != 1 else ''}:\n{listing}\n"
            "Fix them and run `voicefaq check DIR` again (format: docs/answers-format.md)."
        )


class InputTextError(VoiceError):
    """A question's text cannot be used (empty, too long, not UTF-8)."""


class AudioFormatError(VoiceError):
    """Audio that cannot be used: not audio, empty, truncated, too long."""


class AudioTooLargeError(AudioFormatError):
    """Audio beyond a limit (bytes, seconds, samples): refused before it costs more."""


class NoSpeechError(VoiceError):
    """Audio that holds no speech."""


class ModelNotFoundError(VoiceError):
    """A speech model is missing or broken."""


class EngineStoppedError(VoiceError):
    """The speech engine's process ended in the middle of a call (the next call starts it again)."""


class AudioDeviceError(VoiceError):
    """A microphone or speaker cannot be opened."""


class SpeechError(VoiceError):
    """Text cannot be spoken: no espeak-ng, an unknown voice, or nothing to say."""


class OutputFileError(VoiceError):
    """An audio file cannot be written: a missing or unwritable folder."""
