"""Audio in: decode any common file format to 16 kHz mono, and chunk it.

Pure: bytes or a path in, samples out. soundfile (libsndfile) reads WAV in every
common sample format (8/16/24/32-bit integer, float), FLAC and OGG; soxr resamples.
"""

from __future__ import annotations

import io
import math
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from voice.errors import AudioFormatError, AudioTooLargeError

SAMPLE_RATE = 16_000
"""Hertz: what every recogniser here is fed."""
MAX_SECONDS = 120.0
"""Longest audio accepted for one question; longer is refused rather than truncated."""
MAX_FILE_BYTES = 200_000_000
"""Bytes of one audio file read from disk (the service takes less: Limits.max_body_bytes)."""
MAX_SOURCE_RATE = 192_000
"""Hertz: the highest sample rate accepted (studio audio); a header claiming more is refused."""
MAX_CHANNELS = 8
MAX_DECODED_SAMPLES = int(MAX_SECONDS * 48_000 * 2)
"""Samples (frames x channels) one decode may produce: two minutes of 48 kHz stereo, about
46 MB as float32. Checked from the header before decoding and again while decoding, so a
small compressed file that claims or holds far more (a "decode bomb") costs no more."""
_DECODE_BLOCK_FRAMES = 65_536
"""Frames read and mixed down to mono at a time: decoding never holds all channels at once."""
MIN_SECONDS = 0.1
SILENCE_RMS = 1e-3
"""Below this RMS (full scale = 1.0) a recording holds no speech at all."""

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Audio:
    """Mono float samples in -1..1 at SAMPLE_RATE."""

    samples: Samples
    source_rate: int
    """Hertz of the original recording, before resampling."""
    source_channels: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    @property
    def rms(self) -> float:
        return float(np.sqrt(np.mean(np.square(self.samples)))) if len(self.samples) else 0.0

    def pcm16(self) -> bytes:
        """Little-endian signed 16-bit PCM, what Vosk and webrtcvad take."""
        return float_to_pcm16(self.samples)


def float_to_pcm16(samples: Samples) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def pcm16_to_float(data: bytes) -> Samples:
    if len(data) % 2:
        raise AudioFormatError("16-bit PCM needs an even number of bytes")
    return (np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0).astype(np.float32)


DENOISE_REDUCTION = 0.8
"""How far noise is turned down (1.0: removed entirely, which leaves warbling artefacts)."""
DENOISE_BELOW_DB = 35.0
"""Noise reduction runs only when the quiet parts of a clip are less than this far below
its loud parts (noise_margin_db). On clean speech it takes soft sounds for noise: "should
I use a walker" came out as "so that you've been walking"."""
_DENOISE_MIN_SAMPLES = 2048
"""Shorter clips are too short to tell noise from speech (two analysis windows)."""
_LEVEL_FRAME = 480
"""30 ms at 16 kHz."""


def noise_margin_db(samples: Samples) -> float:
    """How far the clip's quiet 30 ms frames (10th percentile of frame level) lie below
    its loud ones (90th percentile), in decibels: about the signal-to-noise ratio when
    the clip has pauses. Digital silence gives a very large margin."""
    frames = len(samples) // _LEVEL_FRAME
    if frames == 0:
        return math.inf
    levels = np.sqrt(np.mean(samples[: frames * _LEVEL_FRAME].reshape(frames, _LEVEL_FRAME) ** 2, axis=1))
    quiet, loud = np.percentile(levels, [10, 90])
    return float(20 * math.log10(max(float(loud), 1e-9) / max(float(quiet), 1e-9)))


def denoise(samples: Samples) -> Samples:
    """16 kHz samples with steady background noise (fans, hum, hiss, a crowded room)
    turned down by spectral gating, the noise profile estimated from the clip itself
    (noisereduce, stationary mode), or the samples themselves when the clip is clean
    (DENOISE_BELOW_DB) or short. Run before recognition: on three spoken sets whisper
    reached 2 to 5 more in-scope questions in a hundred, mostly under babble, at about
    1 ms a second of audio."""
    if len(samples) < _DENOISE_MIN_SAMPLES or noise_margin_db(samples) >= DENOISE_BELOW_DB:
        return samples
    import noisereduce

    cleaned = noisereduce.reduce_noise(
        y=samples, sr=SAMPLE_RATE, stationary=True, prop_decrease=DENOISE_REDUCTION
    )
    return np.asarray(cleaned, dtype=np.float32)


