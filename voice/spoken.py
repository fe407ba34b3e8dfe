"""A spoken question, end to end: audio in, transcript and decision out.

Shared by `voicefaq ask --audio`, the tests and the benchmarks. The recogniser is
passed in, so one loaded engine serves many files.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from voice.asr import Recognizer, Transcript
from voice.audio.decode import SILENCE_RMS, Audio
from voice.audio.vad import Endpoint, EndpointKind, speech_seconds
from voice.conversation.turns import LongPause, Paused, SpeechBegan, SpeechEnded, TurnInput
from voice.core.faq import Emergency
from voice.core.matcher import Decision, Match, Matcher, confirmation_text
from voice.errors import NoSpeechError

MIN_SPEECH_SECONDS = 0.2
"""Less voiced audio than this is taken as silence or a click, not a question."""
UNSURE_LOGPROB = -0.7
"""Below this mean token log-probability (under one chance in two a token) the engine was
guessing: what it wrote then is weak evidence of an emergency (heard_emergency). For FAQ
answers the decision model weighs the log-probability itself."""
ALTERNATIVE_MIN_WORDS = 2
"""Trigger words an emergency needs in a less likely reading of the audio: a lone
"suicide" or "ambulance" there is as often whisper's invention over noise as speech."""
_WORD = re.compile(r"[a-z0-9']+")


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
    return SpokenMatch(transcript, match_transcript(transcript, matcher), vad_ms)


def match_transcript(transcript: Transcript, matcher: Matcher) -> Match:
    """The decision for what was heard. Use this rather than `matcher.match(transcript.text)`:

    - an emergency in the best reading or in one of the engine's other readings of the
      audio wins over an FAQ match, since a missed emergency costs far more than a false
      alarm; but not one the engine invented over noise (heard_emergency);
    - the decision weighs the engine's confidence and whether its other readings point to
      the same entry (Matcher.match_heard);
    - when the best reading gets no answer, a less likely reading that would get one, or
      one finding a likelier candidate, is offered in the confirmation, never answered:
      the engine thought it less likely.
    """
    match = matcher.match_heard(transcript)
    emergency = heard_emergency(transcript, matcher)
    if emergency is not None:
        if match.emergency is emergency:
            return match
        return Match(
            transcript.text,
            Decision.EMERGENCY,
            emergency.say,
            None,
            1.0,
            (),
            emergency=emergency,
            match_ms=match.match_ms,
        )
    if match.decision is Decision.EMERGENCY:  # ruled out by heard_emergency: the FAQ decides
        match = matcher.decide(
            transcript.text, matcher.standings(transcript.text, transcript), heard=transcript
        )
    if match.decision is not Decision.ANSWER:
        return _offer_other_reading(match, transcript.alternatives, matcher)
    return match


def heard_emergency(transcript: Transcript, matcher: Matcher) -> Emergency | None:
    """The emergency the audio signals, if any, in the engine's best reading or another.

    Over noise whisper invents words: it writes "suicide" for "exercise", echoes the
    emergencies its prompt names, and, when it was guessing (UNSURE_LOGPROB), loops on a
    phrase ("I can't get up, I can't get up."). So:

    - a guessed reading that loops is no evidence, nor are the beam's variants of it;
    - a trigger of one word in the best reading needs most of the readings to signal an
      emergency (whisper's inventions are in a few);
    - a less likely reading needs ALTERNATIVE_MIN_WORDS trigger words and a word in
      common with the best reading (one that shares none is the engine's other guess
      over noise, often its prompt);
    - when the engine was guessing, a call for help said "alone" may carry no unknown
      word ("And we wanted to sign in our calls for help.").
    """
    unsure = transcript.logprob is not None and transcript.logprob < UNSURE_LOGPROB
    best = transcript.text
    if unsure and _loops(best):
        return None
    emergency = matcher.emergency(best, guessing=unsure)
    if emergency is not None:
        readings = (best, *transcript.alternatives)
        if matcher.emergency(best, ALTERNATIVE_MIN_WORDS, guessing=unsure) is not None or 2 * sum(
            matcher.emergency(reading, guessing=unsure) is not None for reading in readings
        ) > len(readings):
            return emergency
    said = set(_WORD.findall(best.lower()))
    for alternative in transcript.alternatives:
        if said.isdisjoint(_WORD.findall(alternative.lower())):
            continue
        emergency = matcher.emergency(alternative, ALTERNATIVE_MIN_WORDS, best=best, guessing=unsure)
        if emergency is not None:
            return emergency
    return None


def _loops(text: str) -> bool:
    """Whether `text` says a phrase of two words or more twice in a row."""
    words = _WORD.findall(text.lower())
    return any(
        words[start : start + size] == words[start + size : start + 2 * size]
        for size in range(2, len(words) // 2 + 1)
        for start in range(len(words) - 2 * size + 1)
    )


def _offer_other_reading(match: Match, readings: Sequence[str], matcher: Matcher) -> Match:
    """`match` (a confirm or fallback), or a confirmation that offers first the entry a
    less likely reading of the audio is answered with, or finds likelier than the best reading's
    own candidates. On the spoken sets this reached one or two more questions in a hundred
    and added no wrong answer."""
    for reading in readings:
        other = matcher.match(reading)
        mine = match.alternatives[0].probability if match.alternatives else 0.0
        likelier = bool(other.alternatives) and other.alternatives[0].probability > max(
            mine, matcher.confirm_at
        )
        if other.alternatives and (other.decision is Decision.ANSWER or likelier):
            best = other.alternatives[0]
            offered = (best, *[c for c in match.offered if c.entry_id != best.entry_id][:1])
            return Match(
                match.input,
                Decision.CONFIRM,
                confirmation_text(offered, matcher.language),
                None,
                best.score,
                (best, *[c for c in match.alternatives if c.entry_id != best.entry_id]),
                offered=offered,
                match_ms=match.match_ms + other.match_ms,
            )
    return match


def turn_input(endpoint: Endpoint, at: float, speaking: bool, engine_free: bool = True) -> TurnInput | None:
    """The endpointer's event as turn-taking's input (voice.conversation.turns), None for
    one it does not need (no speech at all). Shared by the terminal and the service."""
    kind = endpoint.kind
    if kind is EndpointKind.SPEECH_STARTED:
        return SpeechBegan(at, speaking)
    if kind is EndpointKind.PAUSED:
        return Paused(at, endpoint.pcm16, speaking, engine_free)
    if kind is EndpointKind.STILL_LISTENING:
        return LongPause(at)
    if kind in (EndpointKind.SPEECH_ENDED, EndpointKind.MAX_LENGTH):
        return SpeechEnded(at, endpoint.pcm16, speaking, cut=kind is EndpointKind.MAX_LENGTH)
    return None
