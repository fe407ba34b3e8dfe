"""Fit the decision model (voice/core/decision_model.json) on the training corpus.

    .venv/bin/python -m tools.decision_model fit [--typed-wrong 0.006] [--spoken-wrong 0.015]
    .venv/bin/python -m tools.decision_model report      # the risk-coverage table of the shipped model

The corpus (tools.corpus): the typed training questions and what whisper heard for the spoken
ones (tools/corpus/*-heard.jsonl, plus the recorded spoken dev set). Every candidate the
matcher ranks (at most three a question) is one example, labelled by whether it is an entry
the question asks for; out-of-scope questions give only wrong candidates. Emergencies are
left out: they are decided before any entry is.

Gradient-boosted trees (scikit-learn, TREES), exported as plain arrays; out-of-fold probabilities
(five folds, grouped by question text so one question's variants stay in one fold) choose
the thresholds:
- answer_at: the lowest threshold at which wrong answers (a wrong entry, or any answer to
  an out-of-scope question) stay under the stated rate, typed and spoken each;
- confirm_at and second_at: the fewest expected turns (TURNS) over the corpus, given answer_at.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tools import corpus, transcripts
from tools.quality import DATA, Labelled, load
from voice.core.config import default_answers_dir
from voice.core.decision import FEATURES, MODEL_FILE, DecisionModel, exclusive
from voice.core.faq import load_set
from voice.core.matcher import Matcher
from voice.core.transcript import Transcript

TURNS = {
    ("in_scope", "right"): 1.0,
    ("in_scope", "wrong"): 4.0,
    ("in_scope", "offered"): 2.0,
    ("in_scope", "offered two"): 2.2,
    ("in_scope", "not offered"): 4.0,
    ("in_scope", "fallback"): 4.0,
    ("fallback", "answer"): 4.0,
    ("fallback", "confirm"): 2.0,
    ("fallback", "fallback"): 1.0,
}
"""Expected spoken turns for each outcome, which confirm_at and second_at minimise: a right
answer takes one; a confirmation one more (a little more with two names to weigh); a wrong
answer must be noticed, refused and asked again; so must a refused confirmation, and a
fallback leaves the person to find other words for the same question, which a tired speaker
may not. An out-of-scope question asked about costs a "no"."""
SECOND_AT = (0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3)
REACH_SLACK = 0.01
"""confirm_at and second_at give the fewest turns among the settings that reach (answer or
offer) the right entry within this share of the most any setting reaches, typed and spoken
each: a person who cannot easily rephrase is better asked about a likely entry than told
"I'm not sure"."""
THRESHOLDS = np.round(np.arange(0.30, 0.991, 0.01), 2)


@dataclass(frozen=True, slots=True)
class Question:
    """One training question and its candidates' features and labels."""

    said: Labelled
    spoken: bool
    condition: str
    features: np.ndarray
    """(candidates, features)."""
    first: int
    """The candidate that goes first whatever the probabilities (a named narrower entry), or -1."""
    right: np.ndarray
    """(candidates,) bool."""


def questions(
    matcher: Matcher, typed: Iterable[Labelled], heard: Iterable[transcripts.Heard]
) -> list[Question]:
    """Every non-emergency question with at least... its candidates (none for a question the set
    shares no word with: those are fallbacks whatever the model says, and are kept as such)."""
    out = []
    items: list[tuple[Labelled, str, Transcript | None, str]] = [
        (row, row.text, None, "typed") for row in typed
    ]
    items += [
        (h.said, h.transcript.text, h.transcript, h.condition) for h in heard if h.transcript is not None
    ]
    for said, text, transcript, condition in items:
        if said.kind == "emergency" or not text.strip() or matcher.emergency(text) is not None:
            continue
        standings = matcher.standings(text, transcript)
        features = np.array([s.features for s in standings], dtype=float).reshape(-1, len(FEATURES))
        right = np.array([s.entry_id in said.acceptable for s in standings], dtype=bool)
        first = next((i for i, s in enumerate(standings) if s.named_narrower), -1)
        out.append(Question(said, transcript is not None, condition, features, first, right))
    return out


