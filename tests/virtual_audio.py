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

BLOCK_SECONDS = 0.05
RATE = 16_000
BLOCK_BYTES = int(RATE * BLOCK_SECONDS) * 2


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
                os.write(descriptor, block.ljust(BLOCK_BYTES, b"\0"))
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
    modules = [
        _pactl("load-module", "module-null-sink", "sink_name=voicefaq_test_spk"),
        _pactl(
            "load-module",
            "module-pipe-source",
            "source_name=voicefaq_test_mic",
            f"file={fifo}",
            "format=s16le",
            f"rate={RATE}",
            "channels=1",
        ),
    ]
    _pactl("set-default-sink", "voicefaq_test_spk")
    _pactl("set-default-source", "voicefaq_test_mic")
    microphone = VirtualMicrophone(fifo)
    microphone.start()
    try:
        yield microphone
    finally:
        microphone.stop()
        for module in reversed(modules):
            subprocess.run(["pactl", "unload-module", module], capture_output=True, timeout=20, check=False)