def to_mono_16k(samples: npt.NDArray[np.floating], sample_rate: int) -> Samples:
    """Mix down to mono and resample to 16 kHz with soxr's high-quality filter."""
    import soxr

    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    mono = np.ascontiguousarray(mono, dtype=np.float32)
    if sample_rate != SAMPLE_RATE:
        mono = soxr.resample(mono, sample_rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    return mono


def decode(data: bytes, name: str = "audio") -> Audio:
    """Decode a whole audio file held in memory (WAV, FLAC, OGG), within the limits above."""
    import soundfile

    if not data:
        raise AudioFormatError(f"{name}: the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise AudioTooLargeError(f"{name}: {len(data):,} bytes is too large; the limit is {MAX_FILE_BYTES:,}")
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as sound:
            rate, channels = sound.samplerate, sound.channels
            _check_header(name, rate, channels, sound.frames)
            mono = _read_mono(name, sound, rate, channels)
    except AudioFormatError:
        raise
    except (soundfile.LibsndfileError, RuntimeError, ValueError, TypeError) as exc:
        reason = getattr(exc, "error_string", None) or str(exc)  # without libsndfile's object repr
        raise AudioFormatError(
            f"{name}: cannot read it as audio ({reason}); use WAV, FLAC or OGG, for example "
            f"`sox input.mp3 -r 16000 -c 1 question.wav`"
        ) from None
    if len(mono) == 0:
        raise AudioFormatError(f"{name}: the file holds no audio samples (truncated?)")
    if len(mono) / rate < MIN_SECONDS:
        raise AudioFormatError(f"{name}: {len(mono) / rate * 1000:.0f} ms is too short to hold a question")
    return Audio(to_mono_16k(mono, rate), rate, channels)


def _too_long(name: str, seconds: float) -> AudioTooLargeError:
    return AudioTooLargeError(
        f"{name}: {seconds:.0f} s of audio is too long for one question; the limit is {MAX_SECONDS:.0f} s"
    )


def _check_header(name: str, rate: int, channels: int, frames: int) -> None:
    """Refuse, before decoding, what the header says would be too much."""
    if rate <= 0 or channels <= 0:
        raise AudioFormatError(f"{name}: the header says {rate} Hz, {channels} channels")
    if rate > MAX_SOURCE_RATE or channels > MAX_CHANNELS:
        raise AudioTooLargeError(
            f"{name}: {rate:,} Hz with {channels} channels is beyond what a question needs (at most "
            f"{MAX_SOURCE_RATE:,} Hz and {MAX_CHANNELS} channels); convert it, for example "
            "`sox input.wav -r 16000 -c 1 question.wav`"
        )
    if frames / rate > MAX_SECONDS:
        raise _too_long(name, frames / rate)
    if frames * channels > MAX_DECODED_SAMPLES:
        raise AudioTooLargeError(
            f"{name}: {frames * channels:,} samples ({channels} channels at {rate:,} Hz) is more than "
            f"one question may hold ({MAX_DECODED_SAMPLES:,}); convert it to mono 16 kHz"
        )


def _read_mono(name: str, sound: Any, rate: int, channels: int) -> Samples:
    """The file's samples mixed down to mono, block by block, stopping at the limits however
    many frames the header claimed (a damaged or hostile header may claim too few)."""
    most_frames = min(int(MAX_SECONDS * rate), MAX_DECODED_SAMPLES // channels)
    blocks: list[Samples] = []
    frames = 0
    for block in sound.blocks(blocksize=_DECODE_BLOCK_FRAMES, dtype="float32", always_2d=True):
        frames += len(block)
        if frames > most_frames:
            raise _too_long(name, frames / rate)
        blocks.append(
            np.ascontiguousarray(block.mean(axis=1) if channels > 1 else block[:, 0], dtype=np.float32)
        )
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)


def read(path: str | Path) -> Audio:
    """Decode an audio file from disk, with errors that name the file. Reads at most
    MAX_FILE_BYTES from anything: a regular file, or a pipe (`--audio /dev/stdin`); a
    device, folder or socket is refused at once."""
    path = Path(path)
    try:
        # Non-blocking open: a FIFO with no writer would otherwise block here forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise AudioFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AudioFormatError(f"{path}: is a folder, not an audio file") from None
    except OSError as exc:
        raise AudioFormatError(f"{path}: cannot read it ({exc.strerror})") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise AudioFormatError(f"{path}: is a folder, not an audio file")
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
            raise AudioFormatError(f"{path}: is a device or socket, not an audio file; give a recording")
        size = os.fstat(fd).st_size
        if stat.S_ISREG(mode) and size > MAX_FILE_BYTES:  # a pipe's size says nothing: counted below
            raise AudioTooLargeError(f"{path}: {size:,} bytes is too large; the limit is {MAX_FILE_BYTES:,}")
        # Blocking again: a pipe whose writer is slow is waited for; one with no writer
        # reads as empty at once.
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb", buffering=0) as file:
        data = _read_bounded(path, file)
    return decode(data, str(path))


def _read_bounded(path: Path, file: BinaryIO) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := file.read(min(1 << 20, MAX_FILE_BYTES + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_FILE_BYTES:
                raise AudioTooLargeError(f"{path}: more than {MAX_FILE_BYTES:,} bytes is too large")
    except OSError as exc:
        raise AudioFormatError(f"{path}: cannot read it ({exc.strerror})") from None
    return b"".join(chunks)


def chunks(pcm: bytes, chunk_bytes: int) -> Iterator[bytes]:
    """Split PCM into pieces of `chunk_bytes` (the last may be shorter)."""
    for start in range(0, len(pcm), chunk_bytes):
        yield pcm[start : start + chunk_bytes]
