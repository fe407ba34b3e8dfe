"""Benchmark: the kiosk service under load, through a real `voicefaq serve`.

    .venv/bin/python -m tests.bench.bench_service               (every workload)
    .venv/bin/python -m tests.bench.bench_service --workload ask --rate 200 --seconds 10

The service runs in a child process on a free port, with its review log on (fallbacks
and confirms are written to SQLite as in use), and is timed once its speech engine has
loaded. The "ask" workload is open-loop: request i is sent at start + i/rate whatever
happened to earlier ones, and its latency counts from that planned moment, so a server
that falls behind shows it (no coordinated omission). CPU is the server process's
user+system time over the run.

Target (issue 5): /api/ask p95 under 20 ms at 200 requests/s on 2 cores, no errors.

Adding a workload: write `async def name(server: Server, args: argparse.Namespace) ->
list[Row]` and add it to WORKLOADS; `--workload name` then runs it against the same
server, and its rows join the table. (The listening benchmark, 20 WebSocket sessions
streaming audio in real time, belongs there.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.quality import DATA, load

ROOT = Path(__file__).resolve().parents[2]
P95_TARGET_MS = 20.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Server:
    """A running `voicefaq serve`."""

    url: str
    """Base URL, "http://127.0.0.1:PORT"."""
    pid: int


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the results table."""

    measure: str
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    cpu_percent: float
    """Server CPU time over the run, as a share of one core."""
    client_cpu_percent: float
    """The benchmark's own CPU time over the run, as a share of one core."""
    target: str
    met: bool


Workload = Callable[[Server, argparse.Namespace], Awaitable[list[Row]]]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


@contextmanager
def serve(answers: Path | None, engine_timeout_s: float = 120.0) -> Iterator[Server]:
    """`voicefaq serve --port 0` in a child process, ready and with its engine loaded."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "voice", "serve", "--port", "0"]
        command += ["--review-db", str(Path(folder) / "review.sqlite3")]
        if answers is not None:
            command += ["--answers", str(answers)]
        with subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=ROOT) as child:
            assert child.stderr is not None
            first = child.stderr.readline()
            found = re.search(r"on (http://[^/]+)/", first)
            if not found:
                child.kill()
                raise SystemExit(f"the service did not start: {first}{child.stderr.read()}")
            server = Server(found.group(1), child.pid)
            deadline = time.monotonic() + engine_timeout_s
            while not httpx.get(f"{server.url}/healthz").json()["engine_loaded"]:
                if time.monotonic() > deadline:
                    raise SystemExit("the speech engine did not load in time")
                time.sleep(0.2)
            try:
                yield server
            finally:
                child.terminate()
                child.wait(timeout=30)


async def ask(server: Server, args: argparse.Namespace) -> list[Row]:
    """POST /api/ask at a steady rate (open loop) with the dev and holdout questions."""
    questions = [row.text for name in ("dev.jsonl", "holdout.jsonl") for row in load(DATA / name)]
    total = int(args.rate * args.seconds)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=10) as client:
        for text in questions[:50]:  # warm: connections, caches, the thread pool
            await client.post("/api/ask", json={"text": text})

        async def one(number: int, planned: float) -> None:
            nonlocal errors
            await asyncio.sleep(max(0.0, planned - time.perf_counter()))
            try:
                response = await client.post("/api/ask", json={"text": questions[number % len(questions)]})
                if response.status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - planned) * 1000)

        cpu_before, client_before = cpu_seconds(server.pid), time.process_time()
        start = time.perf_counter() + 0.1
        await asyncio.gather(*(one(n, start + n / args.rate) for n in range(total)))
        elapsed = time.perf_counter() - start
        cpu = cpu_seconds(server.pid) - cpu_before
        client_cpu = time.process_time() - client_before
    p95 = percentile(latencies, 0.95)
    return [
        Row(
            f"POST /api/ask, {args.rate:g}/s for {args.seconds:g} s ({total} requests)",
            percentile(latencies, 0.5),
            p95,
            percentile(latencies, 0.99),
            errors,
            100 * cpu / elapsed,
            100 * client_cpu / elapsed,
            f"p95 < {P95_TARGET_MS:g} ms, 0 errors",
            p95 < P95_TARGET_MS and errors == 0,
        )
    ]


WORKLOADS: dict[str, Workload] = {"ask": ask}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--answers", type=Path, help="answers set (default: the bundled one)")
    parser.add_argument("--workload", choices=sorted(WORKLOADS), action="append", help="default: all")
    parser.add_argument("--rate", type=float, default=200.0, help="requests a second (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of a run (default %(default)s)")
    args = parser.parse_args()
    rows: list[Row] = []
    with serve(args.answers) as server:
        for name in args.workload or list(WORKLOADS):
            rows += asyncio.run(WORKLOADS[name](server, args))
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; client and server on the same machine\n"
    )
    print("| measure | p50 | p95 | p99 | errors | server CPU | client CPU | target |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row.measure} | {row.p50_ms:.1f} ms | {row.p95_ms:.1f} ms | {row.p99_ms:.1f} ms | "
            f"{row.errors} | {row.cpu_percent:.0f}% of a core | {row.client_cpu_percent:.0f}% | "
            f"{row.target} |"
        )
    missed = [row.measure for row in rows if not row.met]
    if missed:
        print(f"\nmissed target: {'; '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
