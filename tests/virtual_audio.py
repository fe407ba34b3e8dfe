"""Virtual microphone and speaker for tests, on a machine with no sound card.

PulseAudio runs with a null sink (the speaker; record it from its monitor) and a
pipe source (the microphone; whatever is written to the FIFO is "heard"). The FIFO
is kept fed with silence between utterances, because a capture stream blocks once
its writer closes. `make setup` installs pulseaudio; this module starts it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from voice.audio.decode import Audio, pcm16_to_float

BLOCK_SECONDS = 0.05
RATE = 16_000
BLOCK_BYTES = int(RATE * BLOCK_SECONDS) * 2
SPEAKER_SINK = "voicefaq_test_spk"
"""The null sink `virtual_audio` makes the default speaker (with this process's id appended)."""


class VirtualMicrophone:
    """Writes queued 16 kHz mono 16-bit PCM into the pipe source in real time."""

    def __init__(self, fifo: Path) -> None:
        self._fifo = fifo
        self._pending = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.spoken = threading.Event()
        """Set when everything queued has been written."""

    def say(self, pcm16: bytes) -> None:
        with self._lock:
            self.spoken.clear()
            self._pending += pcm16

    def _run(self) -> None:
        descriptor = os.open(self._fifo, os.O_WRONLY)
        started, blocks = time.monotonic(), 0
        try:
            while not self._stop.is_set():
                with self._lock:
                    block = bytes(self._pending[:BLOCK_BYTES])
                    del self._pending[:BLOCK_BYTES]
                    if not self._pending:
                        self.spoken.set()
                try:
                    os.write(descriptor, block.ljust(BLOCK_BYTES, b"\0"))
                except BrokenPipeError:  # the source was unloaded while this write waited
                    return
                blocks += 1
                time.sleep(max(0.0, started + blocks * BLOCK_SECONDS - time.monotonic()))
        finally:
            os.close(descriptor)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def _pactl(*args: str) -> str:
    done = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=20, check=False)
    if done.returncode:
        raise RuntimeError(f"pactl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _ensure_daemon() -> None:
    if subprocess.run(["pactl", "info"], capture_output=True, timeout=10, check=False).returncode == 0:
        return
    subprocess.run(["pulseaudio", "-D", "--exit-idle-time=-1"], capture_output=True, timeout=30, check=False)
    for _ in range(50):
        if subprocess.run(["pactl", "info"], capture_output=True, timeout=10, check=False).returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError("PulseAudio did not start; run `make setup` (it installs pulseaudio)")


@contextmanager
def virtual_audio(tmp_dir: Path) -> Iterator[VirtualMicrophone]:
    """A running PulseAudio with the virtual microphone as default source and a null
    sink as default speaker; yields the microphone's feeder."""
    missing = [tool for tool in ("pulseaudio", "pactl") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} missing; run `make setup` (apt-get install pulseaudio)")
    _ensure_daemon()
    fifo = tmp_dir / "mic.fifo"
    # Names of this process's own, so that test runs sharing one PulseAudio daemon do
    # not hear each other; PULSE_SINK/PULSE_SOURCE send this process's streams there
    # even if another run changes the server's defaults.
    sink, source = f"{SPEAKER_SINK}_{os.getpid()}", f"voicefaq_test_mic_{os.getpid()}"
    modules = [
        _pactl("load-module", "module-null-sink", f"sink_name={sink}"),
        _pactl(
            "load-module",
            "module-pipe-source",
            f"source_name={source}",
            f"file={fifo}",
            "format=s16le",
            f"rate={RATE}",
            "channels=1",
        ),
    ]
    _pactl("set-default-sink", sink)
    _pactl("set-default-source", source)
    saved = {name: os.environ.get(name) for name in ("PULSE_SINK", "PULSE_SOURCE")}
    os.environ.update(PULSE_SINK=sink, PULSE_SOURCE=source)
    microphone = VirtualMicrophone(fifo)
    microphone.start()
    try:
        yield microphone
    finally:
        microphone.stop()
        for module in reversed(modules):
            subprocess.run(["pactl", "unload-module", module], capture_output=True, timeout=20, check=False)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class SpeakerRecording:
    """What `record_speaker` has heard so far, as 16 kHz mono 16-bit PCM."""

    def __init__(self) -> None:
        self._pcm = bytearray()
        self._lock = threading.Lock()

    def _add(self, data: bytes) -> None:
        with self._lock:
            self._pcm += data

    def pcm16(self) -> bytes:
        with self._lock:
            return bytes(self._pcm[: len(self._pcm) // 2 * 2])

    def audio(self) -> Audio:
        return Audio(pcm16_to_float(self.pcm16()), RATE, 1)


@contextmanager
def record_speaker(sink: str | None = None) -> Iterator[SpeakerRecording]:
    """Record what is played to the virtual speaker (the null sink's monitor) with `parec`,
    from now until the block ends. Needs `virtual_audio` to be running."""
    sink = sink or os.environ.get("PULSE_SINK", SPEAKER_SINK)
    if shutil.which("parec") is None:
        raise RuntimeError("parec missing; run `make setup` (apt-get install pulseaudio-utils)")
    recording = SpeakerRecording()
    process = subprocess.Popen(
        [
            "parec",
            f"--device={sink}.monitor",
            "--format=s16le",
            f"--rate={RATE}",
            "--channels=1",
            "--raw",
            "--latency-msec=20",  # deliver promptly: callers read the recording while it grows
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )

    def read() -> None:
        assert process.stdout is not None
        while chunk := process.stdout.read1(4096):
            recording._add(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        # A PulseAudio sink renders nothing for up to 2 s after its first client
        # connects: start only once the monitor delivers, so nothing played is missed.
        deadline = time.monotonic() + 10
        while not recording.pcm16():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"parec recorded nothing from {sink}.monitor; is `virtual_audio` running?")
            time.sleep(0.01)
        yield recording
    finally:
        process.terminate()
        process.wait(timeout=10)
        reader.join(timeout=5)
        assert process.stdout is not None
        process.stdout.close()
