"""Benchmark: the kiosk service under load, through a real `voicefaq serve`.

    .venv/bin/python -m tests.bench.bench_service               (every workload)
    .venv/bin/python -m tests.bench.bench_service --workload ask --rate 200 --seconds 10
    .venv/bin/python -m tests.bench.bench_service --workload listen --sessions 20 --questions 1

The service runs in a child process on a free port, with its review log on (fallbacks
and confirms are written to SQLite as in use), and is timed once its speech engine has
loaded. The "ask" workload is open-loop: request i is sent at start + i/rate whatever
happened to earlier ones, and its latency counts from that planned moment, so a server
that falls behind shows it (no coordinated omission). CPU is the server process's
user+system time over the run.

Target (issue 5): /api/ask p95 under 20 ms at 200 requests/s on 2 cores, no errors.

Adding a workload: write `async def name(server: Server, args: argparse.Namespace) ->
list[Row]` and add it to WORKLOADS; `--workload name` then runs it against the same
server, and its rows join the table.

The "listen" workload: `--sessions` WebSocket sessions (20) each stream `--questions`
spoken questions (1) to /api/listen in real time, in 20 ms frames paced by the clock,
while typed questions arrive at `--listen-ask-rate` a second (50); it reports the time
from the end of each question's speech to its decision and to its spoken reply, and
/api/ask's latency meanwhile (same target).
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

from tools.quality import DATA, load

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


# --- listen: WebSocket sessions streaming spoken questions in real time ---------------

LISTEN_QUESTIONS = (
    "can my physical therapist help me choose a walking aid",
    "is a physical therapist the same as a physiatrist",
    "how can I exercise from a wheelchair",
    "what helps stiff legs when I am in a wheelchair",
    "can exercise help my fatigue",
)
LISTEN_VOICES = ("en-us", "en-us+f3", "en-us+m3")
FRAME_S = 0.02
"""The page's frame: 20 ms of 16 kHz 16-bit PCM."""
REPLY_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class _Spoken:
    pcm16: bytes
    """16 kHz mono 16-bit PCM."""
    last_voiced_s: float
    """Seconds from the start of `pcm16` to its last voiced sample."""


