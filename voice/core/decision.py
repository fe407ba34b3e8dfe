"""How likely a candidate entry is to be the one asked for: a small calibrated model.

Pure. Gradient-boosted decision trees over signals the matcher already has (scores, margins,
how much of the question the entry explains, misheard and unknown words, the recogniser's own
confidence and whether its other readings of the audio agree) give each of the top candidates
a probability of being right. The decision follows from the probabilities and thresholds chosen for a stated
wrong-answer rate: answer, ask about one or two candidates, or admit not knowing.

The parameters live in decision_model.json beside this module, fitted on a generated corpus of
typed and spoken questions by `python -m tools.decision_model fit` (docs/accuracy.md). Trees,
not a logistic model: on the same features and corpus, a logistic model answered about 15 in
100 typed questions fewer at the same wrong-answer rate, since the signals matter together
(a high score means little without a lead over the runner-up).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from voice.errors import VoiceError

MODEL_FILE = Path(__file__).with_name("decision_model.json")

FEATURES = (
    "score",
    "lead",
    "gap",
    "coverage",
    "evidence",
    "heard_evidence",
    "phrasing",
    "wording",
    "exact",
    "first",
    "weakest",
    "weakest_capped",
    "score_x_lead",
    "lead_root",
    "unknown_share",
    "unknown_words",
    "approximate_share",
    "topic_words",
    "words",
    "candidates",
    "names_topic",
    "rival_named",
    "spoken",
    "logprob",
    "agreement",
    "unsure_agreement",
    "spoken_x_score",
    "spoken_x_lead",
    "first_x_agreement",
)
"""The signals, in the order the weights are stored. Per candidate: its matcher score; lead,
its distance above the next candidate; gap, its distance below the best; coverage, evidence
and heard_evidence (matcher.Scored); phrasing, the F1 of its closest phrasing; wording, the
whole-phrasing likeness; exact, the question is one of its phrasings; first, it has the best
score; weakest, the weakest of score, lead, coverage and evidence, each over the level that
used to be required (WEAKEST_SCALE), and that capped at 1; score_x_lead, lead_root. Per
question: shares and counts of words the set does not know, or knows only as a mishearing;
topic words, words, candidates (as log(1 + n)); names_topic, every word of this candidate's
short topic is in the question; rival_named, another candidate's is and its own is not.
Heard: spoken (the text is a transcript), logprob (the recogniser's mean token
log-probability, 0 typed), agreement (share of its other readings whose best candidate this
is), unsure_agreement (agreement where logprob < -0.5), and products with spoken and first."""
WEAKEST_SCALE = (0.65, 0.12, 0.5, 0.3, 0.3)
"""score, lead, coverage, evidence, heard evidence: the levels the hand-set rule once required
all at once. Dividing by them puts the signals on one scale; the model weighs the result."""


class DecisionModelError(VoiceError):
    """The decision model file is missing or malformed."""


@dataclass(frozen=True, slots=True)
class Hearing:
    """What the recogniser says about its transcript, beyond the words."""

    logprob: float | None
    """Mean token log-probability, or None when the engine gives none."""
    agreement: Mapping[str, float]
    """Entry id -> share of the other readings of the audio whose best candidate it is."""


@dataclass(frozen=True, slots=True)
class DecisionModel:
    """Fitted trees (their raw outputs add up to log-odds) and the thresholds chosen on its corpus.

    The trees are stored flat: node i tests feature[i] <= threshold[i] and goes to left[i] or
    right[i]; a leaf points to itself and holds its share of the log-odds in value[i]; each
    tree starts at one of roots."""

    base: float
    """Log-odds before any tree."""
    roots: npt.NDArray[np.int64]
    feature: npt.NDArray[np.int64]
    threshold: npt.NDArray[np.float64]
    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    depth: int
    answer_at: float
    """Answer a typed question when the best candidate's probability is at least this."""
    heard_answer_at: float
    """The same for a transcript: chosen for its own stated wrong-answer rate."""
    confirm_at: float
    """Ask about the best candidate(s) when the offered ones' probabilities sum to this."""
    second_at: float
    """Offer the runner-up beside the best when its probability is at least this."""
    fitted: Mapping[str, object]
    """How it was fitted: corpus sizes, the stated wrong-answer rates, the date."""

    def probability(self, values: Sequence[float]) -> float:
        return self.probabilities([values])[0]

    def probabilities(self, rows: Sequence[Sequence[float]]) -> list[float]:
        """One probability per row of feature values, all trees walked at once."""
        if not rows:
            return []
        # As the trees were fitted: features in single precision, thresholds in double.
        x = np.asarray(rows, dtype=np.float32).astype(np.float64)
        nodes = np.broadcast_to(self.roots, (len(x), len(self.roots)))
        row = np.arange(len(x))[:, None]
        for _ in range(self.depth):
            goes_left = x[row, self.feature[nodes]] <= self.threshold[nodes]
            nodes = np.where(goes_left, self.left[nodes], self.right[nodes])
        # fsum: exactly rounded, so the same on every CPU (numpy's vector sums may differ in the
        # last bit between instruction sets, and a decision can sit on a threshold).
        out = []
        for leaves in self.value[nodes]:
            z = max(-30.0, min(30.0, self.base + math.fsum(leaves.tolist())))
            out.append(1.0 / (1.0 + math.exp(-z)))
        return out

    def to_json(self) -> str:
        body = {
            "features": list(FEATURES),
            "kind": "boosted trees",
            "base": self.base,
            "depth": self.depth,
            "roots": self.roots.tolist(),
            "nodes": {
                "feature": self.feature.tolist(),
                "threshold": self.threshold.tolist(),
                "left": self.left.tolist(),
                "right": self.right.tolist(),
                "value": self.value.tolist(),
            },
            "thresholds": {
                "answer_at": self.answer_at,
                "heard_answer_at": self.heard_answer_at,
                "confirm_at": self.confirm_at,
                "second_at": self.second_at,
            },
            "fitted": dict(self.fitted),
        }
        return json.dumps(body, indent=None, separators=(",", ":")) + "\n"


