"""Benchmark: `voicefaq wyoming` through the wyoming package's own client.

    .venv/bin/python -m tests.bench.bench_wyoming [--handle 1000] [--clients 10] [--asr 10]

The service runs in a child process on a free port and is timed once its speech engine
has loaded (one spoken question first). Three measurements:

- handle, one client: `transcript` -> `handled`/`not-handled`, sequential, questions of
  the quality set's kinds (answers, confirmations, fallbacks) in their own conversations;
- handle, `--clients` clients at once sending `--rate` transcripts a second in all
  (200, as the kiosk's /api/ask benchmark), open loop, the same questions shared out;
- asr: a 3 s spoken question (espeak-ng, padded with silence to 3.0 s) streamed in
  100 ms chunks, timed from `audio-stop` to `transcript`, `--asr` times.

Target (issue 14): handle p95 under 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import Event

ROOT = Path(__file__).resolve().parents[2]
P95_TARGET_MS = 20.0
QUESTIONS = (
    "what is a rollator",
    "what is a row later",
    "where do i park",
    "can physical therapy help with fatigue",
    "how do I exercise from a wheelchair",
    "help",
    "is a physical therapist the same as a physiatrist",
    "what should I do about heat sensitivity when I exercise",
)
SPOKEN = "Can a physical therapist help me choose a walking aid?"
ASR_SECONDS = 3.0


@contextmanager
def service(engine: str | None) -> Iterator[int]:
    command = [sys.executable, "-m", "voice", "wyoming", "--uri", "tcp://127.0.0.1:0"]
    if engine:
        command += ["--engine", engine]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    stderr = process.stderr
    try:
        found = None
        for line in stderr:
            found = re.search(r"on tcp://127\.0\.0\.1:(\d+)", line)
            if found:
                break
        if found is None:
            raise SystemExit("the service did not start")
        threading.Thread(target=lambda: [None for _ in stderr], daemon=True).start()
        yield int(found.group(1))
    finally:
        process.terminate()
        process.wait(timeout=30)
        stderr.close()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


async def handle_client(
    port: int, texts: list[str], name: str, rate: float | None = None, offset: float = 0.0
) -> list[float]:
    """Latencies in ms. With `rate` (requests/s) request i is due at start + i/rate and
    timed from then, however late the previous reply was (no coordinated omission);
    `offset` seconds staggers clients, so that they do not all send at the same instant."""
    times = []
    async with AsyncTcpClient("127.0.0.1", port) as client:
        begin = time.perf_counter() + offset
        for number, text in enumerate(texts):
            event = Transcript(text=text, context={"conversation_id": f"{name}-{number % 50}"}).event()
            started = time.perf_counter()
            if rate is not None:
                due = begin + number / rate
                await asyncio.sleep(max(0.0, due - started))
                started = due
            await client.write_event(event)
            reply = await client.read_event()
            times.append((time.perf_counter() - started) * 1000)
            assert reply is not None and reply.type in ("handled", "not-handled"), reply
    return times


def spoken_question() -> list[Event]:
    from tools.spoken_set import spoken

    samples = spoken(SPOKEN).samples[: int(ASR_SECONDS * 16_000)]
    padded = np.zeros(int(ASR_SECONDS * 16_000), dtype=np.float32)
    padded[: len(samples)] = samples
    pcm = (np.clip(padded, -1, 1) * 32767).astype("<i2").tobytes()
    step = 3200  # 100 ms
    return [
        Transcribe(language="en").event(),
        AudioStart(rate=16_000, width=2, channels=1).event(),
        *[
            AudioChunk(rate=16_000, width=2, channels=1, audio=pcm[i : i + step]).event()
            for i in range(0, len(pcm), step)
        ],
    ]


async def asr_once(port: int, events: list[Event]) -> tuple[float, str]:
    async with AsyncTcpClient("127.0.0.1", port) as client:
        for event in events:
            await client.write_event(event)
        started = time.perf_counter()
        await client.write_event(AudioStop().event())
        while True:
            reply = await client.read_event()
            assert reply is not None, "the service closed the connection"
            if Transcript.is_type(reply.type):
                return (time.perf_counter() - started) * 1000, Transcript.from_event(reply).text
            assert reply.type != "error", reply


def row(name: str, times: list[float]) -> str:
    return (
        f"| {name} | {len(times)} | {statistics.median(times):.1f} | {percentile(times, 95):.1f} "
        f"| {max(times):.1f} |"
    )


async def main(args: argparse.Namespace) -> None:
    with service(args.engine) as port:
        events = spoken_question()
        _, heard = await asr_once(port, events)  # loads the engine
        machine = f"{platform.node()} ({os.cpu_count()} CPUs), python {platform.python_version()}"
        print(f"# voicefaq wyoming on {machine}, load average {os.getloadavg()[0]:.1f}")
        print(f"# warm-up transcript: {heard!r}\n")
        texts = [QUESTIONS[i % len(QUESTIONS)] for i in range(args.handle)]
        one = await handle_client(port, texts, "one")
        share = [texts[i :: args.clients] for i in range(args.clients)]
        rate = args.rate / args.clients
        many = await asyncio.gather(
            *(handle_client(port, part, f"c{i}", rate, i / args.rate) for i, part in enumerate(share))
        )
        flat = [t for part in many for t in part]
        asr = [(await asr_once(port, events))[0] for _ in range(args.asr)]
        print("| measurement | n | median ms | p95 ms | max ms |")
        print("|---|---|---|---|---|")
        print(row("handle, 1 client", one))
        print(row(f"handle, {args.clients} clients, {args.rate:.0f}/s in all (open loop)", flat))
        print(row(f"asr, audio-stop to transcript ({ASR_SECONDS:.0f} s question)", asr))
        p95 = max(percentile(one, 95), percentile(flat, 95))
        verdict = "meets" if p95 < P95_TARGET_MS else "MISSES"
        print(f"\nhandle p95 {p95:.1f} ms {verdict} the {P95_TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--handle", type=int, default=1000, help="transcripts to handle (default %(default)s)"
    )
    parser.add_argument("--clients", type=int, default=10, help="clients at once (default %(default)s)")
    parser.add_argument(
        "--rate", type=float, default=200.0, help="requests/s from all clients (default %(default)s)"
    )
    parser.add_argument("--asr", type=int, default=10, help="spoken questions (default %(default)s)")
    parser.add_argument("--engine", choices=("whisper", "vosk"), help="speech engine (default: the default)")
    asyncio.run(main(parser.parse_args()))
