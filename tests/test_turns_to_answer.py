"""Turns to answer (tools/turns.py): the scripted person through the real dialogue.

On a handful of the recorded spoken dev clips, and on made-up transcripts whose decisions
are known (checked once, below), so that each path of the script is taken.
"""

from __future__ import annotations

import pytest

from tests.conftest import DEPRESSION, FES, FOOT_DROP, PARK, WALKER, pinned_matcher
from tools import transcripts, turns
from tools.quality import Labelled
from tools.transcripts import Heard
from voice.asr import Transcript
from voice.core.config import default_answers_dir
from voice.core.faq import FaqSet, load_set
from voice.core.matcher import Decision, Matcher


@pytest.fixture(scope="module")
def faq() -> FaqSet:
    return load_set(default_answers_dir())


@pytest.fixture(scope="module")
def matcher(faq: FaqSet) -> Matcher:
    return pinned_matcher(faq)


def _heard(text: str | None, expect: str, condition: str = "clean") -> Heard:
    transcript = None if text is None else Transcript(text, (), "whisper", 2.0, logprob=-0.2)
    clip = {name: None for name in transcripts.CLIP_FIELDS}
    return Heard("made-up.wav", Labelled(text or "", expect), condition, clip, transcript)


@pytest.mark.parametrize(
    ("text", "expect", "count", "gave_up", "person"),
    [
        (FES, "fes", 1, False, [FES]),
        (FOOT_DROP, "fes", 2, False, [FOOT_DROP, "yes"]),
        (WALKER, "walking-aid-pain", 2, False, [WALKER, "the first"]),
        (WALKER, "mobility-aids", 2, False, [WALKER, "the second"]),
        (WALKER, "scooter", 4, True, [WALKER, WALKER]),  # not offered: asked again, then given up
        (PARK, "scooter", 4, True, [PARK, PARK]),
        (DEPRESSION, "fes", 4, True, [DEPRESSION, DEPRESSION]),  # a wrong answer
        (None, "fes", 4, True, ["", ""]),  # no speech heard
    ],
)
def test_the_script(
    faq: FaqSet,
    matcher: Matcher,
    text: str | None,
    expect: str,
    count: int,
    gave_up: bool,
    person: list[str],
) -> None:
    outcome = turns_for(faq, matcher, text, expect)
    assert (outcome.turns, outcome.gave_up) == (count, gave_up), outcome.said
    assert [line.removeprefix("person: ") for line in outcome.said if line.startswith("person: ")] == person
    if not gave_up:
        assert f"assistant: {faq.entry(expect).answer}" in outcome.said


def turns_for(faq: FaqSet, matcher: Matcher, text: str | None, expect: str) -> turns.Outcome:
    return turns.converse(_heard(text, expect), faq, matcher)


def test_a_direct_answer_is_one_turn_and_no_words_before_it(faq: FaqSet, matcher: Matcher) -> None:
    outcome = turns_for(faq, matcher, FES, "fes")
    assert (outcome.turns, outcome.gave_up, outcome.words) == (1, False, 0)


def test_a_confirmation_counts_its_words(faq: FaqSet, matcher: Matcher) -> None:
    confirm = matcher.match(FOOT_DROP).say
    outcome = turns_for(faq, matcher, FOOT_DROP, "fes")
    assert outcome.words == len(confirm.split()) and outcome.confirmations == (len(confirm.split()),)
    assert f"assistant: {confirm}" in outcome.said


def test_recorded_clips(faq: FaqSet, matcher: Matcher) -> None:
    """A handful of the recorded clips: one answered right at once, one confirmed with the
    right entry offered, and an out-of-scope one that the tool leaves out."""
    _, heard = transcripts.read_heard()
    decided = [(clip, transcripts.decide(clip, matcher)) for clip in heard]
    direct = next(
        clip
        for clip, match in decided
        if match.decision is Decision.ANSWER and match.entry and match.entry.id in clip.said.acceptable
    )
    confirmed = next(
        clip
        for clip, match in decided
        if match.decision is Decision.CONFIRM
        and clip.said.kind == "in_scope"
        and any(c.entry_id in clip.said.acceptable for c in match.offered)
    )
    outside = next(clip for clip in heard if clip.said.kind != "in_scope")
    outcomes = turns.run([direct, confirmed, outside], faq, matcher)
    assert [(o.file, o.turns, o.gave_up) for o in outcomes] == [
        (direct.file, 1, False),
        (confirmed.file, 2, False),
    ]
    summaries = turns.by_condition(outcomes)
    assert summaries["all"].clips == 2 and summaries["all"].mean_turns == 1.5
    assert summaries["all"].gave_up == 0.0
    assert "mean turns" in turns.table(summaries)


def test_summary_counts_give_ups_at_the_cap() -> None:
    outcomes = [
        turns.Outcome("a.wav", "clean", 1, False, 0, ()),
        turns.Outcome("b.wav", "clean", 2, False, 6, (), (6,)),
        turns.Outcome("c.wav", "pink 5 dB", turns.GIVE_UP_TURNS, True, 30, (), (5, 7)),
    ]
    summary = turns.summarise(outcomes)
    assert summary.mean_turns == pytest.approx((1 + 2 + turns.GIVE_UP_TURNS) / 3)
    assert summary.first_turn == pytest.approx(1 / 3) and summary.gave_up == pytest.approx(1 / 3)
    assert summary.mean_words == 3.0  # over the clips that reached the answer
    assert summary.confirm_words == 6.0  # over every confirmation asked
    assert list(turns.by_condition(outcomes)) == ["clean", "pink 5 dB", "all"]


def test_main_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert turns.main([]) == 0
    out = capsys.readouterr().out
    assert "mean turns" in out and "\nall " in out
