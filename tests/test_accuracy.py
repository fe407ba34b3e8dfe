"""Accuracy floors on the labelled question sets, per decision kind.

dev.jsonl was used to calibrate the matcher; holdout.jsonl was written separately
and never used for tuning, so it estimates what unseen questions will get.
"""

from pathlib import Path

import pytest

from tools.quality import DATA, Report, evaluate, load
from voice.core.faq import load_set
from voice.core.matcher import Matcher

FLOORS = {
    # set: (in-scope reached, most wrong answers, out-of-scope not answered)
    "dev.jsonl": (0.95, 0.015, 0.95),
    "holdout.jsonl": (0.95, 0.02, 0.95),
}


@pytest.fixture(scope="module")
def matcher(bundled_set: Path) -> Matcher:
    return Matcher(load_set(bundled_set))


@pytest.fixture(scope="module", params=sorted(FLOORS))
def report(request: pytest.FixtureRequest, matcher: Matcher) -> tuple[str, Report]:
    name: str = request.param
    return name, evaluate(matcher, load(DATA / name))


def test_sets_are_big_enough(report: tuple[str, Report]) -> None:
    _, result = report
    assert result.in_scope >= 200 and result.out_of_scope >= 40 and result.emergencies >= 10


def test_in_scope_questions_reach_the_right_entry(report: tuple[str, Report]) -> None:
    name, result = report
    assert result.reach_rate >= FLOORS[name][0], result.summary()


def test_confident_wrong_answers_are_rare(report: tuple[str, Report]) -> None:
    name, result = report
    assert result.wrong_rate <= FLOORS[name][1], result.summary()


def test_out_of_scope_questions_are_not_answered(report: tuple[str, Report]) -> None:
    name, result = report
    assert result.out_of_scope_rate >= FLOORS[name][2], result.summary()


def test_every_emergency_is_recognised_and_nothing_else_is(report: tuple[str, Report]) -> None:
    _, result = report
    assert result.emergencies_recognised == result.emergencies, result.summary()
    assert result.false_alarms == 0, result.summary()


def test_every_entry_is_reachable_by_its_own_question(matcher: Matcher) -> None:
    for entry in matcher.faq_set.entries:
        match = matcher.match(entry.question)
        assert match.entry is not None and match.entry.id == entry.id, (entry.id, match.alternatives)
