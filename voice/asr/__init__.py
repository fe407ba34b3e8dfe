"""Speech recognition behind one small interface, with one adapter per engine.

An engine is a Recognizer: `transcribe(audio)` for a whole recording and
`stream()` for audio arriving in chunks. Engines are imported lazily inside their
adapters, so the rest of voicefaq imports without Vosk or CTranslate2 loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from voice.conversation.commands import command_phrases
from voice.core.normalize import words
from voice.lang import DEFAULT_CODE, DEFAULT_LANGUAGE

if TYPE_CHECKING:
    from voice.audio.decode import Audio
    from voice.core.faq import FaqSet

ENGINES = ("vosk", "whisper")
_KEY_TERM_LENGTH = 4  # shorter words ("leg", "arm") are common enough that engines know them
_PROMPT_TERMS = 20  # longer term lists made whisper tiny.en worse, not better


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    start: float
    """Seconds from the start of the utterance."""
    end: float
    """Seconds from the start of the utterance."""
    confidence: float
    """0..1, as the engine reports it."""


@dataclass(frozen=True, slots=True)
class Transcript:
    """What an engine heard in one utterance."""

    text: str
    words: tuple[Word, ...]
    engine: str
    """"vosk" or "whisper"."""
    audio_s: float
    """Seconds of audio recognised."""
    asr_ms: float = 0.0
    """Milliseconds the engine took."""
    alternatives: tuple[str, ...] = ()
    """Other readings of the same audio the engine found less likely, most likely first
    (whisper's beam); checked for emergencies the best reading may have misheard."""
    logprob: float | None = None
    """Mean token log-probability of `text` (natural log; whisper), None when the engine
    gives none. Below about -0.7 (under one chance in two a token) the text is a guess."""

    @property
    def confidence(self) -> float | None:
        """Mean word confidence, 0..1; None when the engine gave no words."""
        if not self.words:
            return None
        return sum(word.confidence for word in self.words) / len(self.words)

    def to_dict(self) -> dict[str, object]:
        return {
            "transcript": self.text,
            "engine": self.engine,
            "audio_s": round(self.audio_s, 3),
            "confidence": None if self.confidence is None else round(self.confidence, 3),
            "words": [
                {
                    "word": w.text,
                    "start": round(w.start, 2),
                    "end": round(w.end, 2),
                    "confidence": round(w.confidence, 3),
                }
                for w in self.words
            ],
            "asr_ms": round(self.asr_ms, 1),
            "alternatives": list(self.alternatives),
            "logprob": None if self.logprob is None else round(self.logprob, 3),
        }


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
    """"vosk" or "whisper"."""

    def transcribe(self, audio: Audio) -> Transcript: ...

    def stream(self) -> RecognizerStream: ...


def speech_vocabulary(faq_set: FaqSet | None, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The words people use with this set: its questions, phrasings, keywords and
    synonyms, plus the voice commands. Engines are biased towards these."""
    texts: list[str] = [*command_phrases(faq_set.language_data if faq_set else DEFAULT_LANGUAGE), *extra]
    if faq_set is not None:
        for entry in faq_set.entries:
            texts += [entry.question, *entry.phrasings, *entry.keywords]
        for canonical, variants in faq_set.synonyms.items():
            texts += [canonical, *variants]
    seen: dict[str, None] = {}
    for text in texts:
        for word in words(text):
            if word.isalpha():
                seen.setdefault(word, None)
    return tuple(seen)


def key_terms(faq_set: FaqSet | None) -> tuple[str, ...]:
    """The set's specific words, rarest first (used by the fewest entries' keywords and
    synonyms), to prime an engine that takes a prompt rather than a grammar."""
    if faq_set is None:
        return ()
    users: dict[str, set[str]] = {}
    for entry in faq_set.entries:
        for keyword in entry.keywords:
            for word in words(keyword):
                users.setdefault(word, set()).add(entry.id)
    for canonical, variants in faq_set.synonyms.items():
        for term in (canonical, *variants):
            for word in words(term):
                users.setdefault(word, set()).add(f"synonym:{canonical}")
    specific = [word for word in users if word.isalpha() and len(word) >= _KEY_TERM_LENGTH]
    return tuple(sorted(specific, key=lambda word: (len(users[word]), -len(word), word)))


def speech_prompt(faq_set: FaqSet | None, most_terms: int = _PROMPT_TERMS) -> str:
    """The text that primes a prompt-taking engine: the set's own `speech_prompt`, else
    its title followed by its most specific terms."""
    if faq_set is None:
        return ""
    if faq_set.speech_prompt:
        return faq_set.speech_prompt
    return f"{faq_set.title}: {', '.join(key_terms(faq_set)[:most_terms])}."


def load_recognizer(
    engine: str | None = None,
    vosk_model: Path | None = None,
    vocabulary: Iterable[str] = (),
    prompt: str = "",
    words: bool = False,
    threads: int | None = None,
    separate_process: bool = False,
    language: str = DEFAULT_CODE,
) -> Recognizer:
    """The engine to use: `engine` if given, else Vosk when an English Vosk model is
    found, else the bundled whisper tiny.en (no download needed).

    `vocabulary` restricts Vosk's grammar; `prompt` primes whisper; `words` asks for word
    timings and confidences where they cost extra (whisper: about twice the time);
    `threads` caps whisper's CPU threads (default: every core); `separate_process` runs
    whisper in a child process at a lower priority (voice.asr.worker: for the service,
    whose event loop must not wait for it); `language` is the answers set's (voice.lang).
    """
    from voice.asr import models

    if engine not in (None, *ENGINES):
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if (engine or models.default_engine(vosk_model)) == "vosk":
        from voice.asr.vosk import VoskRecognizer

        return VoskRecognizer(models.require_vosk_model(vosk_model), tuple(vocabulary), language=language)
    if separate_process:
        from voice.asr.worker import WhisperProcess

        return WhisperProcess(
            models.whisper_model_path(),
            prompt=prompt,
            threads=threads,
            word_timestamps=words,
            language=language,
        )
    from voice.asr.whisper import WhisperRecognizer

    return WhisperRecognizer(
        models.whisper_model_path(), prompt=prompt, threads=threads, word_timestamps=words, language=language
    )
