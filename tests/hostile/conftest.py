"""What the probes share: measuring a probe's cost, and a real `voicefaq serve` to probe.

Costs are measured, not guessed: a child's peak memory from the kernel (wait4's rusage,
or VmHWM for the running server), in-process allocations with tracemalloc. Their bounds
are generous multiples of what the same work costs when the input is fine, so they hold
on a slow or busy machine and still catch a cost that grows with the input. Time limits
are only guards against a hang, far above anything a healthy run takes.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "a-staff-token-long-enough-for-probes"
HANG_GUARD_S = 300.0
"""A probe still running after this is hung, whatever the machine."""
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Cost:
    seconds: float
    """Wall-clock seconds."""
    peak_mb: float
    """Peak resident memory of a child process, or peak Python allocations in process (MB)."""


@dataclass(frozen=True, slots=True)
class Ran:
    code: int
    out: str
    err: str
    cost: Cost


def run_measured(args: list[str], *, stdin: bytes | None = None) -> Ran:
    """`python -m voice ARGS` in a child, with its wall time and peak RSS.

    The peak is the child's own VmHWM, read while it runs: the kernel's rusage would also
    count what this test process held when it forked the child."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as inp:
        if stdin is not None:
            inp.write(stdin)
            inp.seek(0)
        started = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-m", "voice", *args],
            stdin=inp if stdin is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=ROOT,
        )
        peak = 0.0
        while child.poll() is None:
            try:
                peak = max(peak, peak_rss_mb(child.pid))
            except (OSError, AssertionError):  # it ended between poll() and the read
                pass
            if time.monotonic() - started > HANG_GUARD_S:
                child.kill()
            time.sleep(0.01)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return Ran(
            child.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            Cost(seconds, peak),
        )


def in_process(fn: Callable[[], T]) -> tuple[T | BaseException, Cost]:
    """What `fn()` returned or raised, with its time and peak Python (and numpy) allocations."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        result: T | BaseException = fn()
    except Exception as exc:  # the probe asserts on it
        result = exc
    seconds = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, Cost(seconds, peak / 1e6)


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for {pid}")


@dataclass
class Service:
    """A running `voicefaq serve` on a free port, its answers folder and its log."""

    url: str
    port: int
    pid: int
    answers: Path
    log: Path
    normal_ask_s: float = 0.0
    """Median seconds of a typed question before any probe: the yardstick for 'normal'."""

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)  # type: ignore[arg-type]

    def ask_seconds(self) -> float:
        with self.client() as client:
            started = time.monotonic()
            reply = client.post("/api/ask", json={"text": "what is a rollator"})
            assert reply.status_code == 200 and reply.json()["decision"] == "answer", reply.text
            return time.monotonic() - started

    def assert_healthy(self) -> None:
        """/healthz answers and a question is answered within its normal time (ten times the
        median before the probes, and never less than two seconds: a busy machine is slow,
        a starved service is far slower)."""
        with self.client() as client:
            assert client.get("/healthz").status_code == 200
        assert self.ask_seconds() <= max(2.0, 10 * self.normal_ask_s)

    def assert_log_clean(self) -> None:
        text = self.log.read_text(errors="replace")
        assert "Traceback" not in text, text[-3000:]


def start_service(folder: Path, *extra: str) -> tuple[Service, Callable[[], None]]:
    """`voicefaq serve --port 0 EXTRA` on a copy of the bundled set (the probes add files
    to it), with staff endpoints on and a review log in `folder`."""
    answers = folder / "answers"
    shutil.copytree(ROOT / "answers" / "ms-physical-therapy", answers)
    log = folder / "serve.log"
    env = {**os.environ, "VOICEFAQ_ADMIN_TOKEN": TOKEN, "XDG_STATE_HOME": str(folder / "state")}
    command = [sys.executable, "-m", "voice", "serve", "--port", "0", "--answers", str(answers), *extra]
    with log.open("w") as log_file:
        child = subprocess.Popen(
            command, stderr=subprocess.PIPE, stdout=log_file, text=True, env=env, cwd=ROOT
        )
    assert child.stderr is not None
    first = child.stderr.readline()
    found = re.search(r"on (http://127\.0\.0\.1:(\d+))/", first)
    assert found, f"unexpected first line: {first!r}"

    def copy_log() -> None:  # the rest of stderr, kept for assert_log_clean
        assert child.stderr is not None
        with child.stderr, log.open("a") as sink:
            for line in child.stderr:
                sink.write(line)
                sink.flush()

    copying = threading.Thread(target=copy_log, daemon=True)
    copying.start()

    def stop() -> None:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        copying.join(timeout=60)  # it closes stderr at its end

    running = Service(found.group(1), int(found.group(2)), child.pid, answers, log)
    running.normal_ask_s = statistics.median(running.ask_seconds() for _ in range(7))
    return running, stop


@pytest.fixture(scope="package")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One service for the package's HTTP probes."""
    running, stop = start_service(tmp_path_factory.mktemp("service"))
    try:
        yield running
    finally:
        stop()
