"""Benchmark: time to match one question, and time to load an answers set.

    make bench        (or: .venv/bin/python -m tests.bench.bench_matcher)

Targets (issue 2): median match time under 1 ms per question; answers set load
(parse, validate, build the matcher's index) under 100 ms. Prints a Markdown table
for docs/benchmarks.md and exits non-zero if a target is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from tools.quality import DATA, load
from voice.core.config import default_answers_dir
from voice.core.faq import load_set
from voice.core.matcher import Matcher

MATCH_TARGET_MS = 1.0
LOAD_TARGET_MS = 100.0


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--answers", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=5, help="passes over the question sets")
    parser.add_argument("--loads", type=int, default=30, help="how many times to load the set")
    args = parser.parse_args()
    directory = args.answers or default_answers_dir()

    load_ms: list[float] = []
    for _ in range(args.loads + 1):
        started = time.perf_counter()
        matcher = Matcher(load_set(directory))
        load_ms.append((time.perf_counter() - started) * 1000)
    load_ms = load_ms[1:]  # the first pays for imports and cold caches

    questions = [row.text for name in ("dev.jsonl", "holdout.jsonl") for row in load(DATA / name)]
    match_ms: list[float] = []
    for _ in range(args.rounds):
        for text in questions:
            started = time.perf_counter()
            matcher.match(text)
            match_ms.append((time.perf_counter() - started) * 1000)

    match_median = statistics.median(match_ms)
    load_median = statistics.median(load_ms)
    print(f"answers set: {directory} ({len(matcher.faq_set.entries)} entries)")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print()
    print("| measure | median | p95 | max | target |")
    print("|---|---|---|---|---|")
    print(
        f"| match one question ({len(questions)} questions x {args.rounds}) | {match_median:.3f} ms | "
        f"{_percentile(match_ms, 0.95):.3f} ms | {max(match_ms):.3f} ms | median < {MATCH_TARGET_MS:g} ms |"
    )
    print(
        f"| load answers set + build index ({args.loads} loads) | {load_median:.1f} ms | "
        f"{_percentile(load_ms, 0.95):.1f} ms | {max(load_ms):.1f} ms | < {LOAD_TARGET_MS:g} ms |"
    )
    missed = [
        name
        for name, value, target in (
            ("match", match_median, MATCH_TARGET_MS),
            ("load", load_median, LOAD_TARGET_MS),
        )
        if value >= target
    ]
    if missed:
        print(f"\nmissed target: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
