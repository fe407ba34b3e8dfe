from pathlib import Path

import pytest

from tests.conftest import JSON_FIELDS, SET_YAML, write_set
from voice.core.faq import load_set
from voice.core.matcher import Candidate, Decision, Matcher, confirmation_text
from voice.lang import language


@pytest.fixture(scope="module")
def matcher(tmp_path_factory: pytest.TempPathFactory) -> Matcher:
    return Matcher(load_set(write_set(tmp_path_factory.mktemp("tiny") / "set")))


@pytest.mark.parametrize(
    ("text", "decision", "entry_id"),
    [
        ("should I use a walker?", Decision.ANSWER, "walker"),
        ("um do I need a rollator", Decision.ANSWER, "walker"),
        ("is my physio the same thing as a physiatrist", Decision.ANSWER, "physiatrist"),
        ("is exercise good for my fatigue", Decision.ANSWER, "fatigue"),
        ("my legs are so stiff", Decision.ANSWER, "spasticity"),
        ("what is a row later", Decision.CONFIRM, None),  # misheard "rollator", by sound alone: asked about
        ("what's a fizz iatrist", Decision.ANSWER, "physiatrist"),  # misheard, nothing else near
        ("where do I park my car", Decision.FALLBACK, None),
        ("what's the weather like", Decision.FALLBACK, None),
        ("how much does a walker cost at the pharmacy", Decision.CONFIRM, None),  # asked about, not answered
        ("I fell and I can't get up", Decision.EMERGENCY, None),
        ("my chest hurts, should I use my walker", Decision.EMERGENCY, None),
    ],
)
def test_decisions(matcher: Matcher, text: str, decision: Decision, entry_id: str | None) -> None:
    match = matcher.match(text)
    assert match.decision is decision, match.alternatives
    assert (match.entry.id if match.entry else None) == entry_id


@pytest.mark.parametrize(
    ("misheard", "heard_right", "entry_id"),
    [("what is a row later", "what is a rollator", "walker")],
)
def test_a_misheard_topic_word_is_offered_not_answered(
    matcher: Matcher, misheard: str, heard_right: str, entry_id: str
) -> None:
    # The entry is found by sound alone ("row later"), which the decision model trusts
    # less than the word heard as the set spells it: it is asked about.
    offered = matcher.match(misheard)
    assert offered.decision is Decision.CONFIRM
    assert offered.offered[0].entry_id == entry_id
    answered = matcher.match(heard_right)
    assert answered.decision is Decision.ANSWER and answered.entry is not None
    assert answered.entry.id == entry_id


def test_rare_words_outweigh_common_ones(matcher: Matcher) -> None:
    # "therapist" is in several entries' words, "physiatrist" in one: the rare word decides.
    match = matcher.match("can my therapist tell me about the physiatrist")
    assert match.alternatives[0].entry_id == "physiatrist"


def test_a_middling_candidate_is_confirmed_not_guessed(matcher: Matcher) -> None:
    match = matcher.match("what is a row later")
    assert match.decision is Decision.CONFIRM and match.entry is None
    assert match.offered[0].entry_id == "walker"
    assert matcher.confirm_at <= sum(c.probability for c in match.offered[:2])
    assert match.offered[0].probability < matcher.answer_at
    # The tiny set gives no topics: each entry is named by its question.
    assert match.say == "Do you mean should I use a walker?"


WALKER = Candidate("walker", "Should I use a walker?", 0.7, "a walker")
CANE = Candidate("cane", "Should I use a cane?", 0.6, "a cane")
SCOOTER = Candidate("scooter", "Could a mobility scooter help me?", 0.5, "a mobility scooter")
UNNAMED = Candidate("scooter", "Could a mobility scooter help me?", 0.5)  # from a review log


@pytest.mark.parametrize(
    ("offered", "text"),
    [
        ((WALKER,), "Do you mean a walker?"),
        ((WALKER, CANE), "Do you mean a walker, or a cane?"),
        ((WALKER, CANE, SCOOTER), "Do you mean a walker, a cane, or a mobility scooter?"),
        ((WALKER, UNNAMED), "Do you mean a walker, or could a mobility scooter help me?"),
    ],
)
def test_a_confirmation_names_each_offered_entry_by_its_topic(
    offered: tuple[Candidate, ...], text: str
) -> None:
    assert confirmation_text(offered, language("en")) == text


def test_candidates_carry_their_entry_s_topic(bundled_set: Path) -> None:
    match = Matcher(load_set(bundled_set)).match("what is a row later")
    assert match.decision is Decision.CONFIRM
    assert [(c.entry_id, c.topic) for c in match.offered] == [("mobility-aids", "walking aids")]
    assert match.say == "Do you mean walking aids?"


def test_emergency_speaks_the_sets_text_and_never_an_answer(matcher: Matcher) -> None:
    match = matcher.match("I've fallen and can't get up, is a rollator right for me")
    assert match.decision is Decision.EMERGENCY
    assert match.say == "Call 911 now."
    assert match.entry is None and match.emergency is not None and match.emergency.id == "fall"


def test_fallback_says_the_sets_fallback(matcher: Matcher) -> None:
    match = matcher.match("is there wifi here")
    assert match.decision is Decision.FALLBACK
    assert match.say == SET_YAML["fallback"]


def test_alternatives_are_ranked_and_bounded(matcher: Matcher) -> None:
    match = matcher.match("exercise for stiff tired legs")
    likelihood = [c.probability for c in match.alternatives]
    assert likelihood == sorted(likelihood, reverse=True)
    assert 1 <= len(likelihood) <= matcher.config.max_alternatives
    assert all(0.0 <= c.score <= 1.0 and 0.0 <= c.probability <= 1.0 for c in match.alternatives)


def test_json_shape(matcher: Matcher) -> None:
    result = matcher.match("do I need a walker").to_dict()
    assert set(result) >= JSON_FIELDS
    assert result["decision"] == "answer"
    assert result["entry_id"] == "walker"
    assert result["question"] == "Should I use a walker?"
    assert result["details"] == "A four-wheeled rollator walker is one option."
    assert result["alternatives"][0] == {
        "entry_id": "walker",
        "question": "Should I use a walker?",
        "score": result["alternatives"][0]["score"],
        "probability": result["alternatives"][0]["probability"],
    }
    assert 0.0 <= result["alternatives"][0]["probability"] <= 1.0


def test_thresholds_come_from_the_set(tmp_path: Path) -> None:
    strict = write_set(tmp_path / "strict", set_yaml={**SET_YAML, "matching": {"answer_probability": 1.01}})
    match = Matcher(load_set(strict)).match("should i be using a walker")
    assert match.decision is Decision.CONFIRM
    assert match.offered[0].entry_id == "walker"
