"""The calibrated decision: the model file, what it is given, and the set's say in it
(narrower entries, words as recognisers hear them, entries that overlap)."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ENTRIES, write_set
from voice.core.config import default_answers_dir
from voice.core.decision import FEATURES, MODEL_FILE, DecisionModelError, load_model
from voice.core.faq import HEARD_FILE, check_set, load_set
from voice.core.matcher import Decision, Matcher
from voice.core.overlap import overlaps
from voice.core.transcript import Transcript


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_set(default_answers_dir()))


def test_the_shipped_model_loads_and_says_how_it_was_fitted() -> None:
    model = load_model(MODEL_FILE)
    assert 0.5 <= model.answer_at <= 0.99
    assert 0.0 < model.second_at < 1.0 and 0.0 < model.confirm_at < 1.0
    assert model.fitted["command"] == "python -m tools.decision_model fit"
    assert {"typed", "spoken"} <= set(model.fitted["stated_wrong_rate"])  # type: ignore[arg-type]


def _body() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(MODEL_FILE.read_text())
    return body


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.update(features=["score"]), "other features"),
        (lambda b: b["nodes"]["left"].__setitem__(0, 10**9), "outside the tree"),
        (lambda b: b["nodes"]["feature"].__setitem__(0, len(FEATURES)), "unknown feature"),
        (lambda b: b["nodes"]["value"].pop(), "different lengths"),
        (lambda b: b.pop("thresholds"), "malformed"),
        (lambda b: b.update(base="high"), "malformed"),
    ],
)
def test_a_damaged_model_says_how_to_rebuild_it(tmp_path: Path, change: Any, message: str) -> None:
    body = _body()
    change(body)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(body))
    with pytest.raises(DecisionModelError, match=message) as raised:
        load_model(path)
    assert "python -m tools.decision_model fit" in str(raised.value)


def test_a_missing_model_says_how_to_rebuild_it(tmp_path: Path) -> None:
    with pytest.raises(DecisionModelError, match="tools.decision_model fit"):
        load_model(tmp_path / "nowhere.json")


@pytest.mark.parametrize(
    "question",
    ["what is a rollator", "can exercise help with fatigue", "what's the weather like", "physio"],
)
def test_probabilities_are_probabilities_best_first(matcher: Matcher, question: str) -> None:
    match = matcher.match(question)
    probabilities = [c.probability for c in match.alternatives]
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    assert probabilities == sorted(probabilities, reverse=True)


def test_the_decision_follows_the_thresholds(matcher: Matcher) -> None:
    for question in ("what is a rollator", "can exercise help with fatigue", "tell me about balance"):
        match = matcher.match(question)
        best = match.alternatives[0].probability
        if match.decision is Decision.ANSWER:
            assert best >= matcher.answer_at
        else:
            assert best < matcher.answer_at


def test_what_is_heard_is_weighed_with_the_recognisers_confidence(matcher: Matcher) -> None:
    text = "what is a rollator"
    typed = matcher.match(text).alternatives[0]
    sure = matcher.match_heard(Transcript(text, (), "whisper", 2.0, alternatives=(text,), logprob=-0.1))
    unsure = matcher.match_heard(
        Transcript(
            text, (), "whisper", 2.0, alternatives=("what is a row later", "what is a radiator"), logprob=-1.4
        )
    )
    assert typed.entry_id == sure.alternatives[0].entry_id == "mobility-aids"
    assert unsure.alternatives[0].probability < sure.alternatives[0].probability


# ---------------------------------------------------------------- narrower entries


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("what is passive exercise", "passive-exercise"),
        ("could you explain active-assisted exercise", "assisted-exercise"),
        ("what is the difference between active and passive exercise", "exercise-categories"),
    ],
)
def test_a_question_naming_a_narrower_topic_goes_to_it(
    matcher: Matcher, question: str, entry_id: str
) -> None:
    assert matcher.match(question).alternatives[0].entry_id == entry_id


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{**ENTRIES[0], "narrower": ["nowhere"]}, *ENTRIES[1:]], "narrower id 'nowhere' is not an entry"),
        ([{**ENTRIES[0], "narrower": ["walker"]}, *ENTRIES[1:]], "lists itself as narrower"),
        (
            [{**ENTRIES[0], "narrower": ["cane"]}, {**ENTRIES[1], "narrower": ["walker"]}, *ENTRIES[2:]],
            "lists it as narrower too",
        ),
    ],
)
def test_narrower_must_name_other_entries_one_way(
    tmp_path: Path, entries: list[dict[str, Any]], message: str
) -> None:
    _, problems = check_set(write_set(tmp_path / "set", entries=entries))
    assert any(message in str(problem) for problem in problems), problems


# ---------------------------------------------------------------- heard.yaml


def test_words_as_recognisers_hear_them_are_read_like_synonyms(tmp_path: Path) -> None:
    directory = write_set(tmp_path / "set")
    (directory / HEARD_FILE).write_text(yaml.safe_dump({"heard_as": {"physiatrist": ["fizz iatrist"]}}))
    faq_set = load_set(directory)
    assert faq_set.heard_as == {"physiatrist": ("fizz iatrist",)}
    assert "fizz" not in faq_set.synonyms.get("physiatrist", ())
    assert Matcher(faq_set).match("what's a fizz iatrist").alternatives[0].entry_id == "physiatrist"


def test_a_malformed_heard_file_is_a_problem_with_its_line(tmp_path: Path) -> None:
    directory = write_set(tmp_path / "set")
    (directory / HEARD_FILE).write_text("heard_as:\n  physiatrist: 3\n")
    _, problems = check_set(directory)
    assert any(HEARD_FILE in str(problem) for problem in problems), problems


# ---------------------------------------------------------------- overlapping entries


def test_entries_asked_for_in_the_same_words_are_warned_about(tmp_path: Path) -> None:
    twin = {
        **ENTRIES[0],
        "id": "walker-twin",
        "question": "Would a walker suit me?",
        "topic": "walker choice",
        "phrasings": [
            "do i truly want a walker",
            "walker for my balance",
            "help me choose a walker",
            "which walker should i buy",
            "is a rollator walker right",
            "should i get a walker",
        ],
        "keywords": list(ENTRIES[0]["keywords"]),
        "related": [],
    }
    faq_set = load_set(write_set(tmp_path / "set", entries=[*ENTRIES, twin]))
    found = {(o.entry.id, o.taken_by.id) for o in overlaps(faq_set)}
    assert found & {("walker", "walker-twin"), ("walker-twin", "walker")}
    assert "narrower" in overlaps(faq_set)[0].warning().message


def test_the_bundled_set_has_no_overlaps_left() -> None:
    assert overlaps(load_set(default_answers_dir())) == []
