"""Settings with their defaults, and where voicefaq finds its answers.

The matcher's decisions come from a calibrated model (voice.core.decision) whose
thresholds `python -m tools.decision_model fit` chooses; a set may override any
setting here in its set.yaml under `matching:`.
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

    answer_probability: float | None = None
    """Answer without asking when the best candidate is at least this likely to be right
    (voice.core.decision); None: the decision model's own threshold, chosen for its stated
    wrong-answer rate. Higher answers less often and wrongly less often."""
    heard_answer_probability: float | None = None
    """The same for what a recogniser heard. None: the model's."""
    confirm_probability: float | None = None
    """Ask "Do you mean ...?" when the candidates offered are together at least this likely;
    below it the matcher admits it does not know. None: the model's."""
    second_probability: float | None = None
    """Offer the runner-up too when it is at least this likely. None: the model's."""
    fuzzy_token_cutoff: float = 84.0
    """rapidfuzz ratio (0..100) at which an unknown word counts as a misheard known word."""
    unknown_weight: float = 0.8
    """Weight of a topic word the set never uses ("insurance"), relative to a word only one
    entry uses: high, so that it lowers confidence."""
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
        typed = {key: _kind(getattr(self, key))(value) for key, value in overrides.items()}
        return replace(self, **typed)


def _kind(default: object) -> type:
    """The type a setting's override is read as: probabilities default to None but are floats."""
    return float if default is None else type(default)


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
