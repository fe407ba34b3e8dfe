"""What a recogniser heard in one utterance: plain data, so that the pure layers (matching,
turn-taking) can carry it without importing an engine. voice.asr re-exports both."""

from __future__ import annotations

from dataclasses import dataclass


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
    """The engine's registry name (`ENGINES`)."""
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