def training_heard() -> list[transcripts.Heard]:
    """The corpus's recordings and the spoken dev set's, less any question an evaluation set
    also holds (tools.corpus.HELD_OUT)."""
    heard: list[transcripts.Heard] = []
    for path in sorted(corpus.CORPUS.glob("*-heard.jsonl")):
        heard += transcripts.read_heard(path)[1]
    held_out = {" ".join(row.text.lower().split()) for name in corpus.HELD_OUT for row in load(DATA / name)}
    return [
        h
        for h in heard + transcripts.read_heard()[1]
        if " ".join(h.said.text.lower().split()) not in held_out
    ]


TREES = {"n_estimators": 150, "max_depth": 4, "learning_rate": 0.1, "subsample": 0.8, "random_state": 0}
"""scikit-learn GradientBoostingClassifier settings. Depth 4 did better than 3 out of fold;
150 trees keep a match under a millisecond."""


def _examples(data: Sequence[Question]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(features, labels, owning question, fold group: the question's text)."""
    x = np.vstack([q.features for q in data if len(q.features)])
    y = np.concatenate([q.right for q in data if len(q.features)])
    owner = np.concatenate([[i] * len(q.features) for i, q in enumerate(data) if len(q.features)])
    texts: dict[str, int] = {}
    groups = np.array([texts.setdefault(data[i].said.text, len(texts)) for i in owner])
    return x, y, owner, groups


def fit(data: Sequence[Question], folds: int = 5) -> tuple[Any, list[np.ndarray]]:
    """(the model fitted on everything, out-of-fold probabilities per question)."""
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.model_selection import GroupKFold

    x, y, owner, groups = _examples(data)
    oof = np.zeros(len(y))
    for train, test in GroupKFold(folds).split(x, y, groups):
        oof[test] = GradientBoostingClassifier(**TREES).fit(x[train], y[train]).predict_proba(x[test])[:, 1]
    model = GradientBoostingClassifier(**TREES).fit(x, y)
    return model, [np.array(exclusive(list(oof[owner == i]))) for i in range(len(data))]


def export(model: Any, x: np.ndarray, thresholds: Thresholds, fitted: dict[str, object]) -> DecisionModel:
    """The scikit-learn model as flat trees (voice.core.decision.DecisionModel), checked to give
    the same probabilities on `x`."""
    rate = model.learning_rate
    roots: list[int] = []
    feature: list[int] = []
    left: list[int] = []
    right: list[int] = []
    threshold: list[float] = []
    value: list[float] = []
    for (tree,) in model.estimators_:
        t = tree.tree_
        offset = len(value)
        roots.append(offset)
        for node in range(t.node_count):
            leaf = t.children_left[node] == -1
            feature.append(0 if leaf else int(t.feature[node]))
            threshold.append(0.0 if leaf else float(t.threshold[node]))
            left.append(offset + (node if leaf else int(t.children_left[node])))
            right.append(offset + (node if leaf else int(t.children_right[node])))
            value.append(rate * float(t.value[node, 0, 0]) if leaf else 0.0)
    trees_part = sum(rate * tree.predict(x[:1])[0] for (tree,) in model.estimators_)
    base = float(model.decision_function(x[:1])[0] - trees_part)
    exported = DecisionModel(
        base,
        np.array(roots, dtype=np.int64),
        np.array(feature, dtype=np.int64),
        np.array(threshold, dtype=np.float64),
        np.array(left, dtype=np.int64),
        np.array(right, dtype=np.int64),
        np.array(value, dtype=np.float64),
        int(model.max_depth),
        thresholds.answer_at,
        thresholds.heard_answer_at,
        thresholds.confirm_at,
        thresholds.second_at,
        fitted,
    )
    expected = model.predict_proba(x)[:, 1]
    got = np.array([exported.probability(tuple(row)) for row in x])
    if not np.allclose(expected, got, atol=1e-6):
        raise SystemExit(
            f"the exported trees disagree with scikit-learn by {np.abs(expected - got).max():.2g}"
        )
    return exported


@dataclass(frozen=True, slots=True)
class Thresholds:
    answer_at: float
    heard_answer_at: float
    confirm_at: float
    second_at: float


def outcome(question: Question, p: np.ndarray, thresholds: Thresholds) -> str:
    """What the matcher's decision rule (Matcher.decide) does with these probabilities."""
    answer_at = thresholds.heard_answer_at if question.spoken else thresholds.answer_at
    confirm_at, second_at = thresholds.confirm_at, thresholds.second_at
    if not len(p):
        return "fallback"
    order = np.argsort(-p, kind="stable")
    if question.first >= 0:
        order = np.array([question.first, *[i for i in order if i != question.first]])
    best = order[0]
    second = p[order[1]] if len(order) > 1 else 0.0
    exact = question.features[best][FEATURES.index("exact")] > 0
    in_scope = question.said.kind == "in_scope"
    if p[best] >= answer_at or exact:
        return ("right" if question.right[best] else "wrong") if in_scope else "answer"
    if p[best] + second >= confirm_at and question.features[best][FEATURES.index("evidence")] > 0:
        offered = order[: 2 if second >= second_at else 1]
        if not in_scope:
            return "confirm"
        if not question.right[offered].any():
            return "not offered"
        return "offered two" if len(offered) == 2 else "offered"
    return "fallback"


def rates(
    data: Sequence[Question], probabilities: Sequence[np.ndarray], thresholds: Thresholds
) -> dict[str, float]:
    """answered right (share of in-scope), wrong answers (share of all), reached, mean turns."""
    outcomes = [outcome(q, p, thresholds) for q, p in zip(data, probabilities, strict=True)]
    in_scope = [o for q, o in zip(data, outcomes, strict=True) if q.said.kind == "in_scope"]
    n = max(1, len(outcomes))
    return {
        "answered_right": in_scope.count("right") / max(1, len(in_scope)),
        "wrong": (outcomes.count("wrong") + outcomes.count("answer")) / n,
        "reached": sum(o in ("right", "offered", "offered two") for o in in_scope) / max(1, len(in_scope)),
        "turns": float(np.mean([TURNS[(q.said.kind, o)] for q, o in zip(data, outcomes, strict=True)])),
        "questions": float(len(outcomes)),
    }


def choose(
    data: Sequence[Question], probabilities: Sequence[np.ndarray], typed_wrong: float, spoken_wrong: float
) -> Thresholds:
    """The lowest answer thresholds that keep wrong answers within the stated rates, typed and
    spoken each; then the confirmation thresholds that need the fewest turns while reaching
    nearly as many questions as any (REACH_SLACK)."""
    chosen: dict[bool, float] = {}
    for spoken, limit in ((False, typed_wrong), (True, spoken_wrong)):
        members = [i for i, q in enumerate(data) if q.spoken == spoken]
        part, p = [data[i] for i in members], [probabilities[i] for i in members]
        chosen[spoken] = 0.99
        for threshold in THRESHOLDS[::-1]:
            if rates(part, p, Thresholds(float(threshold), float(threshold), 2.0, 2.0))["wrong"] > limit:
                break
            chosen[spoken] = float(threshold)
    settings = [
        Thresholds(chosen[False], chosen[True], round(float(confirm_at), 2), second_at)
        for confirm_at in np.arange(0.05, 0.81, 0.05)
        for second_at in SECOND_AT
    ]
    reached: dict[Thresholds, tuple[float, float]] = {}
    for setting in settings:
        parts = []
        for spoken in (False, True):
            members = [i for i, q in enumerate(data) if q.spoken == spoken]
            parts.append(
                rates([data[i] for i in members], [probabilities[i] for i in members], setting)["reached"]
            )
        reached[setting] = (parts[0], parts[1])
    most = tuple(max(r[k] for r in reached.values()) for k in (0, 1))
    near = [s for s in settings if all(reached[s][k] >= most[k] - REACH_SLACK for k in (0, 1))]
    best = (float("inf"), near[0])
    for setting in near:
        turns = rates(data, probabilities, setting)["turns"]
        if turns < best[0] - 1e-9:
            best = (turns, setting)
    return best[1]


def risk_coverage(
    data: Sequence[Question],
    probabilities: Sequence[np.ndarray],
    thresholds: Thresholds,
    at: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95),
) -> str:
    """Answered directly and right vs wrong answers at several answer thresholds (typed and
    spoken alike), per condition; "*" marks the column nearest the chosen threshold."""
    conditions: dict[str, list[int]] = {}
    for i, q in enumerate(data):
        conditions.setdefault("typed" if not q.spoken else q.condition, []).append(i)
        if q.spoken:
            conditions.setdefault("spoken, all", []).append(i)
    lines = [f"{'condition':18} {'n':>5}  " + "  ".join(f"   p>={t:.2f}   " for t in at)]
    for name in sorted(conditions, key=lambda n: (n != "typed", n != "spoken, all", n)):
        members = conditions[name]
        chosen = thresholds.answer_at if name == "typed" else thresholds.heard_answer_at
        nearest = min(at, key=lambda t: abs(t - chosen))
        cells = []
        for t in at:
            moved = Thresholds(t, t, thresholds.confirm_at, thresholds.second_at)
            r = rates([data[i] for i in members], [probabilities[i] for i in members], moved)
            mark = "*" if t == nearest else " "
            cells.append(f"{r['answered_right']:6.1%} /{r['wrong']:5.1%}{mark}")
        lines.append(f"{name:18} {len(members):5}  " + "  ".join(cells))
    legend = "answered directly and right (of in-scope) / wrong answers (of all); * the chosen threshold"
    return legend + "\n" + "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.decision_model", description=__doc__)
    parser.add_argument("command", choices=("fit", "report"))
    parser.add_argument("--typed-wrong", type=float, default=0.006, help="most wrong answers, typed (share)")
    parser.add_argument(
        "--spoken-wrong", type=float, default=0.012, help="most wrong answers, spoken (share)"
    )
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    args = parser.parse_args(argv)
    matcher = Matcher(load_set(default_answers_dir()))
    data = questions(matcher, corpus.typed(), training_heard())
    spoken = sum(q.spoken for q in data)
    print(f"{len(data)} questions: {len(data) - spoken} typed, {spoken} spoken", flush=True)
    if args.command == "report":
        model = matcher.model
        probabilities = [
            np.array(exclusive(model.probabilities([tuple(f) for f in q.features]))) for q in data
        ]
        shipped = Thresholds(model.answer_at, model.heard_answer_at, model.confirm_at, model.second_at)
        print(risk_coverage(data, probabilities, shipped))
        return 0
    fitted_model, oof = fit(data)
    thresholds = choose(data, oof, args.typed_wrong, args.spoken_wrong)
    print(risk_coverage(data, oof, thresholds))
    summary = {}
    for name, keep in (("typed", False), ("spoken", True)):
        chosen = [i for i, q in enumerate(data) if q.spoken == keep]
        r = rates([data[i] for i in chosen], [oof[i] for i in chosen], thresholds)
        summary[name] = {key: round(value, 4) for key, value in r.items()}
        print(f"{name}: {summary[name]}")
    print(f"thresholds: {thresholds}")
    fitted: dict[str, object] = {
        "date": datetime.date.today().isoformat(),
        "questions": {"typed": len(data) - spoken, "spoken": spoken},
        "stated_wrong_rate": {"typed": args.typed_wrong, "spoken": args.spoken_wrong},
        "out_of_fold": summary,
        "trees": TREES,
        "command": "python -m tools.decision_model fit",
    }
    model = export(fitted_model, _examples(data)[0], thresholds, fitted)
    validation = questions(matcher, load(DATA / "holdout.jsonl"), [])
    probabilities = [
        np.array(exclusive(model.probabilities([tuple(f) for f in q.features]))) for q in validation
    ]
    print(f"holdout.jsonl (not trained on): {rates(validation, probabilities, thresholds)}")
    args.out.write_text(model.to_json(), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
