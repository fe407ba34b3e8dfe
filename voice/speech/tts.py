"""Speech out: text to sound with pyttsx3 driving espeak-ng, and the pure helpers around it.

The helpers (`sentences`, `speakable`, `cue`, `silence`, `wav_bytes`) are pure. The
engine sits behind the `Synthesizer` protocol; pyttsx3 is imported only when one is
made, so the rest of voicefaq imports without espeak-ng. Nothing here plays sound:
voice/speaker.py does that.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import wave
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from voice.audio.decode import Samples, float_to_pcm16
from voice.conversation.events import VoiceSettings
from voice.errors import OutputFileError, SpeechError
from voice.lang import DEFAULT_CODE
from voice.lang import language as language_data

ESPEAK_RATE = 22_050
"""Hertz: what espeak-ng synthesises at."""
MAX_WORDS = 30
"""Longer sentences are split at ";" or "," so that "stop" never waits long."""
MIN_WORDS = 3
"""Shorter fragments ("No.", "Yes.") are spoken together with the next sentence."""
CUES = ("listening", "still_listening")

_log = logging.getLogger(__name__)
# espeak-ng keeps one synthesiser per process (pyttsx3 shares one engine per driver),
# and its state (voice, rate, volume) is sticky: every call goes through this lock.
_ENGINE_LOCK = threading.RLock()


@dataclass(frozen=True, slots=True)
class Speech:
    """Synthesised (or generated) sound, ready to play or to write as WAV."""

    samples: Samples
    """Mono float32, -1..1."""
    sample_rate: int
    """Hertz."""
    text: str
    """What is said; "" for cues and silence."""

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    """One voice the engine offers."""

    id: str
    """What VoiceSettings.voice takes, e.g. "gmw/en-us" (espeak-ng also takes "en-us")."""
    name: str
    languages: tuple[str, ...]


class Synthesizer(Protocol):
    def synthesize(self, text: str, settings: VoiceSettings) -> Speech: ...

    def voices(self) -> list[VoiceInfo]: ...


# Sentences.

_ABBREVIATIONS = frozenset("dr mr mrs ms prof st mt jr sr vs e.g i.e cf viz approx dept incl fig".split())
_BEFORE_NUMBER = frozenset({"no", "vol", "p", "pp", "ch"})
"""Abbreviations only when a number follows ("No. 5"): "No. A physiatrist is..." is two sentences."""
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s|$)")
_BULLET = re.compile(r"^\s*(?:[-*•–]|\d{1,2}[.)])\s+")
_BREAKS = (re.compile(r"[;:—]$|^[-–]$"), re.compile(r",$"))
"""Where a long sentence may be split: after ";", ":" or a dash first, then after ","."""


def sentences(text: str) -> list[str]:
    """Split `text` into sentences to speak one at a time, so that "stop" cuts in quickly.

    Abbreviations ("e.g.", "Dr."), decimals ("2.5") and list numbers ("1.") do not end
    a sentence; fragments under MIN_WORDS words join the next sentence; sentences over
    MAX_WORDS words are split at ";" or ",".
    """
    pieces: list[str] = []
    for block in _blocks(text):
        pieces += _split_block(block)
    return [part for piece in _merge_short(pieces) for part in _split_long(piece.split())]


def _blocks(text: str) -> list[str]:
    """Paragraphs and list items, each on one line with its bullet removed. A list item
    without a full stop gets one: it still ends where it ends, and espeak-ng pauses there."""
    blocks: list[tuple[bool, list[str]]] = []
    for line in text.splitlines():
        if not line.strip():
            blocks.append((False, []))
            continue
        bullet = _BULLET.match(line)
        if bullet or not blocks:
            blocks.append((bullet is not None, []))
        if bullet and not bullet.group().strip()[0].isdigit():
            line = line[bullet.end() :]
        blocks[-1][1].append(line)
    found = []
    for is_item, lines in blocks:
        block = " ".join(" ".join(lines).split())
        if block:
            found.append(f"{block}." if is_item and block[-1] not in ".!?…:;,\"'”’)" else block)
    return found


def _split_block(block: str) -> list[str]:
    found, start = [], 0
    for end in _END.finditer(block):
        if _ends_sentence(block, start, end):
            found.append(block[start : end.end()].strip())
            start = end.end()
    rest = block[start:].strip()
    return [*found, rest] if rest else found


def _ends_sentence(block: str, start: int, end: re.Match[str]) -> bool:
    if set(end.group()) & set("!?"):
        return True
    before = block[start : end.start()].split()
    if not before:
        return False
    word = before[-1].lstrip("\"'“‘([").lower()
    after = block[end.end() :].lstrip()
    if not after:
        return True
    if word in _ABBREVIATIONS or (word in _BEFORE_NUMBER and after[0].isdigit()):
        return False
    if len(before) == 1 and word.isdigit() and len(word) <= 2:  # "2. Stretch daily": a list number
        return False
    return not after[0].islower()  # "etc. and more" goes on


def _merge_short(pieces: list[str]) -> list[str]:
    merged: list[str] = []
    carry = ""
    for piece in pieces:
        carry = f"{carry} {piece}".strip()
        if len(carry.split()) >= MIN_WORDS:
            merged.append(carry)
            carry = ""
    if carry and merged:
        merged[-1] = f"{merged[-1]} {carry}"
    elif carry:
        merged.append(carry)
    return merged


def _split_long(words: list[str]) -> list[str]:
    if len(words) <= MAX_WORDS:
        return [" ".join(words)]
    middle = len(words) / 2
    cut = None
    for breaks in _BREAKS:
        # A cut after word i leaves i+1 words before it; keep both sides at least 5 words.
        allowed = [i + 1 for i in range(4, len(words) - 5) if breaks.search(words[i])]
        if allowed:
            cut = min(allowed, key=lambda i: abs(i - middle))
            break
    if cut is None:  # no punctuation to split at: split between words, near the middle
        cut = round(middle)
    return _split_long(words[:cut]) + _split_long(words[cut:])


# What espeak-ng would misread.

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SERVICE_NUMBER = re.compile(r"(?<![\d.,-])(?:911|988|999|112|111|211|311|411|511|711|811)(?![\d-]|[.,]\d)")
_PHONE_NUMBER = re.compile(r"(?<![\d-])(?:1[-. ])?(?:\(?\d{3}\)?[-. ])?\d{3}[-.]\d{4}(?![\d-])")


def speakable(text: str) -> str:
    """The text as espeak-ng should read it: "911" as "nine one one", not "nine hundred
    and eleven", and phone numbers digit by digit in their groups."""

    def digits(number: re.Match[str]) -> str:
        groups = re.findall(r"\d+", number.group())
        return ", ".join(" ".join(group) for group in groups)

    return _SERVICE_NUMBER.sub(digits, _PHONE_NUMBER.sub(digits, text))


