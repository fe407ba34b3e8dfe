"""The speaker, exercised through PulseAudio virtual devices: what is played is recorded
from the null sink's monitor (no sound card here)."""

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from tests.conftest import scaled, understood
from tests.virtual_audio import VirtualMicrophone, record_speaker, virtual_audio
from voice.asr import Recognizer, load_recognizer
from voice.audio.decode import SAMPLE_RATE, Audio
from voice.audio.speaker import Speaker, find_output
from voice.conversation.events import VoiceSettings
from voice.errors import AudioDeviceError
from voice.speech.tts import Speech, load_synthesizer

LOUD = 0.02
"""A recorded sample above this (full scale 1.0) is sound, not the null sink's silence."""


@pytest.fixture(scope="module")
def virtual(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualMicrophone]:
    with virtual_audio(tmp_path_factory.mktemp("pulse")) as microphone:
        yield microphone


@pytest.fixture(scope="module")
def speaker(virtual: VirtualMicrophone) -> Iterator[Speaker]:
    with Speaker("pulse") as opened:
        yield opened


@pytest.fixture(scope="module")
def whisper() -> Recognizer:
    return load_recognizer("whisper")


def _tone(hz: float, seconds: float, rate: int) -> Speech:
    t = np.arange(int(seconds * rate)) / rate
    return Speech((0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32), rate, "")


def _sounding_seconds(audio: Audio) -> float:
    """From the first to the last loud sample."""
    loud = np.flatnonzero(np.abs(audio.samples) > LOUD)
    return 0.0 if not len(loud) else (loud[-1] - loud[0]) / SAMPLE_RATE


def _dominant_hz(audio: Audio) -> float:
    loud = np.flatnonzero(np.abs(audio.samples) > LOUD)
    sound = audio.samples[loud[0] : loud[-1]]
    spectrum = np.abs(np.fft.rfft(sound * np.hanning(len(sound))))
    return float(np.fft.rfftfreq(len(sound), 1 / SAMPLE_RATE)[spectrum.argmax()])


def test_finds_output_devices(virtual: VirtualMicrophone) -> None:
    pulse = find_output("pulse")
    assert pulse.name == "pulse" and pulse.output_channels > 0
    assert find_output(str(pulse.index)) == pulse
    assert find_output().is_default_output


def test_unknown_output_device_names_the_alternatives_and_files(virtual: VirtualMicrophone) -> None:
    with pytest.raises(
        AudioDeviceError,
        match=r"no output device matches 'studio monitors'; output devices: .*pulse.*--out FILE\.wav",
    ):
        find_output("studio monitors")


@pytest.mark.parametrize("rate", [8_000, 22_050, 48_000])
def test_plays_all_of_it_at_any_rate(speaker: Speaker, rate: int) -> None:
    tone = _tone(440.0, 1.0, rate)
    started = []
    with record_speaker() as recording:
        assert speaker.play(tone, on_first_sample=lambda: started.append(time.monotonic())) is True
        recording.settle()  # everything played has reached the recording
    heard = recording.audio()
    assert len(started) == 1
    assert abs(_sounding_seconds(heard) - 1.0) < 0.1  # resampled to the device rate, not sped up
    assert abs(_dominant_hz(heard) - 440.0) < 10


@pytest.mark.whisper
def test_a_spoken_sentence_is_heard(speaker: Speaker, whisper: Recognizer) -> None:
    said = "Your physical therapist can help you choose a walker."
    speech = load_synthesizer().synthesize(said, VoiceSettings(voice="en-us"))
    with record_speaker() as recording:
        assert speaker.play(speech)
        recording.settle()  # everything played has reached the recording
    heard = whisper.transcribe(recording.audio()).text.lower()
    assert understood(said, heard), heard


def test_stop_cuts_the_speech_short(speaker: Speaker) -> None:
    speech = load_synthesizer().synthesize(
        "Stretching and range of motion exercises can help ease the stiffness in your legs, "
        "and improve your ability to sit upright in your wheelchair for longer.",
        VoiceSettings(),
    )
    assert speech.seconds > 6
    stop = threading.Event()
    with record_speaker() as recording:
        played = speaker.play(speech, stop, on_first_sample=lambda: threading.Timer(1.0, stop.set).start())
        recording.settle()  # everything played has reached the recording
    assert played is False
    # Stopped 1 s in; a busy machine runs the timer and the stop check late, never 5 s late.
    assert 0.5 < _sounding_seconds(recording.audio()) < 1.0 + scaled(0.5, cap=4.0)
    assert speaker.play(_tone(440.0, 0.2, 22_050)) is True  # the speaker still works after a stop


def test_an_already_set_stop_plays_nothing(speaker: Speaker) -> None:
    stop = threading.Event()
    stop.set()
    with record_speaker() as recording:
        assert speaker.play(_tone(440.0, 1.0, 22_050), stop) is False
        recording.settle()  # everything played has reached the recording
    assert _sounding_seconds(recording.audio()) == 0.0


def test_an_error_in_on_first_sample_reaches_the_caller(speaker: Speaker) -> None:
    def broken() -> None:
        raise ValueError("benchmark bug")

    with pytest.raises(ValueError, match="benchmark bug"):
        speaker.play(_tone(440.0, 0.2, 22_050), on_first_sample=broken)


def test_playing_needs_an_open_speaker(virtual: VirtualMicrophone) -> None:
    with pytest.raises(RuntimeError, match="with Speaker"):
        Speaker("pulse").play(_tone(440.0, 0.1, 22_050))
