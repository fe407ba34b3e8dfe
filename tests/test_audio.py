import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from voice.audio.decode import (
    DENOISE_BELOW_DB,
    MAX_SECONDS,
    SAMPLE_RATE,
    Audio,
    decode,
    denoise,
    float_to_pcm16,
    noise_margin_db,
    pcm16_to_float,
    read,
)
from voice.errors import AudioFormatError


def _tone(rate: int, seconds: float = 1.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    wave = 0.5 * np.sin(2 * np.pi * 440 * t).astype(np.float32)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


def _encode(samples: np.ndarray, rate: int, fmt: str, subtype: str | None) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("rate", "channels", "fmt", "subtype"),
    [
        (16000, 1, "WAV", "PCM_16"),
        (8000, 1, "WAV", "PCM_U8"),
        (22050, 1, "WAV", "PCM_24"),
        (44100, 2, "WAV", "PCM_32"),
        (48000, 2, "WAV", "FLOAT"),
        (32000, 1, "WAV", "DOUBLE"),
        (44100, 1, "FLAC", "PCM_16"),
        (48000, 2, "OGG", "VORBIS"),
    ],
)
def test_decodes_common_formats_to_16k_mono(rate: int, channels: int, fmt: str, subtype: str) -> None:
    audio = decode(_encode(_tone(rate, channels=channels), rate, fmt, subtype), f"tone.{fmt.lower()}")
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.seconds == pytest.approx(1.0, abs=0.01)
    assert (audio.source_rate, audio.source_channels) == (rate, channels)
    # The 440 Hz tone survives resampling: its spectrum peaks at 440 Hz.
    spectrum = np.abs(np.fft.rfft(audio.samples))
    assert np.argmax(spectrum) * SAMPLE_RATE / len(audio.samples) == pytest.approx(440, abs=3)
    assert 0.3 < audio.rms < 0.4


def test_reads_a_real_espeak_recording(tmp_path: Path) -> None:
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is needed for the audio tests: apt-get install espeak-ng"
    wav = tmp_path / "q.wav"
    subprocess.run([espeak, "-w", str(wav), "what is a rollator"], check=True)
    audio = read(wav)
    assert audio.source_rate == 22050 and 0.8 < audio.seconds < 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"hello, this is not audio at all" * 10, "cannot read it as audio"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "cannot read it as audio"),  # header cut short
        (b"\x00" * 1000, "cannot read it as audio"),
    ],
)
def test_broken_input_gets_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(AudioFormatError, match=message):
        decode(data, "upload.wav")


def test_too_short_and_too_long_are_refused() -> None:
    with pytest.raises(AudioFormatError, match="too short"):
        decode(_encode(_tone(16000, 0.02), 16000, "WAV", "PCM_16"), "click.wav")
    long_silence = np.zeros(int(8000 * (MAX_SECONDS + 1)), dtype=np.float32)
    with pytest.raises(AudioFormatError, match="too long for one question"):
        decode(_encode(long_silence, 8000, "WAV", "PCM_U8"), "lecture.wav")


def test_a_header_without_samples_is_called_truncated() -> None:
    empty_wav = _encode(np.zeros(0, dtype=np.float32), 16000, "WAV", "PCM_16")
    with pytest.raises(AudioFormatError, match="no audio samples"):
        decode(empty_wav, "empty.wav")


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(AudioFormatError, match="no such file"):
        read(tmp_path / "missing.wav")
    with pytest.raises(AudioFormatError, match="is a folder"):
        read(tmp_path)


def test_pcm16_round_trip_and_odd_lengths() -> None:
    samples = np.array([0.0, 0.5, -0.5, 1.5, -1.5], dtype=np.float32)
    back = pcm16_to_float(float_to_pcm16(samples))
    assert np.allclose(back, np.clip(samples, -1, 1), atol=1e-4)
    with pytest.raises(AudioFormatError, match="even number of bytes"):
        pcm16_to_float(b"\x00\x01\x02")
    assert Audio(samples, 16000, 1).pcm16() == float_to_pcm16(samples)


def _question_in_pink_noise(snr_db: float | None) -> tuple[Audio, int]:
    """A spoken question after 0.5 s of lead-in, in pink noise; and the lead-in's length."""
    from tools.spoken_set import mix, pink_noise, spoken

    speech = spoken("should I use a walker or a cane", "en-us+m3").samples
    lead = SAMPLE_RATE // 2
    padded = np.concatenate([np.zeros(lead, dtype=np.float32), speech])
    if snr_db is not None:
        noise = pink_noise(len(padded), SAMPLE_RATE, np.random.default_rng(3))
        padded = mix(padded, noise, snr_db, SAMPLE_RATE)
    return Audio(padded.astype(np.float32), SAMPLE_RATE, 1), lead


def _level_db(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(samples))) + 1e-12))


@pytest.mark.parametrize("snr_db", [20.0, 10.0, 5.0])
def test_denoise_turns_steady_noise_down_and_keeps_the_speech(snr_db: float) -> None:
    clean, lead = _question_in_pink_noise(None)
    audio, _ = _question_in_pink_noise(snr_db)
    assert noise_margin_db(audio.samples) < DENOISE_BELOW_DB
    cleaned = denoise(audio.samples)
    assert cleaned.dtype == np.float32 and len(cleaned) == len(audio.samples)
    # The lead-in is noise alone: at least 10 dB quieter. The question keeps its shape.
    assert _level_db(cleaned[:lead]) < _level_db(audio.samples[:lead]) - 10
    assert np.corrcoef(cleaned[lead:], clean.samples[lead:])[0, 1] > 0.9


@pytest.mark.parametrize(
    "samples",
    [
        pytest.param(_question_in_pink_noise(None)[0].samples, id="clean speech"),
        pytest.param(np.full(1000, 0.1, dtype=np.float32), id="too short to tell"),
    ],
)
def test_denoise_leaves_clean_or_short_audio_alone(samples: np.ndarray) -> None:
    assert denoise(samples) is samples
