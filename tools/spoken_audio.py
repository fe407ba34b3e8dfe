"""Speech and noise for the spoken set: espeak-ng voices, waiting-room babble, pink noise,
mixing at a given SNR, and the file formats a clip is written in.

Deterministic: espeak-ng is, and every random draw comes from the clip's own seed (Spec).
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from tools.spoken_plan import BABBLE_SENTENCES, BABBLE_TALKERS, Format, Spec, split_for_pause
from voice.audio.decode import Audio, to_mono_16k

Signal = npt.NDArray[np.float64]
"""Float samples, full scale 1.0: shape (frames,) for mono, (frames, channels) otherwise."""

INSTALL_HINT = "install it with: sudo apt-get install espeak-ng sox"
ESPEAK_RATE = 22_050
"""Hertz: what espeak-ng writes; all mixing happens at this rate, before the per-clip resampling."""
PEAK = 0.99
"""Largest absolute sample value written; louder mixes are scaled down, never clipped."""
SECOND_CHANNEL_GAIN = 0.85
"""Stereo clips carry the mix on the left and a quieter copy on the right, so that a downmix
differs from either channel."""


class SpokenSetError(Exception):
    """A missing tool or a failed synthesis; the message says how to fix it."""


def espeak_path() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise SpokenSetError(f"espeak-ng is not installed; {INSTALL_HINT}")
    return path


def espeak_version() -> str:
    result = subprocess.run([espeak_path(), "--version"], capture_output=True, text=True, check=False)
    return result.stdout.strip()


def synthesize(text: str, voice: str, speed: int) -> Signal:
    """Mono float samples at ESPEAK_RATE, with espeak-ng's own leading and trailing silence trimmed."""
    # The text goes in on stdin so that nothing in it can be read as an option.
    result = subprocess.run(
        [espeak_path(), "-v", voice, "-s", str(speed), "--stdout"],
        input=text.encode("utf-8"),
        capture_output=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0 or not result.stdout:
        error = result.stderr.decode("utf-8", "replace").strip()
        raise SpokenSetError(f"espeak-ng -v {voice} failed on {text!r}: {error or 'no output'}")
    return trim(parse_espeak_wav(result.stdout))


def spoken(text: str, voice: str = "en-us", speed: int = 140) -> Audio:
    """`text` said once by espeak-ng, as 16 kHz Audio: for tests that need one clean question."""
    return Audio(to_mono_16k(synthesize(text, voice, speed), ESPEAK_RATE), ESPEAK_RATE, 1)


def parse_espeak_wav(raw: bytes) -> Signal:
    """espeak-ng --stdout writes a streaming WAV whose sizes are placeholders, which libsndfile
    refuses; walk the chunks by hand and take everything after "data"."""
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise SpokenSetError("espeak-ng did not write WAV")
    pos, rate, channels, bits = 12, 0, 0, 0
    while pos + 8 <= len(raw):
        chunk, size = raw[pos : pos + 4], int.from_bytes(raw[pos + 4 : pos + 8], "little")
        if chunk == b"fmt ":
            channels = int.from_bytes(raw[pos + 10 : pos + 12], "little")
            rate = int.from_bytes(raw[pos + 12 : pos + 16], "little")
            bits = int.from_bytes(raw[pos + 22 : pos + 24], "little")
        elif chunk == b"data":
            if (rate, channels, bits) != (ESPEAK_RATE, 1, 16):
                raise SpokenSetError(f"espeak-ng wrote {rate} Hz, {channels} channels, {bits} bits")
            data = raw[pos + 8 :]
            return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float64) / 32768.0
        pos += 8 + size + (size & 1)
    raise SpokenSetError("espeak-ng wrote WAV without data")


def trim(signal: Signal, threshold: float = 2e-3, margin_s: float = 0.02) -> Signal:
    """Drop silence at both ends (keeping a short margin for soft onsets), so that the silence
    and pauses a clip declares are the silence it has."""
    loud = np.flatnonzero(np.abs(signal) > threshold)
    if not len(loud):
        return signal[:0]
    margin = int(margin_s * ESPEAK_RATE)
    return signal[max(0, loud[0] - margin) : loud[-1] + margin + 1]


def rms(signal: Signal) -> float:
    return float(np.sqrt(np.mean(np.square(signal)))) if len(signal) else 0.0


