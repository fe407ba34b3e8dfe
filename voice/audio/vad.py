"""Where speech starts and ends, with the WebRTC voice activity detector.

Pure: PCM in, events out; no device. Built for slow speakers: a pause inside a
sentence does not end it unless it lasts `end_silence_s` (1.5 s by default,
adjustable), and nothing ends an utterance early except `max_utterance_s`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from voice.audio.decode import SAMPLE_RATE, Audio

_BYTES_PER_SAMPLE = 2


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    end_silence_s: float = 1.5
    """Seconds of silence that end an utterance; long, so slow speakers are not cut off."""
    start_speech_s: float = 0.15
    """Seconds of voiced audio (within start_window_s) that start an utterance."""
    start_window_s: float = 0.3
    max_utterance_s: float = 30.0
    """An utterance is ended (and kept) when it reaches this length."""
    no_speech_timeout_s: float | None = None
    """Seconds without speech after which a NO_SPEECH event is sent; None waits forever."""
    pre_roll_s: float = 0.3
    """Audio kept from before speech started, so the first syllable is not lost."""
    aggressiveness: int = 2
    """webrtcvad mode 0..3: higher rejects more non-speech."""
    frame_ms: int = 30
    pause_s: float = 0.3
    """Seconds of silence inside an utterance that send PAUSED with the audio so far, so a
    shell can transcribe speculatively and answer as soon as the end silence is over."""
    still_listening_s: float | None = None
    """Seconds of silence inside an utterance that send STILL_LISTENING (once per pause), for
    an audible "still listening" cue; None: 1 s before the end, when end_silence_s is 2.5 s
    or more, else no cue (a short end silence needs none)."""

    def __post_init__(self) -> None:
        if self.frame_ms not in (10, 20, 30):
            raise ValueError("frame_ms must be 10, 20 or 30 (webrtcvad frame sizes)")
        if not 0 <= self.aggressiveness <= 3:
            raise ValueError("aggressiveness must be 0..3")
        if self.end_silence_s <= 0 or self.max_utterance_s <= 0:
            raise ValueError("end_silence_s and max_utterance_s must be positive")
        if self.pause_s <= 0:
            raise ValueError("pause_s must be positive")

    @property
    def cue_after_s(self) -> float | None:
        """When the "still listening" cue is due in a pause, or None for no cue."""
        if self.still_listening_s is not None:
            return self.still_listening_s if self.still_listening_s < self.end_silence_s else None
        return self.end_silence_s - 1.0 if self.end_silence_s >= 2.5 else None

    @property
    def frame_bytes(self) -> int:
        return SAMPLE_RATE * self.frame_ms // 1000 * _BYTES_PER_SAMPLE

    def frames(self, seconds: float) -> int:
        return max(1, round(seconds * 1000 / self.frame_ms))


class EndpointKind(StrEnum):
    SPEECH_STARTED = "speech_started"
    SPEECH_ENDED = "speech_ended"
    """The utterance is complete: silence followed it."""
    MAX_LENGTH = "max_length"
    """The utterance reached max_utterance_s and was ended there."""
    PAUSED = "paused"
    """pause_s of silence inside an utterance; carries the audio so far. If SPEECH_ENDED
    follows with no speech in between, its words are the same."""
    STILL_LISTENING = "still_listening"
    """A long pause inside an utterance (see EndpointConfig.still_listening_s)."""
    NO_SPEECH = "no_speech"


@dataclass(frozen=True, slots=True)
class Endpoint:
    kind: EndpointKind
    at_s: float
    """Seconds of audio fed since the last reset when this happened."""
    pcm16: bytes = b""
    """For SPEECH_ENDED, MAX_LENGTH and PAUSED: the utterance (so far), pre-roll included."""


class Endpointer:
    """Feed 16 kHz mono 16-bit PCM in any chunk size; get start and end events."""

    def __init__(self, config: EndpointConfig | None = None) -> None:
        import webrtcvad

        self.config = config or EndpointConfig()
        self._vad = webrtcvad.Vad(self.config.aggressiveness)
        cue_after = self.config.cue_after_s
        self._cue_frames = None if cue_after is None else self.config.frames(cue_after)
        self.reset()

    def reset(self) -> None:
        config = self.config
        self._pending = b""
        self._frames_seen = 0
        self._recent: deque[bool] = deque(maxlen=config.frames(config.start_window_s))
        self._pre_roll: deque[bytes] = deque(maxlen=config.frames(config.pre_roll_s))
        self._utterance: list[bytes] = []
        self._in_speech = False
        self._silent_frames = 0
        self._no_speech_sent = False

    @property
    def in_speech(self) -> bool:
        return self._in_speech

    def _now(self) -> float:
        return self._frames_seen * self.config.frame_ms / 1000

    def feed(self, pcm16: bytes) -> list[Endpoint]:
        config = self.config
        data = self._pending + pcm16
        usable = len(data) - len(data) % config.frame_bytes
        self._pending = data[usable:]
        events: list[Endpoint] = []
        for start in range(0, usable, config.frame_bytes):
            frame = data[start : start + config.frame_bytes]
            self._frames_seen += 1
            voiced = self._vad.is_speech(frame, SAMPLE_RATE)
            if self._in_speech:
                self._utterance.append(frame)
                self._silent_frames = 0 if voiced else self._silent_frames + 1
                if self._silent_frames >= config.frames(config.end_silence_s):
                    events.append(self._end(EndpointKind.SPEECH_ENDED))
                elif len(self._utterance) >= config.frames(config.max_utterance_s):
                    events.append(self._end(EndpointKind.MAX_LENGTH))
                elif self._silent_frames == config.frames(config.pause_s):
                    events.append(Endpoint(EndpointKind.PAUSED, self._now(), b"".join(self._utterance)))
                elif self._cue_frames is not None and self._silent_frames == self._cue_frames:
                    events.append(Endpoint(EndpointKind.STILL_LISTENING, self._now()))
                continue
            self._recent.append(voiced)
            self._pre_roll.append(frame)
            if sum(self._recent) >= config.frames(config.start_speech_s):
                self._in_speech = True
                self._silent_frames = 0
                self._utterance = list(self._pre_roll)
                self._recent.clear()
                events.append(Endpoint(EndpointKind.SPEECH_STARTED, self._now()))
            elif (
                config.no_speech_timeout_s is not None
                and not self._no_speech_sent
                and self._now() >= config.no_speech_timeout_s
            ):
                self._no_speech_sent = True
                events.append(Endpoint(EndpointKind.NO_SPEECH, self._now()))
        return events

    def flush(self) -> list[Endpoint]:
        """End of input: an utterance in progress ends here."""
        if self._in_speech:
            return [self._end(EndpointKind.SPEECH_ENDED)]
        return []

    def _end(self, kind: EndpointKind) -> Endpoint:
        utterance = b"".join(self._utterance)
        self._in_speech = False
        self._utterance = []
        self._pre_roll.clear()
        self._recent.clear()
        return Endpoint(kind, self._now(), utterance)


def voiced_frames(audio: Audio, config: EndpointConfig | None = None) -> list[bool]:
    """Whether each of the recording's frames (config.frame_ms long) holds voice."""
    import webrtcvad

    config = config or EndpointConfig()
    vad = webrtcvad.Vad(config.aggressiveness)
    pcm = audio.pcm16()
    step = config.frame_bytes
    return [
        bool(vad.is_speech(pcm[at : at + step], SAMPLE_RATE)) for at in range(0, len(pcm) - step + 1, step)
    ]


def speech_seconds(audio: Audio, config: EndpointConfig | None = None) -> float:
    """Seconds of voiced audio in a recording: 0 means nobody spoke."""
    config = config or EndpointConfig()
    return sum(voiced_frames(audio, config)) * config.frame_ms / 1000


MIN_WORD_FRAMES = 3
"""Voiced runs shorter than this (90 ms at 30 ms frames) are clicks or breath, not words."""


def longest_pause_s(audio: Audio, config: EndpointConfig | None = None) -> float:
    """The longest silence between words in a recording, in seconds (0 for one word)."""
    config = config or EndpointConfig()
    voiced = voiced_frames(audio, config)
    words: list[tuple[int, int]] = []  # voiced runs long enough to be speech: (start, end)
    start = None
    for index, is_voiced in enumerate([*voiced, False]):
        if is_voiced and start is None:
            start = index
        elif not is_voiced and start is not None:
            if index - start >= MIN_WORD_FRAMES:
                words.append((start, index))
            start = None
    gaps = [later[0] - earlier[1] for earlier, later in zip(words, words[1:], strict=False)]
    return max(gaps, default=0) * config.frame_ms / 1000
