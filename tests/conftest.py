"""Shared fixtures and helpers: small answers sets, what whisper reliably hears, how slow this machine is."""

from __future__ import annotations

import functools
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from voice.asr.worker import ENGINE_NICE
from voice.core.config import default_answers_dir
from voice.core.faq import FaqSet
from voice.core.matcher import Decision, Matcher

# The fields `voicefaq ask --json` promises (issue 2).
JSON_FIELDS = frozenset(
    {"input", "decision", "entry_id", "question", "answer", "details", "score", "alternatives", "timings_ms"}
)

SET_YAML: dict[str, Any] = {
    "id": "tiny",
    "title": "Tiny test set",
    "source": {
        "title": "Test source",
        "author": "Test author",
        "last_reviewed": "2026",
        "sections": ["Walking aids", "Exercise", "Doctors"],
    },
    "disclaimer": "General information, not medical advice.",
    "fallback": "I'm not sure. I can answer questions about walking aids, exercise and doctors.",
    "emergencies": [
        {"id": "fall", "say": "Call 911 now.", "triggers": ["fell|fallen + can't get up|cannot get up"]},
        {"id": "chest", "say": "Chest pain: call 911.", "triggers": ["chest + pain|hurts"]},
    ],
    "synonyms": {"pt": ["physical therapist", "physio", "therapist"], "walker": ["rollator"]},
}

ENTRIES: list[dict[str, Any]] = [
    {
        "id": "walker",
        "question": "Should I use a walker?",
        "section": "Walking aids",
        "answer": "Your physical therapist can help you choose a walker.",
        "details": "A four-wheeled rollator walker is one option.",
        "phrasings": [
            "do i need a walker",
            "is a rollator right for me",
            "walker for balance",
            "help choosing a walker",
            "what walker should i get",
            "rollator walker",
        ],
        "keywords": ["walker", "rollator"],
        "related": ["cane"],
    },
    {
        "id": "cane",
        "question": "Should I use a cane?",
        "section": "Walking aids",
        "answer": "A cane may help with balance; your physical therapist can fit it.",
        "phrasings": [
            "do i need a cane",
            "is a walking stick good",
            "quad cane",
            "help choosing a cane",
            "what cane should i get",
            "cane for balance",
        ],
        "keywords": ["cane", "walking stick"],
        "related": ["walker"],
    },
    {
        "id": "physiatrist",
        "question": "Is a physical therapist the same as a physiatrist?",
        "section": "Doctors",
        "answer": "No. A physiatrist is a doctor of rehabilitation medicine.",
        "phrasings": [
            "what is a physiatrist",
            "physio versus physiatrist",
            "is my pt a physiatrist",
            "rehab doctor or physio",
            "who is the physiatrist",
            "difference between physiatrist and therapist",
        ],
        "keywords": ["physiatrist", "rehabilitation doctor"],
        "related": [],
    },
    {
        "id": "fatigue",
        "question": "Can exercise help my fatigue?",
        "section": "Exercise",
        "answer": "Aerobic exercise can help reduce fatigue.",
        "phrasings": [
            "i am always tired",
            "exercise for fatigue",
            "no energy",
            "does exercise help tiredness",
            "worn out all the time",
            "fatigue",
        ],
        "keywords": ["fatigue", "tired"],
        "related": [],
    },
    {
        "id": "spasticity",
        "question": "Can exercise help spasticity?",
        "section": "Exercise",
        "answer": "Stretching and range of motion exercises help spasticity.",
        "phrasings": [
            "my legs are stiff",
            "stretching for spasticity",
            "spastic muscles",
            "muscle spasms",
            "tight legs",
            "spasticity exercises",
        ],
        "keywords": ["spasticity", "stretching"],
        "related": [],
    },
]


def write_set(
    directory: Path, set_yaml: dict[str, Any] | None = None, entries: list[dict[str, Any]] | None = None
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "set.yaml").write_text(yaml.safe_dump(set_yaml or SET_YAML, sort_keys=False))
    (directory / "entries.yaml").write_text(
        yaml.safe_dump({"entries": ENTRIES if entries is None else entries}, sort_keys=False)
    )
    return directory


@pytest.fixture
def tiny_set(tmp_path: Path) -> Path:
    return write_set(tmp_path / "tiny")


@pytest.fixture(scope="session")
def bundled_set() -> Path:
    return default_answers_dir()


