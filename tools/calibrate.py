"""Search the matcher's settings on the dev set; report how each choice does on both sets.

    .venv/bin/python -m tools.calibrate

Picks the setting that reaches the most in-scope questions on tests/data/dev.jsonl
while keeping confident wrong answers at most --max-wrong and answering at most
--max-oos of out-of-scope questions, then prints how that setting does on the
holdout set, which is never used for choosing. Copy the winner into
voice/config.py (MatcherConfig defaults).
"""

from __future__ import annotations

import argparse
import itertools

from tools.quality import DATA, Labelled, evaluate, load, tally
from voice.core.config import MatcherConfig, default_answers_dir
from voice.core.faq import load_set
from voice.core.matcher import Matcher

INDEX_GRID = {
    "credit_saturation": [2.0, 3.0],
    "unknown_weight": [0.6, 0.7, 0.8],
    "phrasing_weight": [0.55, 0.7],
    "wording_weight": [0.1, 0.2, 0.3],
}
DECISION_GRID = {
    "answer_threshold": [0.5, 0.55, 0.6, 0.65, 0.7],
    "answer_margin": [0.04, 0.08, 0.12],
    "confirm_threshold": [0.25, 0.3, 0.35, 0.4],
    "confirm_window": [0.12, 0.2, 0.3],
    "min_coverage": [0.5, 0.6, 0.7],
    "min_evidence": [0.3, 0.4, 0.55],
    "min_confirm_evidence": [0.22, 0.32],
}


def _grid(grid: dict[str, list[float]]) -> list[dict[str, float]]:
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-wrong", type=float, default=0.012)
    parser.add_argument("--max-oos", type=float, default=0.04)
    args = parser.parse_args()
    faq_set = load_set(default_answers_dir())
    dev: list[Labelled] = load(DATA / "dev.jsonl")
    holdout: list[Labelled] = load(DATA / "holdout.jsonl")
    best: tuple[float, MatcherConfig] | None = None
    for index_setting in _grid(INDEX_GRID):
        base = MatcherConfig().with_overrides(index_setting)
        matcher = Matcher(faq_set, base)
        emergencies = {row.text: matcher.match(row.text) for row in dev if matcher.emergency(row.text)}
        ranked = {row.text: matcher.rank(row.text) for row in dev}
        for decision_setting in _grid(DECISION_GRID):
            matcher.config = base.with_overrides(decision_setting)
            report = tally(
                (row, emergencies.get(row.text) or matcher.decide(row.text, ranked[row.text])) for row in dev
            )
            if report.wrong_rate > args.max_wrong or 1 - report.out_of_scope_rate > args.max_oos:
                continue
            objective = report.reach_rate + 0.1 * report.answered_right / report.in_scope
            if best is None or objective > best[0]:
                best = (objective, matcher.config)
                print(f"{objective:.4f} {report.summary()}\n   {matcher.config}", flush=True)
    if best is None:
        print("no setting meets the limits")
        return
    matcher = Matcher(faq_set, best[1])
    print("\nchosen:", best[1])
    print("dev:    ", evaluate(matcher, dev).summary())
    print("holdout:", evaluate(matcher, holdout).summary())


if __name__ == "__main__":
    main()