# The engine.


class Pyttsx3Synthesizer:
    """pyttsx3 with its espeak-ng driver: `save_to_file` to a temporary WAV, read back.

    The driver runs espeak-ng asynchronously and, before each utterance, cancels
    whatever espeak-ng is still doing. Rate and volume set with setProperty were
    cancelled with it now and then (3 of 25 calls in one run came out at an earlier
    call's rate). So calls are serialised, each waits until espeak-ng is idle,
    and rate and volume travel inside the text as espeak-ng embedded commands, which
    are part of the utterance itself. The voice is set on every call (0.1 ms once
    loaded): espeak-ng applies it at once. A short sentence takes about 10 ms, most
    of it one 10 ms sleep in pyttsx3's run loop.
    """

    def __init__(self, language: str = DEFAULT_CODE) -> None:
        """`language`: the answers set's (voice.lang); its first voice speaks when
        VoiceSettings.voice is None."""
        words = language_data(language)
        self.language = words.code
        self._folder = Path(tempfile.mkdtemp(prefix="voicefaq-tts-"))
        weakref.finalize(self, shutil.rmtree, self._folder, True)
        self._errors: list[Exception] = []
        self._voices: list[VoiceInfo] | None = None
        with _ENGINE_LOCK:
            self._engine, self._espeak = self._start_engine()
            self._default_voice = words.voices[0]
            try:
                self._speak("Ready.", VoiceSettings(), self._default_voice)  # loads the voice data now
            except SpeechError:  # an espeak-ng build without it: its own default voice
                self._default_voice = str(self._engine.getProperty("voice") or "")
                self._speak("Ready.", VoiceSettings(), self._default_voice)

    def _start_engine(self) -> tuple[Any, Any]:
        try:
            import pyttsx3
            import pyttsx3.drivers._espeak as espeak
            import pyttsx3.drivers.espeak as driver

            engine = pyttsx3.init("espeak")
        except (ImportError, OSError, RuntimeError) as exc:  # no libespeak-ng, or no espeak-ng-data
            raise SpeechError(
                f"cannot start the espeak-ng speech engine ({exc}). Install it with "
                "`sudo apt-get install espeak-ng` (or run `make setup`)"
            ) from None
        # The driver prints "Audio saved to ..." on standard output, which would break
        # `--json` output; a module global `print` shadows the builtin for it alone.
        driver.print = lambda *args, **kwargs: _log.debug(" ".join(map(str, args)))
        engine.connect("error", lambda name, exception: self._errors.append(exception))
        return engine, espeak

    def voices(self) -> list[VoiceInfo]:
        with _ENGINE_LOCK:
            if self._voices is None:
                self._voices = [
                    VoiceInfo(str(v.id), str(v.name), tuple(str(lang) for lang in v.languages or ()))
                    for v in self._engine.getProperty("voices")
                ]
            return list(self._voices)

    def synthesize(self, text: str, settings: VoiceSettings) -> Speech:
        spoken = " ".join(_CONTROL.sub(" ", text).split())  # \x01 would start an embedded command
        if not spoken:
            raise SpeechError("there is nothing to say: the text is empty")
        with _ENGINE_LOCK:
            samples = self._speak(spoken, settings, settings.voice or self._default_voice)
        return Speech(samples, ESPEAK_RATE, text)

    def _speak(self, spoken: str, settings: VoiceSettings, voice: str) -> Samples:
        """One utterance; the caller holds _ENGINE_LOCK."""
        command = f"\x01{settings.rate}S\x01{round(settings.volume * 100)}A {speakable(spoken)}"
        target = self._folder / "speech.wav"
        for _ in range(2):  # once more if espeak-ng was cancelled before it finished
            self._wait_until_idle()
            self._errors.clear()
            self._engine.setProperty("voice", voice)
            target.unlink(missing_ok=True)
            self._engine.save_to_file(command, str(target))
            try:
                self._engine.runAndWait()
            except RuntimeError as exc:
                with contextlib.suppress(RuntimeError):
                    self._engine.endLoop()  # else pyttsx3 keeps its loop flag set and refuses every call
                raise SpeechError(f"espeak-ng failed to speak {spoken[:60]!r}: {exc}") from None
            if self._errors:
                if any("voice" in str(error).lower() for error in self._errors):
                    raise SpeechError(self._unknown_voice(voice))
                raise SpeechError(f"espeak-ng failed to speak {spoken[:60]!r}: {self._errors[0]}")
            if target.exists():
                return _read_wav(target)
        raise SpeechError(f"espeak-ng stopped before finishing {spoken[:60]!r}; try again")

    def _wait_until_idle(self) -> None:
        deadline = time.monotonic() + 5.0
        while self._espeak.IsPlaying():
            if time.monotonic() > deadline:
                raise SpeechError("espeak-ng has been busy for 5 s and does not finish; restart voicefaq")
            time.sleep(0.001)

    def _unknown_voice(self, voice: str) -> str:
        known = self.voices()
        own = sorted(
            (v for v in known if any(lang.startswith(self.language) for lang in v.languages)),
            key=lambda v: (len(v.id), v.id),
        )
        shown = ", ".join(f"{v.id} ({v.name})" for v in (own or known)[:5])
        return (
            f"unknown voice {voice!r}; voices include {shown}. `voicefaq say --voices` lists all "
            f"{len(known)}; leave the voice out for the default"
        )


