import shutil
import subprocess

import numpy as np
import pytest

from voice.audio.decode import SAMPLE_RATE, Audio, float_to_pcm16, read
from voice.audio.vad import Endpoint, EndpointConfig, Endpointer, EndpointKind, speech_seconds


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is needed for the VAD tests: apt-get install espeak-ng"
    wav = tmp_path_factory.mktemp("vad") / "q.wav"
    subprocess.run(
        [espeak, "-s", "120", "-w", str(wav), "is my physio the same as a physiatrist"], check=True
    )
    samples = read(wav).samples
    voiced = np.flatnonzero(np.abs(samples) > 0.01)
    return samples[voiced[0] : voiced[-1] + 1]  # espeak's own silence trimmed: pauses are ours


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


def _run(endpointer: Endpointer, samples: np.ndarray, chunk_bytes: int = 3200) -> list[Endpoint]:
    pcm = float_to_pcm16(samples)
    events: list[Endpoint] = []
    for start in range(0, len(pcm), chunk_bytes):
        events += endpointer.feed(pcm[start : start + chunk_bytes])
    return events


_PAUSES = {EndpointKind.PAUSED, EndpointKind.STILL_LISTENING}


def _kinds(events: list[Endpoint], pauses: bool = False) -> list[EndpointKind]:
    return [event.kind for event in events if pauses or event.kind not in _PAUSES]


def test_a_pause_shorter_than_the_end_silence_keeps_one_utterance(speech: np.ndarray) -> None:
    audio = np.concatenate([_silence(0.5), speech, _silence(1.0), speech, _silence(2.0)])
    events = _run(Endpointer(EndpointConfig(end_silence_s=1.5)), audio)
    assert _kinds(events) == [EndpointKind.SPEECH_STARTED, EndpointKind.SPEECH_ENDED]
    spoken = len(events[-1].pcm16) / 2 / SAMPLE_RATE
    assert spoken == pytest.approx(2 * len(speech) / SAMPLE_RATE + 1.0 + 1.5, abs=0.5)


def test_a_pause_longer_than_the_end_silence_splits(speech: np.ndarray) -> None:
    audio = np.concatenate([_silence(0.5), speech, _silence(1.0), speech, _silence(1.0)])
    events = _run(Endpointer(EndpointConfig(end_silence_s=0.6)), audio)
    assert _kinds(events) == [EndpointKind.SPEECH_STARTED, EndpointKind.SPEECH_ENDED] * 2


def test_the_end_silence_is_adjustable_for_slow_speakers(speech: np.ndarray) -> None:
    audio = np.concatenate([speech, _silence(2.5), speech, _silence(3.5)])
    patient = _run(Endpointer(EndpointConfig(end_silence_s=3.0)), audio)
    assert _kinds(patient).count(EndpointKind.SPEECH_ENDED) == 1


def test_a_pause_sends_the_audio_so_far_before_the_end(speech: np.ndarray) -> None:
    audio = np.concatenate([_silence(0.5), speech, _silence(2.0)])
    events = _run(Endpointer(EndpointConfig(end_silence_s=1.5, pause_s=0.3)), audio)
    paused = [e for e in events if e.kind is EndpointKind.PAUSED]
    ended = events[-1]
    assert ended.kind is EndpointKind.SPEECH_ENDED and paused
    last = paused[-1]
    assert ended.at_s - last.at_s == pytest.approx(1.2, abs=0.05)
    assert ended.pcm16.startswith(last.pcm16)  # the same words, then more silence
    assert len(ended.pcm16) - len(last.pcm16) == pytest.approx(1.2 * SAMPLE_RATE * 2, abs=2000)


@pytest.mark.parametrize(
    ("end_silence_s", "still_listening_s", "cue_at"),
    [(1.5, None, None), (3.0, None, 2.0), (4.0, 1.5, 1.5), (2.0, 2.5, None)],
)
def test_still_listening_cue_in_a_long_pause(
    speech: np.ndarray, end_silence_s: float, still_listening_s: float | None, cue_at: float | None
) -> None:
    config = EndpointConfig(end_silence_s=end_silence_s, still_listening_s=still_listening_s)
    assert config.cue_after_s == cue_at
    events = _run(Endpointer(config), np.concatenate([speech, _silence(end_silence_s + 0.5)]))
    cues = [e for e in events if e.kind is EndpointKind.STILL_LISTENING]
    assert len(cues) == (0 if cue_at is None else 1)
    assert _kinds(events)[-1] is EndpointKind.SPEECH_ENDED


def test_chunk_size_does_not_change_the_result(speech: np.ndarray) -> None:
    audio = np.concatenate([_silence(0.4), speech, _silence(2.0)])
    results = {
        size: [(e.kind, e.at_s, len(e.pcm16)) for e in _run(Endpointer(), audio, size)]
        for size in (320, 961, 3200, 32000)
    }
    assert len(set(map(tuple, results.values()))) == 1


def test_the_utterance_keeps_a_pre_roll(speech: np.ndarray) -> None:
    events = _run(
        Endpointer(EndpointConfig(pre_roll_s=0.3)), np.concatenate([_silence(1.0), speech, _silence(2.0)])
    )
    utterance = np.frombuffer(events[-1].pcm16, dtype="<i2")
    assert np.abs(utterance[: int(0.1 * SAMPLE_RATE)]).max() < 100  # starts in the silence before speech


def test_max_length_ends_an_endless_utterance(speech: np.ndarray) -> None:
    audio = np.concatenate([speech] * 6)
    events = _run(Endpointer(EndpointConfig(max_utterance_s=4.0)), audio)
    assert EndpointKind.MAX_LENGTH in _kinds(events)
    ended = next(e for e in events if e.kind is EndpointKind.MAX_LENGTH)
    assert len(ended.pcm16) / 2 / SAMPLE_RATE == pytest.approx(4.0, abs=0.1)


def test_no_speech_timeout_is_reported_once_and_only_when_set() -> None:
    quiet = _silence(3.0)
    assert _run(Endpointer(), quiet) == []  # default: wait forever, no time limit
    events = _run(Endpointer(EndpointConfig(no_speech_timeout_s=1.0)), quiet)
    assert _kinds(events) == [EndpointKind.NO_SPEECH]
    assert events[0].at_s == pytest.approx(1.0, abs=0.05)


def test_flush_ends_an_utterance_in_progress(speech: np.ndarray) -> None:
    endpointer = Endpointer()
    _run(endpointer, np.concatenate([_silence(0.3), speech]))
    assert endpointer.in_speech
    (ended,) = endpointer.flush()
    assert ended.kind is EndpointKind.SPEECH_ENDED and ended.pcm16


def test_speech_seconds(speech: np.ndarray) -> None:
    assert speech_seconds(Audio(_silence(2.0), SAMPLE_RATE, 1)) == 0.0
    rng = np.random.default_rng(0)
    hiss = (rng.standard_normal(SAMPLE_RATE * 2) * 0.002).astype(np.float32)
    assert speech_seconds(Audio(hiss, SAMPLE_RATE, 1)) < 0.2
    assert speech_seconds(Audio(speech, SAMPLE_RATE, 1)) > 0.6 * len(speech) / SAMPLE_RATE


@pytest.mark.parametrize(
    "bad", [{"frame_ms": 25}, {"aggressiveness": 4}, {"end_silence_s": 0}, {"pause_s": 0}]
)
def test_config_is_validated(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        EndpointConfig(**bad)  # type: ignore[arg-type]