@cache
def load_model(path: Path = MODEL_FILE) -> DecisionModel:
    """The model in `path` (cached: loaded once per process)."""
    fix = "rebuild it with `python -m tools.decision_model fit`"
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DecisionModelError(f"cannot read the decision model {path}: {error}; {fix}") from error
    try:
        if tuple(body["features"]) != FEATURES:
            raise DecisionModelError(f"{path} was fitted on other features than this version uses; {fix}")
        nodes = body["nodes"]
        ints = {key: np.asarray(nodes[key], dtype=np.int64) for key in ("feature", "left", "right")}
        floats = {key: np.asarray(nodes[key], dtype=np.float64) for key in ("threshold", "value")}
        roots = np.asarray(body["roots"], dtype=np.int64)
        size = len(floats["value"])
        if any(len(array) != size for array in (*ints.values(), floats["threshold"])) or not size:
            raise ValueError("node arrays of different lengths")
        for array in (ints["left"], ints["right"], roots):
            if array.size and (array.min() < 0 or array.max() >= size):
                raise ValueError("a node points outside the tree")
        if ints["feature"].min() < 0 or ints["feature"].max() >= len(FEATURES):
            raise ValueError("a node tests an unknown feature")
        thresholds = body["thresholds"]
        return DecisionModel(
            float(body["base"]),
            roots,
            ints["feature"],
            floats["threshold"],
            ints["left"],
            ints["right"],
            floats["value"],
            int(body["depth"]),
            float(thresholds["answer_at"]),
            float(thresholds["heard_answer_at"]),
            float(thresholds["confirm_at"]),
            float(thresholds["second_at"]),
            dict(body.get("fitted", {})),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise DecisionModelError(f"{path} is malformed ({error}); {fix}") from error


def exclusive(probabilities: Sequence[float]) -> list[float]:
    """Each candidate's chance of being THE entry asked for. The model judges candidates one
    at a time, so two can both look likely ("walker or cane" when each has an entry); at most
    one is asked for, so a candidate's chance is that it is right and the others wrong, over
    the chance that at most one is right."""
    clipped = [min(max(p, 1e-6), 1 - 1e-6) for p in probabilities]
    none_right = math.prod(1 - p for p in clipped)
    alone = [p / (1 - p) * none_right for p in clipped]
    total = none_right + sum(alone)
    return [a / total for a in alone]


@dataclass(frozen=True, slots=True)
class Standing:
    """One candidate as the model sees it."""

    entry_index: int
    entry_id: str
    score: float
    features: tuple[float, ...]
    named_narrower: bool = False
    """The question names this entry's topic, and it is narrower than the best-scored one: it
    goes first whatever the probabilities (Matcher._narrower_first)."""


@dataclass(frozen=True, slots=True)
class CandidateSignals:
    """What the matcher measured for one candidate (voice.core.matcher.Scored, with its id)."""

    entry_index: int
    entry_id: str
    score: float
    coverage: float
    evidence: float
    heard_evidence: float
    phrasing: float
    wording: float
    exact: bool
    named_narrower: bool = False


@dataclass(frozen=True, slots=True)
class QuestionSignals:
    """Signals about the question as a whole."""

    unknown_share: float
    unknown_words: int
    approximate_share: float
    topic_words: int
    words: int
    candidates: int
    """How many entries share a word with the question."""
    named_topics: frozenset[str]
    """Ids of the entries whose whole topic is in the question."""


def standings(
    ranked: Sequence[CandidateSignals], question: QuestionSignals, hearing: Hearing | None
) -> list[Standing]:
    """Each candidate's features; `ranked` is best score first."""
    spoken = 1.0 if hearing is not None else 0.0
    logprob = max(-3.0, hearing.logprob) if hearing is not None and hearing.logprob is not None else 0.0
    unsure = 1.0 if spoken and logprob < -0.5 else 0.0
    best = ranked[0].score if ranked else 0.0
    question_values = (
        question.unknown_share,
        math.log1p(question.unknown_words),
        question.approximate_share,
        math.log1p(question.topic_words),
        math.log1p(question.words),
        math.log1p(question.candidates),
    )
    out = []
    for position, c in enumerate(ranked):
        lead = c.score - (ranked[position + 1].score if position + 1 < len(ranked) else 0.0)
        first = 1.0 if position == 0 else 0.0
        levels = (c.score, lead, c.coverage, c.evidence, c.heard_evidence)
        weakest = max(-1.0, min(2.0, min(v / s for v, s in zip(levels, WEAKEST_SCALE, strict=True))))
        agreement = hearing.agreement.get(c.entry_id, 0.0) if hearing is not None else 0.0
        named = c.entry_id in question.named_topics
        rival = not named and bool(question.named_topics - {c.entry_id})
        values = (
            c.score,
            lead,
            best - c.score,
            c.coverage,
            min(c.evidence, 3.0),
            min(c.heard_evidence, 3.0),
            c.phrasing,
            c.wording,
            1.0 if c.exact else 0.0,
            first,
            weakest,
            min(weakest, 1.0),
            c.score * lead,
            math.sqrt(max(0.0, lead)),
            *question_values,
            1.0 if named else 0.0,
            1.0 if rival else 0.0,
            spoken,
            logprob,
            agreement,
            agreement * unsure,
            spoken * c.score,
            spoken * lead,
            first * agreement,
        )
        out.append(Standing(c.entry_index, c.entry_id, c.score, values, c.named_narrower))
    return out
