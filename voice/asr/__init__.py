"""Speech recognition behind one small interface, with one adapter per engine.

An engine is a Recognizer: `transcribe(audio)` for a whole recording and `stream()` for
audio arriving in chunks. `ENGINES` is the registry: each adapter declares its name and
capabilities there, and everything that needs to know about engines (the CLI's choices,
how many calls may run at once, which bias an engine takes) asks the registry rather than
comparing names. Engines are imported lazily inside their adapters, so the rest of
voicefaq imports without Vosk or CTranslate2 loaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from voice.core.transcript import Transcript, Word
from voice.lang import DEFAULT_CODE

if TYPE_CHECKING:
    from voice.audio.decode import Audio

__all__ = [
    "ENGINES",
    "EngineSpec",
    "Recognizer",
    "RecognizerOptions",
    "RecognizerStream",
    "Transcript",
    "Word",
    "engine_spec",
    "load_recognizer",
]


class RecognizerStream(Protocol):
    """One utterance at a time, fed in chunks of 16 kHz mono 16-bit PCM."""

    def accept(self, pcm16: bytes) -> str | None:
        """Feed audio; returns the partial transcript when it changed, else None."""

    def finish(self) -> Transcript:
        """The final transcript of what was fed; the stream is then ready for the next utterance."""

    def reset(self) -> None:
        """Drop what was fed so far."""


class Recognizer(Protocol):
    name: str
    """The engine's registry name (`ENGINES`)."""

    def transcribe(self, audio: Audio) -> Transcript: ...

    def stream(self) -> RecognizerStream: ...


@dataclass(frozen=True, slots=True)
class RecognizerOptions:
    """How a front end wants its recogniser loaded; adapters read what applies to them."""

    model_path: Path | None = None
    """An engine's model folder; None finds the default (voice.asr.models)."""
    vocabulary: tuple[str, ...] = ()
    """Words people use with the answers set (voice.vocabulary): a grammar-taking engine
    is restricted to them."""
    prompt: str = ""
    """Text that primes a prompt-taking engine (voice.vocabulary.speech_prompt)."""
    language: str = DEFAULT_CODE
    """The answers set's language code (voice.lang): what the engine is told it hears."""
    words: bool = False
    """Word timings and confidences, where they cost extra (whisper: about twice the time)."""
    threads: int | None = None
    """CPU threads the engine may use; None: every core."""
    separate_process: bool = False
    """Run the engine in a child process at a lower priority (the service, whose event
    loop must not wait for it), where the adapter supports it."""


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """One speech engine: its name and what the rest of voicefaq may expect of it."""

    name: str
    """Registry key, `--engine` value and `Transcript.engine`."""
    summary: str
    """One line for `--help`."""
    bias: Literal["grammar", "prompt"]
    """How the answers set's words reach it: a restricting grammar, or a priming prompt."""
    parallel_calls: int
    """Engine calls that may run at once in one process: streams of a thread-safe engine
    are independent; a decoder that is not thread-safe takes one call at a time."""
    adapter: str
    """"module:function" that loads it from RecognizerOptions, imported only when used."""

    def load(self, options: RecognizerOptions) -> Recognizer:
        module, _, function = self.adapter.partition(":")
        open_recognizer: Callable[[RecognizerOptions], Recognizer] = getattr(
            importlib.import_module(module), function
        )
        return open_recognizer(options)


ENGINES: dict[str, EngineSpec] = {
    spec.name: spec
    for spec in (
        EngineSpec(
            "vosk",
            "Kaldi models restricted to the set's words; needs a Vosk model for the language",
            bias="grammar",
            parallel_calls=2,
            adapter="voice.asr.vosk:open_recognizer",
        ),
        EngineSpec(
            "whisper",
            "whisper tiny.en, shipped by a Python package; primed with the set's words",
            bias="prompt",
            parallel_calls=1,
            adapter="voice.asr.whisper:open_recognizer",
        ),
    )
}


def engine_spec(name: str) -> EngineSpec:
    """The registry entry for `name`; ValueError naming the engines there are."""
    try:
        return ENGINES[name]
    except KeyError:
        raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}") from None


def load_recognizer(engine: str | None = None, options: RecognizerOptions | None = None) -> Recognizer:
    """The engine to use: `engine` if given, else Vosk when a Vosk model is found, else the
    bundled whisper tiny.en (no download needed)."""
    from voice.asr import models

    options = options or RecognizerOptions()
    return engine_spec(engine or models.default_engine(options.model_path)).load(options)