# Questions to the bundled set whose decisions the conversation tests lean on. The decision
# model may move one when it is refitted: pinned_matcher says which, to pick another.
FES = "what is functional electrical stimulation"  # answer: fes (no details)
PHYSIATRIST = "is my physio the same as a physiatrist"  # answer: pt-vs-physiatrist (details)
DEPRESSION = "can exercise help with depression"  # answer: depression
WALKER = "about a walker please"  # confirm: walking-aid-pain or mobility-aids
FOOT_DROP = "i have food drop"  # confirm: fes alone
TRANSFERS = "what about trans furs"  # confirm: transfers alone
PARK = "where do i park"  # fallback
FALL = "I fell in the bathroom and I can't get up"  # emergency: fall
CHEST = "my chest hurts"  # emergency: chest-pain
PINNED = {
    FES: (Decision.ANSWER, ("fes",)),
    PHYSIATRIST: (Decision.ANSWER, ("pt-vs-physiatrist",)),
    DEPRESSION: (Decision.ANSWER, ("depression",)),
    WALKER: (Decision.CONFIRM, ("walking-aid-pain", "mobility-aids")),
    FOOT_DROP: (Decision.CONFIRM, ("fes",)),
    TRANSFERS: (Decision.CONFIRM, ("transfers",)),
    PARK: (Decision.FALLBACK, ()),
    FALL: (Decision.EMERGENCY, ("fall",)),
    CHEST: (Decision.EMERGENCY, ("chest-pain",)),
}


def pinned_matcher(faq: FaqSet) -> Matcher:
    """A matcher for the bundled set, checked to decide PINNED as the tests expect."""
    matcher = Matcher(faq)
    for question, (decision, ids) in PINNED.items():
        match = matcher.match(question)
        found = match.entry or match.emergency
        named = (found.id,) if found else tuple(c.entry_id for c in match.offered)
        assert (match.decision, named) == (decision, ids), (
            f"{question!r} is now {match.decision.value} {named}: pick another question for PINNED"
        )
    return matcher


def understood(said: str, heard: str) -> bool:
    """Heard as said, by what whisper reads reliably in espeak-ng's speech: "physical
    therapist" and all but two of the longer words ("walker" was "walk" or "worker" in 2
    of 12 voices and rates tried, and never more than two such words were missed)."""
    words = set(re.findall(r"[a-z]{4,}", said.lower()))
    return (
        "physical therapist" in heard and len(words & set(re.findall(r"[a-z]{4,}", heard))) >= len(words) - 2
    )


# ---------------------------------------------------------------- machine speed

REFERENCE_S = 0.07
"""Seconds `_workload` takes on an idle 2-core x86-64 machine (the fastest of many runs here)."""
NICED_REFERENCE_S = 0.027
"""Seconds `_NICED_WORKLOAD`'s loop takes there, at any niceness."""
MOST_SLOWNESS = 10.0
"""Past this, a wait is not slowness but a hang: `scaled` waits no longer."""
_LOOP = "total = 0\nfor i in range(200_000):\n    total += i * i % 7\n"
_NICED_WORKLOAD = (
    f"import os, time\nos.nice({ENGINE_NICE})\nstarted = time.perf_counter()\n{_LOOP}"
    "print(time.perf_counter() - started)\n"
)
"""The service runs whisper at the lowest priority (voice.asr.worker.ENGINE_NICE): next to a
busy process of the same session it gets a small share of the CPU, and its answers take many
times longer than work at normal priority does. Timed in a child at that niceness."""


def _workload() -> float:
    """Seconds for a fixed bit of what the tests do a lot of: interpreted Python, then numpy
    on every core (whisper's own arithmetic is multi-threaded, and suffers most when the
    cores are shared)."""
    started = time.perf_counter()
    exec(_LOOP, {})
    matrix = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)
    for _ in range(8):
        matrix = np.tanh(matrix @ matrix / 256)
    return time.perf_counter() - started


def _niced_workload() -> float:
    """Seconds for the loop of `_workload` at the speech engine's niceness; a child that
    takes past all measure counts as MOST_SLOWNESS."""
    most = NICED_REFERENCE_S * MOST_SLOWNESS
    try:
        done = subprocess.run(
            [sys.executable, "-c", _NICED_WORKLOAD], capture_output=True, text=True, timeout=30, check=True
        )
        return float(done.stdout)
    except (subprocess.SubprocessError, ValueError):
        return most


@functools.cache
def slowness() -> float:
    """How many times slower than an idle 2-core machine this one runs now, 1 to
    MOST_SLOWNESS: the median of three timings of `_workload`, or of `_niced_workload` when
    that is slower still, measured once a session (pytest_configure), so that a machine
    other work keeps busy gets longer waits."""
    normal = statistics.median(_workload() for _ in range(3)) / REFERENCE_S
    niced = statistics.median(_niced_workload() for _ in range(3)) / NICED_REFERENCE_S
    return min(MOST_SLOWNESS, max(1.0, normal, niced))


def scaled(seconds: float, cap: float | None = None) -> float:
    """`seconds`, enough for a wait on an idle 2-core machine, stretched by `slowness`, but
    never past `cap` (default MOST_SLOWNESS times `seconds`), so a hung test still ends.
    For waits on a condition; a test that can wait for a condition should never sleep."""
    return min(seconds * slowness(), seconds * MOST_SLOWNESS if cap is None else cap)


def pytest_configure(config: pytest.Config) -> None:
    slowness()


def pytest_report_header(config: pytest.Config) -> str:
    return f"machine slowness: {slowness():.1f}x an idle 2-core machine (waits are scaled by it)"
