"""Settings with their defaults, and where voicefaq finds its answers.

The matcher's thresholds were calibrated on tests/data/dev.jsonl with
`python -m tools.calibrate`; a set may override any of them in its set.yaml
under `matching:`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from voice.errors import VoiceError

DEFAULT_SET = "ms-physical-therapy"
ANSWERS_ENV = "VOICEFAQ_ANSWERS"
ADMIN_TOKEN_ENV = "VOICEFAQ_ADMIN_TOKEN"
"""The kiosk service's staff token, when no --admin-token-file is given."""


@dataclass(frozen=True, slots=True)
class MatcherConfig:
    """How sure the matcher must be before it answers or offers a choice."""

    answer_threshold: float = 0.65
    """Best score (0..1) needed to answer without asking."""
    answer_margin: float = 0.12
    """How far the best entry must lead the runner-up to answer without asking."""
    confirm_threshold: float = 0.25
    """Below this the matcher admits it does not know (fallback)."""
    confirm_window: float = 0.2
    """Runners-up within this distance of the best are offered in the confirmation too."""
    min_coverage: float = 0.5
    """Share of the question's topic words the answered entry must account for."""
    fuzzy_token_cutoff: float = 84.0
    """rapidfuzz ratio (0..100) at which an unknown word counts as a misheard known word."""
    unknown_weight: float = 0.8
    """Weight of a topic word the set never uses ("insurance"), relative to a word only one
    entry uses: high, so that it lowers confidence."""
    min_evidence: float = 0.3
    """Weight of matched words needed to answer, relative to a word only one entry uses:
    one common word is not enough."""
    min_heard_evidence: float = 0.3
    """The same, counting only words heard as the set spells them (or as a synonym): an
    answer resting on a misheard word mapped by spelling or sound ("cutting" for
    "clotting") is asked about first."""
    min_confirm_evidence: float = 0.22
    """Weight of matched words needed to offer a confirmation, in the same unit."""
    credit_saturation: float = 2.0
    """Uses of a word in an entry's question, phrasings and keywords that make it fully that entry's."""
    phrasing_weight: float = 0.55
    """Share of the score from the single closest phrasing; the rest is entry-wide coverage."""
    wording_weight: float = 0.3
    """Share of the score from whole-phrasing likeness (word order and small words included)."""
    max_alternatives: int = 3
    """How many candidates a decision reports."""

    @classmethod
    def field_names(cls) -> frozenset[str]:
        return frozenset(item.name for item in fields(cls))

    def with_overrides(self, overrides: dict[str, float]) -> MatcherConfig:
        typed = {key: type(getattr(self, key))(value) for key, value in overrides.items()}
        return replace(self, **typed)


_PACKAGE = Path(__file__).resolve().parents[1]
BUNDLED_SETS = (_PACKAGE.parent / "answers", _PACKAGE / "_answers")
"""Where the bundled sets are: answers/ beside the package in a source checkout (and an
editable install), voice/_answers inside an installed wheel (pyproject force-includes it)."""


def default_answers_dir() -> Path:
    """The answers set to use when none is named: $VOICEFAQ_ANSWERS, else the bundled one."""
    configured = os.environ.get(ANSWERS_ENV)
    if configured:
        return Path(configured)
    for sets in BUNDLED_SETS:
        if (sets / DEFAULT_SET).is_dir():
            return sets / DEFAULT_SET
    raise VoiceError(
        f"no answers set found: pass --answers DIR or set {ANSWERS_ENV} to a folder holding "
        "set.yaml (the repository ships answers/ms-physical-therapy)"
    )