def _read_wav(path: Path) -> Samples:
    import soundfile

    samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    if rate != ESPEAK_RATE:  # an older pyttsx3 or espeak build: bring it to the promised rate
        import soxr

        return np.asarray(soxr.resample(samples[:, 0], rate, ESPEAK_RATE), dtype=np.float32)
    return np.ascontiguousarray(samples[:, 0])


def load_synthesizer(language: str = DEFAULT_CODE) -> Synthesizer:
    """The process's synthesiser for `language`, the answers set's (espeak-ng allows one
    engine per process: synthesisers for several languages share it, each with its own
    default voice)."""
    return _synthesizer(language_data(language).code)


@functools.cache
def _synthesizer(language: str) -> Synthesizer:
    return Pyttsx3Synthesizer(language)


# WAV files.


def wav_bytes(speech: Speech) -> bytes:
    """16-bit PCM mono WAV."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(speech.sample_rate)
        wav.writeframes(float_to_pcm16(speech.samples))
    return buffer.getvalue()


def write_wav(speech: Speech, path: Path) -> None:
    """Write `speech` as a 16-bit WAV; atomic, so a reader never sees half a file."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise OutputFileError(f"{path} is a folder; give a file name such as {path / 'reply.wav'}")
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise OutputFileError(f"cannot write {path}: {folder} {what}; create the folder first")
    temporary = folder / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        # os.open with 0o666 keeps the user's umask (mkstemp would make it private).
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(descriptor, "wb") as file:
            file.write(wav_bytes(speech))
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise OutputFileError(
            f"cannot write {path}: {exc.strerror}; choose a folder you can write to"
        ) from None


