"""Audio a careless or hostile user hands over: decode bombs, endless and stalled inputs.

Each is refused with a message that says what is wrong, before it costs more than a
normal question's audio (a two-minute recording decodes to a few MB of samples).
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.hostile.conftest import in_process, run_measured
from voice.audio.decode import MAX_FILE_BYTES, decode, read
from voice.errors import AudioFormatError, AudioTooLargeError

NORMAL_DECODE_MB = 60.0
"""Peak allocations decoding the largest recording accepted (120 s of 48 kHz stereo)
stays under this; a bomb must not cost more than a fine file may."""


def _flac(rate: int, channels: int, seconds: float) -> bytes:
    """Silence compresses to almost nothing: 119 s of 8 channels is under 1 MB of FLAC."""
    buffer = io.BytesIO()
    block = np.zeros((rate, channels), dtype=np.int16)
    with soundfile.SoundFile(buffer, "w", samplerate=rate, channels=channels, format="FLAC") as sound:
        for _ in range(int(seconds)):
            sound.write(block)
    return buffer.getvalue()


def _wav_claiming_few_frames(seconds: float) -> bytes:
    """A WAV whose header says 1 s but whose data runs on (a damaged or hostile header)."""
    rate = 16_000
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(rate, dtype=np.int16), rate, format="WAV", subtype="PCM_16")
    head = bytearray(buffer.getvalue())
    extra = np.zeros(int(rate * seconds), dtype="<i2").tobytes()
    head[4:8] = (0xFFFFFFFF).to_bytes(4, "little")  # RIFF size: "as long as the file"
    data_at = head.index(b"data")
    head[data_at + 4 : data_at + 8] = (0xFFFFFFFF).to_bytes(4, "little")
    return bytes(head) + extra


BOMBS: dict[str, Callable[[], bytes]] = {
    # The reported one: 683 KB that decoded to 2.9 GB.
    "8 channels at 655,350 Hz, 119 s": lambda: _flac(655_350, 8, 119),
    "8 channels at 192 kHz, 100 s": lambda: _flac(192_000, 8, 100),
    "stereo 48 kHz, 125 s": lambda: _flac(48_000, 2, 125),
    "header claiming 1 s, 130 s of data": lambda: _wav_claiming_few_frames(130),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_decode_bombs_are_refused_at_a_bounded_cost(name: str) -> None:
    data = BOMBS[name]()
    result, cost = in_process(lambda: decode(data, "bomb"))
    assert isinstance(result, AudioTooLargeError), result
    assert "bomb:" in str(result)
    assert cost.peak_mb < NORMAL_DECODE_MB, cost


def test_the_largest_accepted_recording_costs_what_the_bound_allows() -> None:
    """The yardstick above, measured: a fine two-minute 48 kHz stereo file decodes."""
    data = _flac(48_000, 2, 119)
    result, cost = in_process(lambda: decode(data, "fine"))
    assert not isinstance(result, BaseException), result
    assert cost.peak_mb < NORMAL_DECODE_MB, cost


def test_devices_are_refused_without_reading_them() -> None:
    result, cost = in_process(lambda: read("/dev/zero"))
    assert isinstance(result, AudioFormatError) and "is a device" in str(result)
    assert cost.peak_mb < 1


def test_a_pipe_without_a_writer_reads_as_empty_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "question.wav"
    os.mkfifo(fifo)
    done = threading.Event()
    outcome: list[BaseException | object] = []

    def probe() -> None:
        try:
            outcome.append(read(fifo))
        except AudioFormatError as exc:
            outcome.append(exc)
        done.set()

    threading.Thread(target=probe, daemon=True).start()
    assert done.wait(60), "reading a FIFO with no writer blocked"
    assert isinstance(outcome[0], AudioFormatError) and "empty" in str(outcome[0])


def test_a_huge_file_is_refused_from_its_size(tmp_path: Path) -> None:
    sparse = tmp_path / "huge.wav"
    with sparse.open("wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used, all zeros when read
    result, cost = in_process(lambda: read(sparse))
    assert isinstance(result, AudioTooLargeError) and "too large" in str(result)
    assert cost.peak_mb < 1  # refused from its size, nothing read


@pytest.mark.slow
@pytest.mark.parametrize(
    ("source", "message"),
    [("/dev/zero", "is a device"), ("bomb", "beyond what a question needs")],
)
def test_ask_audio_refuses_with_a_message_and_no_traceback(tmp_path: Path, source: str, message: str) -> None:
    if source == "bomb":
        source = str(tmp_path / "bomb.flac")
        Path(source).write_bytes(BOMBS["8 channels at 655,350 Hz, 119 s"]())
    ran = run_measured(["ask", "--audio", source])
    assert ran.code == 1 and message in ran.err, ran.err
    assert "Traceback" not in ran.err
    # Loading whisper is most of it (about 300 MB); the bomb itself would add gigabytes.
    assert ran.cost.peak_mb < 1000, ran.cost
