"""Virtual microphone and speaker for tests, on a machine with no sound card.

A PulseAudio daemon of the test's own runs with a null sink (the speaker; record it from
its monitor) and a pipe source (the microphone; whatever is written to the FIFO is
"heard"). The FIFO is kept fed with silence between utterances, because a capture stream
blocks once its writer closes. `make setup` installs pulseaudio; this module starts it.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from tests.conftest import scaled
from voice.audio.decode import Audio, pcm16_to_float

BLOCK_SECONDS = 0.05
RATE = 16_000
BLOCK_BYTES = int(RATE * BLOCK_SECONDS) * 2
SILENT = 0.01
"""A recorded sample below this (full scale 1.0) is the null sink's silence."""
SPEAKER_SINK = "voicefaq_test_spk"
"""The null sink `virtual_audio` makes the default speaker."""
MICROPHONE_SOURCE = "voicefaq_test_mic"
"""The pipe source `virtual_audio` makes the default microphone."""


class VirtualMicrophone:
    """Writes queued 16 kHz mono 16-bit PCM into the pipe source in real time."""

    def __init__(self, fifo: Path, source: str = "") -> None:
        self._fifo = fifo
        self.source = source
        """The PulseAudio source it feeds."""
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

    def wait_for_listener(self, seconds: float = 60) -> None:
        """Until a program records from this microphone: audio said before its stream opens
        is lost, and a program loading a speech model first opens it seconds later on a busy
        machine than on an idle one. Raises TimeoutError after `scaled(seconds)`."""
        deadline = time.monotonic() + scaled(seconds)
        while not _recording_streams(self.source):
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing opened the virtual microphone {self.source}")
            time.sleep(0.05)

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
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=2)


def _pactl(*args: str) -> str:
    done = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=20, check=False)
    if done.returncode:
        raise RuntimeError(f"pactl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _recording_streams(source: str) -> int:
    """How many streams record from the PulseAudio source named `source`."""
    sources = [line.split("\t") for line in _pactl("list", "short", "sources").splitlines()]
    wanted = {fields[0] for fields in sources if fields[1] == source}  # index, name, driver, ...
    outputs = [line.split("\t") for line in _pactl("list", "short", "source-outputs").splitlines()]
    return sum(fields[1] in wanted for fields in outputs)  # index, source index, client, ...


@contextmanager
def virtual_audio(tmp_dir: Path) -> Iterator[VirtualMicrophone]:
    """A PulseAudio daemon of this test's own, with the virtual microphone as default source
    and a null sink as default speaker; yields the microphone's feeder.

    Its own daemon, not the machine's: test runs sharing one daemon heard each other. When a
    run unloads its sink while a stream still plays to it, PulseAudio moves the stream to the
    default sink, which another run had just made its own: a recording of "walker" held
    another run's answer about falls. PULSE_SERVER points this process and its children at
    the private daemon; PULSE_SINK/PULSE_SOURCE pick its devices."""
    missing = [tool for tool in ("pulseaudio", "pactl") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} missing; run `make setup` (apt-get install pulseaudio)")
    runtime = tmp_dir / "pulse"
    runtime.mkdir()
    fifo, sink, source = tmp_dir / "mic.fifo", SPEAKER_SINK, MICROPHONE_SOURCE
    settings = {
        "PULSE_SERVER": f"unix:{runtime / 'native'}",
        "PULSE_RUNTIME_PATH": str(runtime),
        "PULSE_STATE_PATH": str(runtime),
        "PULSE_SINK": sink,
        "PULSE_SOURCE": source,
    }
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    modules = [
        f"module-native-protocol-unix socket={runtime / 'native'} auth-anonymous=1",
        f"module-null-sink sink_name={sink}",
        f"module-pipe-source source_name={source} file={fifo} format=s16le rate={RATE} channels=1",
    ]
    with open(tmp_dir / "pulseaudio.log", "wb") as log:
        # -n: none of the machine's default.pa (no sound card to look for, no other sockets).
        daemon = subprocess.Popen(
            ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no"]
            + ["--log-target=stderr", *(f"-L{module}" for module in modules)],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    microphone = VirtualMicrophone(fifo, source)
    try:
        deadline = time.monotonic() + scaled(10)
        while subprocess.run(
            ["pactl", "info"], capture_output=True, timeout=scaled(10), check=False
        ).returncode:
            if daemon.poll() is not None or time.monotonic() > deadline:
                journal = (tmp_dir / "pulseaudio.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"PulseAudio did not start; run `make setup`. Its log:\n{journal}")
            time.sleep(0.05)
        _pactl("set-default-sink", sink)
        _pactl("set-default-source", source)
        microphone.start()
        yield microphone
    finally:
        microphone.stop()
        daemon.terminate()
        try:
            daemon.wait(timeout=scaled(10))
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
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

    def wait_for_more(self, audio_s: float, seconds: float = 30) -> None:
        """Until `audio_s` more seconds of audio have been recorded: a wait in the speaker's
        own time, which a busy machine does not shorten. TimeoutError after `scaled(seconds)`."""
        target = len(self.pcm16()) + 2 * int(audio_s * RATE)
        deadline = time.monotonic() + scaled(seconds)
        while len(self.pcm16()) < target:
            if time.monotonic() > deadline:
                raise TimeoutError("the speaker's recording stopped growing")
            time.sleep(0.02)

    def settle(self, quiet_s: float = 0.4, seconds: float = 30) -> None:
        """Until everything played so far has reached the recording: it has grown by
        `quiet_s` and ends in `quiet_s` of silence. TimeoutError after `scaled(seconds)`."""
        deadline = time.monotonic() + scaled(seconds)
        self.wait_for_more(quiet_s, seconds)
        while float(np.max(np.abs(self.audio().samples[-int(quiet_s * RATE) :]), initial=0.0)) > SILENT:
            if time.monotonic() > deadline:
                raise TimeoutError("the speaker never fell silent")
            time.sleep(0.02)


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
        deadline = time.monotonic() + scaled(10)
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


class CaptionedProgram:
    """A voicefaq command in a child process, its plain captions collected line by line as
    they come, for tests to wait on."""

    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.decode("utf-8", "replace"))

    def wait_for(self, pattern: str, seconds: float = 60, since: int = 0) -> str:
        """Captions from line `since` on, once they match `pattern` (over joined lines);
        fails the test after `scaled(seconds)`."""
        import pytest

        deadline = time.monotonic() + scaled(seconds)
        while time.monotonic() < deadline:
            try:
                self.output.append(self.lines.get(timeout=0.1))
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
            text = " ".join(" ".join(self.output[since:]).split())
            if re.search(pattern, text, re.IGNORECASE):
                return text
        pytest.fail(f"no caption matching {pattern!r}; captions were:\n{''.join(self.output)}")

    def press_key(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b" ")
        self.process.stdin.flush()

    def stop(self, terminate: bool = True) -> int:
        """Its exit status; it is terminated first unless `terminate` is false (then it is
        waited for), and killed if it will not end."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        if terminate:
            self.process.terminate()
        try:
            return self.process.wait(timeout=scaled(60))
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._reader.join(timeout=5)
            assert self.process.stdout is not None
            self.process.stdout.close()