# Cues and silence.


def cue(name: str, sample_rate: int = ESPEAK_RATE) -> Speech:
    """A short, soft non-speech sound: "listening" (a rising two-note chime, 0.25 s) or
    "still_listening" (one low tone, 0.2 s)."""
    if name == "listening":
        first = _tone(659.25, 0.13, sample_rate)  # E5, then A5: a rising fourth
        second = _tone(880.0, 0.17, sample_rate)
        offset = int(0.08 * sample_rate)
        samples = np.zeros(offset + len(second), dtype=np.float32)
        samples[: len(first)] += first
        samples[offset:] += second
        peak = 0.3
    elif name == "still_listening":
        samples, peak = _tone(392.0, 0.2, sample_rate, decay=8.0), 0.22  # G4, held
    else:
        raise ValueError(f"unknown cue {name!r}; cues: {', '.join(CUES)}")
    samples *= peak / float(np.abs(samples).max())
    return Speech(samples.astype(np.float32), sample_rate, "")


def _tone(frequency: float, seconds: float, sample_rate: int, decay: float = 18.0) -> Samples:
    """A sine with a soft second harmonic, a 10 ms attack and an exponential decay that
    ends at zero (no click)."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    wave_ = np.sin(2 * np.pi * frequency * t) + 0.25 * np.sin(4 * np.pi * frequency * t)
    envelope = np.minimum(1.0, t / 0.01) * np.exp(-decay * t)
    release = int(0.02 * sample_rate)
    envelope[-release:] *= np.linspace(1.0, 0.0, release)
    tone: Samples = (wave_ * envelope).astype(np.float32)
    return tone


def silence(seconds: float, sample_rate: int = ESPEAK_RATE) -> Speech:
    """`seconds` of silence, e.g. a pause between spoken parts."""
    if seconds < 0:
        raise ValueError(f"seconds must be 0 or more, not {seconds}")
    return Speech(np.zeros(round(seconds * sample_rate), dtype=np.float32), sample_rate, "")
