"""Shared fixtures: small answers sets written to a temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from voice.core.config import default_answers_dir

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
