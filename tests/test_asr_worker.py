"""whisper in a child process (voice.asr.worker), as the kiosk service runs it: the same
transcripts as in-process, a lower priority, a crash that costs one call, not the service."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.spoken_set import spoken
from voice.asr.models import whisper_model_path
from voice.asr.whisper import WhisperRecognizer
from voice.asr.worker import ENGINE_NICE, WhisperProcess
from voice.audio.decode import Audio
from voice.errors import EngineStoppedError, ModelNotFoundError

pytestmark = pytest.mark.whisper

PROMPT = "Questions about MS physical therapy: physio, physiatrist, wheelchair, fatigue."


@pytest.fixture(scope="module")
def question() -> Audio:
    return spoken("how can I exercise from a wheelchair", "en-us")


@pytest.fixture(scope="module")
def engine() -> Iterator[WhisperProcess]:
    process = WhisperProcess(whisper_model_path(), prompt=PROMPT, threads=1)
    yield process
    process.close()


def _pid(engine: WhisperProcess) -> int:
    assert engine._process is not None
    pid: int = engine._process.pid
    return pid


def test_transcribes_as_in_process(engine: WhisperProcess, question: Audio) -> None:
    local = WhisperRecognizer(whisper_model_path(), prompt=PROMPT, threads=1).transcribe(question)
    remote = engine.transcribe(question)
    assert "wheelchair" in remote.text.lower()
    assert (remote.text, remote.alternatives, remote.engine) == (local.text, local.alternatives, "whisper")


def test_stream_reads_through_the_child(engine: WhisperProcess, question: Audio) -> None:
    stream = engine.stream(partial_interval_s=0.5)
    pcm16 = question.pcm16()
    partials = [stream.accept(pcm16[start : start + 3200]) for start in range(0, len(pcm16), 3200)]
    assert any(partial for partial in partials)
    assert "wheelchair" in stream.finish().text.lower()


def test_runs_at_a_lower_priority(engine: WhisperProcess) -> None:
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, _pid(engine)) == min(19, own + ENGINE_NICE)


def test_a_killed_child_costs_one_call_then_restarts(engine: WhisperProcess, question: Audio) -> None:
    old = _pid(engine)
    os.kill(old, signal.SIGKILL)
    with pytest.raises(EngineStoppedError, match=r"stopped \(exit code -9\).*starts again"):
        engine.transcribe(question)
    assert "wheelchair" in engine.transcribe(question).text.lower()
    assert _pid(engine) != old


def test_close_ends_the_child(question: Audio) -> None:
    engine = WhisperProcess(whisper_model_path(), threads=1)
    pid = _pid(engine)
    engine.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_missing_model_is_reported_from_the_child(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist; reinstall it"):
        WhisperProcess(tmp_path / "no-model")


def test_a_bad_call_raises_and_the_child_serves_on(engine: WhisperProcess, question: Audio) -> None:
    with pytest.raises(Exception) as raised:
        engine.transcribe("not audio")  # type: ignore[arg-type]
    assert not isinstance(raised.value, EngineStoppedError)
    assert "wheelchair" in engine.transcribe(question).text.lower()
