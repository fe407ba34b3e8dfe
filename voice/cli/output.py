"""How results are shown: plain text for people, JSON for programs."""

from __future__ import annotations

import json
import sys
import textwrap
from typing import TextIO

from voice.core.matcher import Decision, Match

WIDTH = 78


def print_json(result: object) -> None:
    print(json.dumps(result, ensure_ascii=False), flush=True)


def print_match(match: Match, out: TextIO | None = None) -> None:
    """The decision and everything the assistant would say, wrapped for a terminal."""
    out = out or sys.stdout  # looked up per call: tests and pipes replace sys.stdout
    width = WIDTH
    print(f"decision: {match.decision.value}  (score {match.score:.2f})", file=out)
    if match.emergency is not None:
        print(f"EMERGENCY ({match.emergency.id})", file=out)
    if match.entry is not None:
        print(f"entry:    {match.entry.id}: {match.entry.question}", file=out)
    print(file=out)
    print(textwrap.fill(match.say, width), file=out)
    if match.entry is not None and match.entry.details:
        print(file=out)
        print(textwrap.fill("More: " + match.entry.details, width), file=out)
    if match.decision is Decision.CONFIRM:
        print("\nclosest entries:", file=out)
        for candidate in match.alternatives:
            print(f"  {candidate.score:.2f}  {candidate.entry_id}: {candidate.question}", file=out)