def active_rms(speech: Signal, rate: int, floor_db: float = -40.0) -> float:
    """RMS over the 20 ms frames within floor_db of the loudest: the level of the speech itself,
    not diluted by the silence around and inside it."""
    frame = max(1, rate // 50)
    frames = speech[: len(speech) // frame * frame].reshape(-1, frame)
    if not len(frames):
        return rms(speech)
    energy = np.mean(np.square(frames), axis=1)
    active = frames[energy >= energy.max() * 10 ** (floor_db / 10)]
    return rms(active.ravel())


def mix(speech: Signal, noise: Signal, snr_db: float, rate: int) -> Signal:
    """speech + noise, the noise scaled so that active speech RMS / noise RMS is snr_db."""
    if len(noise) != len(speech):
        raise ValueError(f"speech has {len(speech)} samples, noise {len(noise)}")
    gain = active_rms(speech, rate) / (rms(noise) * 10 ** (snr_db / 20))
    return speech + gain * noise


def pink_noise(n: int, rate: int, rng: np.random.Generator) -> Signal:
    """Pink (1/f power) noise of unit RMS, shaped from white noise in the frequency domain.

    Below 40 Hz is left out: there 1/f would put most of the power where no microphone or
    recogniser listens, and the nominal SNR would overstate how hard the clip is.
    """
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    audible = freqs >= 40.0
    spectrum[audible] /= np.sqrt(freqs[audible])
    spectrum[~audible] = 0
    pink = np.fft.irfft(spectrum, n)
    level = rms(pink)
    return pink / level if level else pink


def babble_tracks(talkers: Sequence[tuple[str, int]] = BABBLE_TALKERS) -> list[Signal]:
    """One long track per babble talker, each starting at a different sentence, so no two talkers
    say the same thing at the same time."""
    texts = [
        " ".join(BABBLE_SENTENCES[(i * 2 + j) % len(BABBLE_SENTENCES)] for j in range(len(BABBLE_SENTENCES)))
        for i in range(len(talkers))
    ]
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        return list(pool.map(synthesize, texts, *zip(*talkers, strict=True)))


def babble(n: int, tracks: Sequence[Signal], talkers: Sequence[tuple[int, float, float]]) -> Signal:
    """Several talkers at once, each from its own start (wrapping round), at its own gain."""
    out = np.zeros(n)
    for index, start, gain in talkers:
        track = tracks[index]
        offset = int(start * len(track))
        out += gain * np.take(track, np.arange(offset, offset + n), mode="wrap")
    return out


def speech_for(spec: Spec) -> Signal:
    """The question with silence before and after, and the pause if the spec has one."""

    def silence(seconds: float) -> Signal:
        return np.zeros(round(seconds * ESPEAK_RATE))

    halves = split_for_pause(spec.question.text) if spec.pause_s else None
    if halves is None:
        parts = [synthesize(spec.question.text, spec.voice, spec.speed)]
    else:
        first, second = (synthesize(half, spec.voice, spec.speed) for half in halves)
        parts = [first, silence(spec.pause_s), second]
    return np.concatenate([silence(spec.lead_s), *parts, silence(spec.trail_s)])


def noise_for(spec: Spec, n: int, tracks: Sequence[Signal]) -> Signal | None:
    if spec.noise == "pink":
        return pink_noise(n, ESPEAK_RATE, np.random.default_rng(spec.noise_seed))
    if spec.noise == "babble":
        return babble(n, tracks, spec.babble)
    return None


def to_format(signal: Signal, fmt: Format) -> Signal:
    """Resampled (soxr HQ), made stereo where asked, and scaled down if it would clip."""
    out = signal
    if fmt.sample_rate != ESPEAK_RATE:
        out = np.asarray(soxr.resample(signal, ESPEAK_RATE, fmt.sample_rate, quality="HQ"), dtype=np.float64)
    if fmt.channels == 2:
        out = np.stack([out, SECOND_CHANNEL_GAIN * out], axis=1)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    return out * (PEAK / peak) if peak > PEAK else out


def encode(signal: Signal, fmt: Format) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, signal, fmt.sample_rate, subtype=fmt.subtype, format="WAV")
    return zero_peak_timestamp(buffer.getvalue())


def zero_peak_timestamp(wav: bytes) -> bytes:
    """libsndfile stamps float WAVs' PEAK chunk with the current time; zero it so that two builds
    give the same bytes."""
    out = bytearray(wav)
    pos = 12
    while pos + 8 <= len(out):
        size = int.from_bytes(out[pos + 4 : pos + 8], "little")
        if out[pos : pos + 4] == b"PEAK":
            out[pos + 12 : pos + 16] = bytes(4)
        pos += 8 + size + (size & 1)
    return bytes(out)


def render(spec: Spec, tracks: Sequence[Signal]) -> bytes:
    speech = speech_for(spec)
    noise = noise_for(spec, len(speech), tracks)
    mixed = speech if noise is None or spec.snr_db is None else mix(speech, noise, spec.snr_db, ESPEAK_RATE)
    return encode(to_format(mixed, spec.format), spec.format)
