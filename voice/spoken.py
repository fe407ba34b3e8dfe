"""A spoken question, end to end: audio in, transcript and decision out.

Shared by `voicefaq ask --audio`, the tests and the benchmarks. The recogniser is
passed in, so one loaded engine serves many files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from voice.asr import Recognizer, Transcript
from voice.audio import SILENCE_RMS, Audio
from voice.errors import NoSpeechError
from voice.matcher import Match, Matcher
from voice.vad import speech_seconds

MIN_SPEECH_SECONDS = 0.2
"""Less voiced audio than this is taken as silence or a click, not a question."""


@dataclass(frozen=True, slots=True)
class SpokenMatch:
    transcript: Transcript
    match: Match
    vad_ms: float
    """Milliseconds spent checking that the audio holds speech."""

    def to_dict(self, **timings_ms: float) -> dict[str, object]:
        """`voicefaq ask --json` fields plus transcript, engine, audio_s, word confidences."""
        result = self.match.to_dict(asr_ms=self.transcript.asr_ms, vad_ms=self.vad_ms, **timings_ms)
        heard = self.transcript.to_dict()
        result.update(
            transcript=heard["transcript"],
            engine=heard["engine"],
            audio_s=heard["audio_s"],
            confidence=heard["confidence"],
            words=heard["words"],
        )
        return result


def require_speech(audio: Audio, name: str = "the recording") -> float:
    """Milliseconds taken; raises NoSpeechError when `audio` holds no speech."""
    started = time.perf_counter()
    if audio.rms < SILENCE_RMS or speech_seconds(audio) < MIN_SPEECH_SECONDS:
        raise NoSpeechError(
            f"no speech heard in {name}; speak closer to the microphone or check the recording"
        )
    return (time.perf_counter() - started) * 1000


def ask_audio(
    audio: Audio, recognizer: Recognizer, matcher: Matcher, name: str = "the recording"
) -> SpokenMatch:
    """Transcribe one spoken question and decide what to answer."""
    vad_ms = require_speech(audio, name)
    transcript = recognizer.transcribe(audio)
    if not transcript.text.strip():
        raise NoSpeechError(f"no words recognised in {name}; try again, a little slower or closer")
    return SpokenMatch(transcript, matcher.match(transcript.text), vad_ms)
