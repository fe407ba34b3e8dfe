"""Deciding on what was heard: the best reading, and emergencies in the engine's other readings."""

from __future__ import annotations

from pathlib import Path

import pytest

from voice.asr import Transcript
from voice.core.faq import load_set
from voice.core.matcher import Decision, Matcher
from voice.spoken import match_transcript


@pytest.fixture(scope="module")
def matcher(bundled_set: Path) -> Matcher:
    return Matcher(load_set(bundled_set))


def _heard(text: str, *alternatives: str, logprob: float | None = -0.2) -> Transcript:
    return Transcript(text, (), "whisper", 2.0, 120.0, alternatives, logprob)


@pytest.mark.parametrize(
    ("text", "alternatives", "decision", "emergency"),
    [
        # The best reading missed it; a runner-up has a two-word trigger.
        ("I've been cutting my hair.", ("I've been cutting myself.",), Decision.EMERGENCY, "self-harm"),
        (
            "And I don't want to believe that.",
            ("I don't want to live anymore.",),
            Decision.EMERGENCY,
            "self-harm",
        ),
        # One trigger word in a runner-up is what whisper invents over noise: not enough.
        ("What did pass it back to sight?", ("What did pass it back, suicide?",), None, None),
        ("This way, training for MS.", ("This way, training, safe or ambulance.",), None, None),
        # In the best reading one word is enough, as for typed questions.
        ("Call an ambulance.", (), Decision.EMERGENCY, "urgent"),
        # No emergency anywhere: the best reading decides, as matcher.match would.
        (
            "Is my physio the same as a physiatrist?",
            ("Is my physio the same as a psychiatrist?",),
            None,
            None,
        ),
    ],
)
def test_emergencies_in_other_readings_win(
    matcher: Matcher,
    text: str,
    alternatives: tuple[str, ...],
    decision: Decision | None,
    emergency: str | None,
) -> None:
    heard = _heard(text, *alternatives)
    match = match_transcript(heard, matcher)
    plain = matcher.match_heard(heard)
    assert match.input == text
    assert match.decision is (decision or plain.decision)
    assert (match.emergency.id if match.emergency else None) == emergency
    if emergency is None:
        assert match.to_dict() | {"timings_ms": None} == plain.to_dict() | {"timings_ms": None}


def test_the_less_sure_the_recogniser_the_less_likely_the_answer(matcher: Matcher) -> None:
    text = "Is my physio the same as a physiatrist?"
    sure = match_transcript(_heard(text, text, logprob=-0.2), matcher)
    unsure = match_transcript(_heard(text, "Is my fizzy the same as a psychiatrist?", logprob=-1.6), matcher)
    assert sure.decision is Decision.ANSWER and sure.entry is not None
    assert sure.entry.id == unsure.alternatives[0].entry_id == "pt-vs-physiatrist"
    assert unsure.alternatives[0].probability < sure.alternatives[0].probability


def test_an_unsure_reading_never_hides_an_emergency(matcher: Matcher) -> None:
    match = match_transcript(_heard("I fell and I can't get up", logprob=-1.5), matcher)
    assert match.emergency is not None and match.emergency.id == "fall"


@pytest.mark.parametrize(
    ("transcript", "emergency"),
    [
        # A loop written while guessing is whisper running on over noise (said: "falls").
        (_heard("I can't get up, I can't get up.", logprob=-0.9), None),
        (
            _heard(
                "I feel my pain, my muscles, I can't breathe, I can't breathe.",
                "I feel my pain, my muscles, I can't breathe tight, I can't breathe.",
                logprob=-0.81,
            ),
            None,  # and its variants in the beam are no evidence either
        ),
        # Said with confidence, a repeated call is one.
        (_heard("Help me, help me.", logprob=-0.49), "urgent"),
        (_heard("Somebody help me, somebody help me.", logprob=-0.67), "urgent"),
        # One trigger word needs most of the beam's readings ("suicide" for "exercise").
        (
            _heard(
                "My man can't give me a direct suicide.",
                "My man can't give me a threat to sight.",
                "My man can't give me a threat, suicide.",
                "My mac is killing me after exercise.",
                "My man is killing me after exercise.",
                logprob=-0.68,
            ),
            None,
        ),
        (_heard("All in all, ambulance.", logprob=-0.95), "urgent"),  # the only reading
        (_heard("I'm feeling suicidal.", "I am feeling suicidal.", "I'm feeling so sad."), "self-harm"),
        # A less likely reading sharing no word with the best one is the engine's other guess.
        (_heard("Do, do, massage in physical therapy", "I can't get up.", "Do, do."), None),
        # A call for help in a less likely reading, when the best one says nothing else.
        (_heard("Can you tell me?", "Can you help me?"), "urgent"),
        (_heard("Help me understand spasticity.", "Help me understand", "Help"), None),
        # Guessing, a call may carry no word it does not explain.
        (_heard("And we wanted to sign in our calls for help.", logprob=-1.14), None),
        (_heard("Please help me.", logprob=-0.9), "urgent"),
    ],
)
def test_what_whisper_invents_over_noise_is_no_emergency(
    matcher: Matcher, transcript: Transcript, emergency: str | None
) -> None:
    match = match_transcript(transcript, matcher)
    assert (match.emergency.id if match.emergency else None) == emergency
    assert (match.decision is Decision.EMERGENCY) == (emergency is not None)


@pytest.mark.parametrize(
    ("text", "alternatives", "offered_first"),
    [
        # The best reading is not answered; a less likely one is: offered, never answered.
        ("Mass on the exercise, what is that?", ("What is passive exercise?",), "passive-exercise"),
        ("Flick stability for MS.", ("Flexibility exercises for MS.",), "flexibility-exercise"),
        # A reading that would be answered but for a misheard topic word ("trans furs")
        # is strong enough to offer.
        ("How do I get better at trends first?", ("How do I get better at trans furs?",), "transfers"),
        # The first answered reading counts; unanswered ones are passed over.
        (
            "Two, two, macargin.",
            ("Two, two, my garden.", "Do you do massage in physical therapy?"),
            "massage-ultrasound",
        ),
    ],
)
def test_an_answer_in_another_reading_is_offered_not_given(
    matcher: Matcher, text: str, alternatives: tuple[str, ...], offered_first: str
) -> None:
    assert matcher.match(text).decision is not Decision.ANSWER
    match = match_transcript(_heard(text, *alternatives), matcher)
    assert match.decision is Decision.CONFIRM and match.entry is None
    assert match.offered[0].entry_id == offered_first
    assert match.input == text and match.say.startswith("Do you mean")


def test_other_readings_never_replace_an_answered_best_reading(matcher: Matcher) -> None:
    text = "Is my physio the same as a physiatrist?"
    match = match_transcript(_heard(text, "What kinds of exercise does a PT recommend?"), matcher)
    assert match.decision is Decision.ANSWER and match.entry is not None
    assert match.entry.id == "pt-vs-physiatrist"
