"""Reading Wyoming events within limits, and the audio of one `transcribe` request.

The wyoming package's own reader trusts the lengths a client declares (a client saying
"payload_length": 10**10 is buffered until it has sent that much); here a header, its
data and its payload are each bounded before anything is read, so a bad client costs an
`error` event and a closed connection, never the service's memory.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from wyoming.event import Event

from voice.audio.decode import MAX_CHANNELS, MAX_SECONDS, MAX_SOURCE_RATE, SAMPLE_RATE, Audio

MAX_DATA_BYTES = 64 * 1024
"""An event's JSON data (text, context, ...); a line longer than this is refused too."""
MAX_PAYLOAD_BYTES = 1024 * 1024
"""One event's binary payload: an audio chunk (Home Assistant sends 2 KiB ones)."""
MAX_TEXT_CHARS = 10_000
"""Text to speak or handle in one request."""
WIDTHS = (1, 2, 4)
"""Bytes per sample taken: 8-bit unsigned, 16-bit and 32-bit signed PCM, little-endian."""


class BadEvent(Exception):
    """What a client sent breaks the protocol; `fatal`: the stream cannot be read on."""

    def __init__(self, message: str, code: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.fatal = fatal


def _length(header: dict[str, Any], key: str, limit: int) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadEvent(f"{key} must be a whole number of bytes, not {value!r}", "bad-event", fatal=True)
    if value > limit:
        raise BadEvent(f"{key} {value} is over the limit of {limit} bytes", "too-large", fatal=True)
    return value


async def read_event(reader: asyncio.StreamReader) -> Event | None:
    """The next event, None at the end of the stream; BadEvent for anything malformed."""
    try:
        line = await reader.readline()
    except ValueError:  # longer than the stream's limit (64 KiB)
        raise BadEvent("an event header over 64 KiB", "too-large", fatal=True) from None
    if not line:
        return None
    try:
        header = json.loads(line)
    except ValueError:
        raise BadEvent("an event header is not JSON", "bad-event", fatal=True) from None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise BadEvent('an event header must be a JSON object with a "type"', "bad-event", fatal=True)
    data = header.get("data") or {}
    if not isinstance(data, dict):
        raise BadEvent('"data" must be a JSON object', "bad-event", fatal=True)
    data_length = _length(header, "data_length", MAX_DATA_BYTES)
    payload_length = _length(header, "payload_length", MAX_PAYLOAD_BYTES)
    try:
        if data_length:
            more = json.loads(await reader.readexactly(data_length))
            if not isinstance(more, dict):
                raise BadEvent("an event's data must be a JSON object", "bad-event", fatal=True)
            data.update(more)
        payload = await reader.readexactly(payload_length) if payload_length else None
    except asyncio.IncompleteReadError:
        return None  # the client went away mid-event
    except ValueError:
        raise BadEvent("an event's data is not JSON", "bad-event", fatal=True) from None
    return Event(type=header["type"], data=data, payload=payload)


@dataclass(frozen=True, slots=True)
class AudioFormat:
    rate: int
    width: int
    channels: int

    @classmethod
    def of(cls, data: dict[str, Any]) -> AudioFormat:
        """The format an audio-start or audio-chunk declares; BadEvent when voicefaq cannot take it."""
        values = [data.get(key) for key in ("rate", "width", "channels")]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise BadEvent("audio needs whole-number rate, width and channels", "audio-format")
        rate, width, channels = (int(v) for v in values)  # type: ignore[arg-type]
        if not 1_000 <= rate <= MAX_SOURCE_RATE:
            raise BadEvent(f"a rate of {rate} Hz is not taken (1000 to {MAX_SOURCE_RATE})", "audio-format")
        if width not in WIDTHS:
            raise BadEvent(f"a sample width of {width} bytes is not taken (1, 2 or 4)", "audio-format")
        if not 1 <= channels <= MAX_CHANNELS:
            raise BadEvent(f"{channels} channels are not taken (1 to {MAX_CHANNELS})", "audio-format")
        return cls(rate, width, channels)

    def samples(self, data: bytes) -> npt.NDArray[np.float32]:
        """Mono float samples of whole frames in `data`."""
        frame = self.width * self.channels
        if len(data) % frame:
            raise BadEvent(f"an audio chunk must hold whole frames of {frame} bytes", "audio-format")
        if self.width == 1:
            values = (np.frombuffer(data, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
        elif self.width == 2:
            values = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        else:
            values = (np.frombuffer(data, dtype="<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
        mono: npt.NDArray[np.float32] = values.reshape(-1, self.channels).mean(axis=1, dtype=np.float32)
        return mono


class AudioIn:
    """One request's audio, resampled to 16 kHz mono as it arrives, at most MAX_SECONDS."""

    def __init__(self, audio_format: AudioFormat, max_seconds: float = MAX_SECONDS) -> None:
        import soxr

        self.format = audio_format
        self.max_seconds = max_seconds
        self.seconds = 0.0
        self._resampler = soxr.ResampleStream(audio_format.rate, SAMPLE_RATE, 1, dtype="float32")
        self._parts: list[npt.NDArray[np.float32]] = []

    def add(self, data: bytes, chunk_format: AudioFormat) -> None:
        if chunk_format != self.format:
            raise BadEvent("an audio chunk's format differs from its audio-start's", "audio-format")
        mono = self.format.samples(data)
        self.seconds += len(mono) / self.format.rate
        if self.seconds > self.max_seconds:
            raise BadEvent(f"more than {self.max_seconds:.0f} s of audio in one request", "too-large")
        self._parts.append(np.asarray(self._resampler.resample_chunk(mono), dtype=np.float32))

    def finish(self) -> Audio:
        tail = self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        samples = np.concatenate([*self._parts, np.asarray(tail, dtype=np.float32)])
        return Audio(np.clip(samples, -1.0, 1.0).astype(np.float32), self.format.rate, self.format.channels)
