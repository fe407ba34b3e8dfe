"""Personal enrolment's figures, replayed from recorded transcripts (tools.enrol_eval): the
enrolment set's questions and prompts, said by simulated atypical voices and by typical
ones, decided with no profile, with the speaker's own, and (typical voices) with an
atypical speaker's. Deterministic: the recogniser is not run (tools.enrol_eval record
makes the recordings, docs/enrolment.md has the figures)."""

from __future__ import annotations

import pytest

from tools import atypical_voice
from tools.enrol_eval import (
    Recorded,
    Score,
    again_report,
    commands_report,
    personalised,
    read_recorded,
    score,
)
from voice.core.config import default_answers_dir
from voice.core.faq import FaqSet, load_set
from voice.core.matcher import Matcher
from voice.core.personal import matcher_for

SETS = ("dev", "heldout")
TYPICAL_LOSS = 0.04
"""A typical voice may reach at most this share of questions fewer with a profile on."""


@pytest.fixture(scope="module")
def faq_set() -> FaqSet:
    return load_set(default_answers_dir())


@pytest.fixture(scope="module", params=SETS)
def recorded(request: pytest.FixtureRequest) -> Recorded:
    return read_recorded(request.param)


def _scores(faq_set: FaqSet, recorded: Recorded, voice: str, profile: str | None) -> Score:
    matcher = Matcher(faq_set) if profile is None else matcher_for(personalised(faq_set, profile, recorded))
    return score(recorded.questions[voice], matcher)


def test_every_voice_said_every_prompt_and_question(recorded: Recorded) -> None:
    assert set(recorded.questions) == set(recorded.prompts)
    assert {*atypical_voice.DEVELOPMENT, *atypical_voice.TYPICAL[:1]} <= set(recorded.questions)
    counts = {len(questions) for questions in recorded.questions.values()}
    assert len(counts) == 1


def test_an_atypical_speakers_profile_does_no_harm_to_them(faq_set: FaqSet, recorded: Recorded) -> None:
    for voice in recorded.questions:
        if voice not in atypical_voice.VOICES:
            continue
        before, after = _scores(faq_set, recorded, voice, None), _scores(faq_set, recorded, voice, voice)
        assert after.reached >= before.reached, voice
        # The person's enrolled questions compete with one entry's answer now and then.
        assert after.answered >= before.answered - 1, voice
        assert after.wrong * 30 <= after.questions, voice  # at most one wrong answer in 30
        assert after.out_answered == 0, voice  # never an out-of-scope question answered
        assert after.emergencies_found >= before.emergencies_found, voice


def test_typical_voices_lose_nothing_with_a_profile_on(faq_set: FaqSet, recorded: Recorded) -> None:
    for voice in recorded.questions:
        if voice in atypical_voice.VOICES:
            continue
        before = _scores(faq_set, recorded, voice, None)
        for profile in recorded.prompts:
            after = _scores(faq_set, recorded, voice, profile)
            assert before.reached - after.reached <= TYPICAL_LOSS * before.questions, (voice, profile)
            assert after.wrong <= before.wrong, (voice, profile)
            assert after.out_answered == 0 and after.emergencies_found >= before.emergencies_found


def test_commands_are_understood_better_with_a_profile_and_never_taken_for_another() -> None:
    rows = commands_report().splitlines()[2:]
    assert len(rows) == len(atypical_voice.VOICES) + len(atypical_voice.TYPICAL)
    for row in rows:
        voice, plain, written, sounded, other = (cell.strip() for cell in row.strip("|").split("|"))
        understood = [int(cell.split("/")[0]) for cell in (plain, written, sounded)]
        assert understood == sorted(understood), voice  # each step understands at least as many
        assert other == "0", voice
        if voice in atypical_voice.VOICES:
            assert understood[2] - understood[0] >= 5, voice


def test_enrolled_questions_asked_again_are_answered_more_and_never_wrongly() -> None:
    rows = again_report().splitlines()[2:]
    by_voice: dict[str, list[list[str]]] = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        by_voice.setdefault(cells[0].split(",")[0], []).append(cells)
    assert set(by_voice) == {*atypical_voice.VOICES, *atypical_voice.TYPICAL}
    for voice, (none, own) in by_voice.items():
        count = [int(cell.split("/")[0]) for cell in (none[1], none[2], own[1], own[2])]
        reached_before, answered_before, reached_after, answered_after = count
        assert reached_after >= reached_before and answered_after >= answered_before, voice
        assert int(own[3]) <= int(none[3]), voice  # wrong answers