def _spoken_questions() -> list[_Spoken]:
    import numpy as np

    from tools.spoken_set import spoken
    from voice.audio.decode import SAMPLE_RATE

    questions = []
    for number, text in enumerate(LISTEN_QUESTIONS * len(LISTEN_VOICES)):
        audio = spoken(text, LISTEN_VOICES[number // len(LISTEN_QUESTIONS)])
        voiced = np.flatnonzero(np.abs(audio.samples) > 0.02)
        questions.append(_Spoken(audio.pcm16(), float(voiced[-1] + 1) / SAMPLE_RATE))
    return questions


@dataclass
class _Turn:
    """One question of one session: monotonic seconds (loop.time())."""

    speech_end: float = 0.0
    decision: float = 0.0
    speak: float = 0.0


async def _listen_session(
    server: Server, spoken: list[_Spoken], first: int, questions: int, stagger_s: float
) -> tuple[list[_Turn], int]:
    """One kiosk: the greeting acknowledged, then `questions` questions streamed in real time
    (20 ms frames paced by the clock, silence between them, as a page streams its microphone);
    each reply is stopped once received. Returns the turns and the number of errors."""
    import json

    from websockets.asyncio.client import connect

    loop = asyncio.get_running_loop()
    turns: list[_Turn] = []
    errors = 0
    replied, greeted = asyncio.Event(), asyncio.Event()
    ws_url = server.url.replace("http://", "ws://") + "/api/listen"
    async with connect(ws_url, origin=server.url, max_size=None) as ws:

        async def read() -> None:
            nonlocal errors
            async for message in ws:
                if isinstance(message, bytes):
                    continue  # a reply's WAV
                event = json.loads(message)
                kind = event["type"]
                if kind == "ready":
                    continue
                if kind == "error":
                    errors += 1
                elif kind == "speak" and event["kind"] == "notice" and not turns:
                    await ws.send(json.dumps({"type": "done", "speak_id": event["id"], "interrupted": False}))
                    greeted.set()
                elif kind == "decision" and turns and not turns[-1].decision:
                    turns[-1].decision = loop.time()
                elif kind == "speak" and turns and turns[-1].decision and not turns[-1].speak:
                    turns[-1].speak = loop.time()
                    replied.set()

        reader = asyncio.create_task(read())
        silence = bytes(int(FRAME_S * 16_000) * 2)
        next_at = loop.time() + stagger_s

        async def send(frame: bytes) -> None:
            nonlocal next_at
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            await ws.send(frame)
            next_at += FRAME_S

        frame_bytes = len(silence)
        deadline = loop.time() + REPLY_TIMEOUT_S
        while not greeted.is_set() and loop.time() < deadline:  # words over the greeting are ignored
            await send(silence)
        errors += not greeted.is_set()
        for number in range(questions):
            question = spoken[(first + number) % len(spoken)]
            for _ in range(int((0.5 + number % 3 * 0.5) / FRAME_S)):  # 0.5-1.5 s of silence first
                await send(silence)
            replied.clear()
            turns.append(_Turn())
            last_voiced_frame = int(question.last_voiced_s / FRAME_S)
            for index, start in enumerate(range(0, len(question.pcm16), frame_bytes)):
                await send(question.pcm16[start : start + frame_bytes].ljust(frame_bytes, b"\0"))
                if index == last_voiced_frame:
                    turns[-1].speech_end = loop.time()
            deadline = loop.time() + REPLY_TIMEOUT_S
            while not replied.is_set() and loop.time() < deadline:
                await send(silence)  # the microphone keeps streaming
            if not replied.is_set():
                errors += 1
            await ws.send(json.dumps({"type": "command", "command": "stop"}))
        reader.cancel()
    return turns, errors


async def listen(server: Server, args: argparse.Namespace) -> list[Row]:
    """`--sessions` WebSocket sessions stream spoken questions in real time, while typed
    questions arrive at `--listen-ask-rate` a second (open loop, as in `ask`)."""
    spoken = _spoken_questions()
    ask_latencies: list[float] = []
    ask_errors = 0
    streaming = True
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        for text in LISTEN_QUESTIONS:  # warm the connection
            await client.post("/api/ask", json={"text": text})

        async def ask_while_streaming() -> None:
            nonlocal ask_errors
            start, number, pending = time.perf_counter() + 1.0, 0, []

            async def one(planned: float) -> None:
                nonlocal ask_errors
                await asyncio.sleep(max(0.0, planned - time.perf_counter()))
                try:
                    response = await client.post("/api/ask", json={"text": LISTEN_QUESTIONS[number % 5]})
                    ask_errors += response.status_code != 200
                except httpx.HTTPError:
                    ask_errors += 1
                ask_latencies.append((time.perf_counter() - planned) * 1000)

            while streaming:
                planned = start + number / args.listen_ask_rate
                pending.append(asyncio.create_task(one(planned)))
                number += 1
                await asyncio.sleep(max(0.0, planned - time.perf_counter()))
            await asyncio.gather(*pending)

        cpu_before, client_before = cpu_seconds(server.pid), time.process_time()
        started = time.perf_counter()
        asker = asyncio.create_task(ask_while_streaming())
        sessions = await asyncio.gather(
            *(
                _listen_session(server, spoken, n, args.questions, stagger_s=n * 3.0 / args.sessions)
                for n in range(args.sessions)
            ),
            return_exceptions=True,
        )
        streaming = False
        await asker
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(server.pid) - cpu_before
        client_cpu = time.process_time() - client_before
    turns = [turn for result in sessions if not isinstance(result, BaseException) for turn in result[0]]
    errors = sum(result[1] if not isinstance(result, BaseException) else 1 for result in sessions)
    for result in sessions:
        if isinstance(result, BaseException):
            print(f"a session failed: {result!r}", file=sys.stderr)
    decided = [(t.decision - t.speech_end) * 1000 for t in turns if t.decision]
    spoken_at = [(t.speak - t.speech_end) * 1000 for t in turns if t.speak]
    errors += len(turns) - len(spoken_at)
    label = f"{args.sessions} sessions x {args.questions} questions each, in real time"
    usage = (100 * cpu / elapsed, 100 * client_cpu / elapsed)
    ask_p95 = percentile(ask_latencies, 0.95)
    return [
        Row(
            f"WS /api/listen, end of speech to decision ({label}; includes the 1.5 s end silence)",
            percentile(decided, 0.5),
            percentile(decided, 0.95),
            percentile(decided, 0.99),
            errors,
            *usage,
            "0 errors",
            errors == 0,
        ),
        Row(
            f"WS /api/listen, end of speech to speak + WAV ({len(spoken_at)} replies)",
            percentile(spoken_at, 0.5),
            percentile(spoken_at, 0.95),
            percentile(spoken_at, 0.99),
            errors,
            *usage,
            "0 errors",
            errors == 0,
        ),
        Row(
            f"POST /api/ask, {args.listen_ask_rate:g}/s meanwhile ({len(ask_latencies)} requests)",
            percentile(ask_latencies, 0.5),
            ask_p95,
            percentile(ask_latencies, 0.99),
            ask_errors,
            *usage,
            f"p95 < {P95_TARGET_MS:g} ms, 0 errors",
            ask_p95 < P95_TARGET_MS and ask_errors == 0,
        ),
    ]


WORKLOADS: dict[str, Workload] = {"ask": ask, "listen": listen}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--answers", type=Path, help="answers set (default: the bundled one)")
    parser.add_argument("--workload", choices=sorted(WORKLOADS), action="append", help="default: all")
    parser.add_argument("--rate", type=float, default=200.0, help="requests a second (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of a run (default %(default)s)")
    parser.add_argument("--sessions", type=int, default=20, help="listen: sessions (default %(default)s)")
    parser.add_argument("--questions", type=int, default=1, help="listen: asked by each (%(default)s)")
    parser.add_argument(
        "--listen-ask-rate",
        type=float,
        default=50.0,
        help="listen: typed questions a second meanwhile (default %(default)s)",
    )
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
