"""The spoken emergency probe replayed: calls for help recognised through mishearing, and
at most one false alarm in a hundred spoken questions. No recogniser runs here.

What whisper heard on the probe's 496 clips (tests/data/emergency-probe.jsonl: 54 calls for
help that name no symptom, 70 questions with alarming or helping words; each clean and at
20, 10 and 5 dB SNR) is recorded once in tests/fixtures/emergency-probe-heard.jsonl
(`python -m tools.emergency_probe record`). Replaying it is deterministic: every clip's
emergency must be as in the golden file, after an intended change `python -m
tools.emergency_probe bless` rewrites it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import emergency_probe, transcripts
from tools.quality import Report, load
from tools.spoken_plan import CONDITIONS, condition
from tools.transcripts import Heard
from voice.core.faq import load_set
from voice.core.matcher import Decision, Match, Matcher
from voice.vocabulary import speech_prompt

FLOORS = {
    # condition: (calls recognised, most false alarms), in clips; comments: of how many.
    "clean": (46, 0),  # 54 calls, 70 questions
    "babble 20 dB": (19, 0),  # 24, 30
    "babble 10 dB": (15, 0),  # 29, 44
    "babble 5 dB": (4, 1),  # 23, 38
    "pink 20 dB": (24, 1),  # 30, 40
    "pink 10 dB": (14, 0),  # 25, 26
    "pink 5 dB": (11, 0),  # 31, 32
    "all": (133, 2),  # 216, 280
}
"""Exact on the recorded transcripts: raise one when a change does better; lowering one is
a decision to make on purpose, with the golden file's diff."""
NEVER_HEARD = {
    # Whisper keeps no call word in any of the four clips.
    "is anybody there help me": "They may not be in their health, me. / Is anybody in that field me? / ...",
    "shomebody help": "Shumbog it, help. / Shombani elb. / Show me how you feel. / Show of detail.",
}
SPELLED_TO_BE_SLURRED = {"its an emergenshy"}
"""A spelling for espeak-ng to slur; whisper writes "emergency", a keyboard user would not."""


@pytest.fixture(scope="module")
def matcher(bundled_set: Path) -> Matcher:
    return Matcher(load_set(bundled_set))


@pytest.fixture(scope="module")
def heard() -> list[Heard]:
    return transcripts.read_heard(emergency_probe.HEARD)[1]


@pytest.fixture(scope="module")
def replayed(heard: list[Heard], matcher: Matcher) -> list[Match]:
    return transcripts.replay(heard, matcher)


@pytest.fixture(scope="module")
def reports(heard: list[Heard], replayed: list[Match]) -> dict[str, Report]:
    return transcripts.reports(heard, replayed)


def test_the_recording_is_of_today_s_probe(heard: list[Heard], matcher: Matcher) -> None:
    fix = f"the probe changed since it was recorded: run `{emergency_probe.RECORD}`"
    specs = emergency_probe.plan(load(emergency_probe.SOURCE))
    assert [clip.file for clip in heard] == [spec.name for spec in specs], fix
    for clip, spec in zip(heard, specs, strict=True):
        assert clip.said == spec.question, (clip.file, fix)
        assert clip.condition == condition(spec.noise, spec.snr_db), (clip.file, fix)
        assert (clip.clip["voice"], clip.clip["speed"]) == (spec.voice, spec.speed), (clip.file, fix)
    recorded = transcripts.read_heard(emergency_probe.HEARD)[0]
    assert recorded["prompt"] == speech_prompt(matcher.faq_set), fix


def test_the_probe_is_as_the_issue_asks(heard: list[Heard]) -> None:
    said = {clip.said for clip in heard}
    assert sum(row.kind == "emergency" for row in said) >= 40
    assert sum(row.kind != "emergency" for row in said) >= 60
    assert {clip.clip["voice"] for clip in heard} <= set(emergency_probe.VOICES)
    assert {clip.clip["speed"] for clip in heard} == {110, 130, 150, 170}
    assert {clip.condition for clip in heard} == set(CONDITIONS)


def test_every_clip_is_as_in_the_golden_file(heard: list[Heard], replayed: list[Match]) -> None:
    golden = emergency_probe.GOLDEN.read_text(encoding="utf-8").splitlines()
    now = emergency_probe.decisions(heard, replayed)
    if golden != now:
        changed = transcripts.differences(golden, now, heard)
        pytest.fail(
            "\n".join([*changed[:60], f"if intended, run `{emergency_probe.BLESS}`"]),
            pytrace=False,
        )


@pytest.mark.parametrize("name", FLOORS)
def test_each_condition_meets_its_floors(reports: dict[str, Report], name: str) -> None:
    recognised, false_alarms = FLOORS[name]
    report = reports[name]
    assert report.emergencies_recognised >= recognised, report.summary()
    assert report.false_alarms <= false_alarms, report.summary()
    assert report.wrong_answers == 0, report.summary()


def test_every_call_for_help_is_recognised(
    heard: list[Heard], replayed: list[Match], matcher: Matcher
) -> None:
    """Each wording in at least one of its clips (the two listed keep no call word in any),
    and every one typed."""
    recognised: dict[str, bool] = {}
    for clip, match in zip(heard, replayed, strict=True):
        if clip.said.kind == "emergency":
            recognised[clip.said.text] = recognised.get(clip.said.text, False) or (
                match.decision is Decision.EMERGENCY
            )
    assert {text for text, found in recognised.items() if not found} == set(NEVER_HEARD)
    typed = {text for text in recognised if matcher.match(text).decision is not Decision.EMERGENCY}
    assert typed == SPELLED_TO_BE_SLURRED


def test_no_question_of_the_probe_is_an_emergency_typed(matcher: Matcher) -> None:
    questions = [row.text for row in load(emergency_probe.SOURCE) if row.kind != "emergency"]
    assert [text for text in questions if matcher.match(text).decision is Decision.EMERGENCY] == []


def test_false_alarms_at_most_one_in_a_hundred_spoken_questions(
    heard: list[Heard], replayed: list[Match], matcher: Matcher
) -> None:
    """Over the probe's questions and the recorded spoken dev set's (issue 11)."""
    dev = transcripts.read_heard()[1]
    pairs = [*zip(heard, replayed, strict=True), *zip(dev, transcripts.replay(dev, matcher), strict=True)]
    questions = [match for clip, match in pairs if clip.said.kind != "emergency"]
    alarms = sum(match.decision is Decision.EMERGENCY for match in questions)
    assert len(questions) == 410 and alarms * 100 <= len(questions), alarms


def test_the_probe_is_labelled_as_the_spoken_sets_are(matcher: Matcher) -> None:
    lines = emergency_probe.SOURCE.read_text(encoding="utf-8").splitlines()
    ids = {entry.id for entry in matcher.faq_set.entries} | {"fallback", "emergency"}
    for line in lines:
        row = json.loads(line)
        assert set(row) <= {"text", "expect", "also"} and row["expect"] in ids, line
    assert len({json.loads(line)["text"] for line in lines}) == len(lines)
