import copy
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ENTRIES, SET_YAML, write_set
from voice.core.faq import check_set, load_set
from voice.errors import AnswersFormatError


def test_bundled_set_is_valid_and_complete(bundled_set: Path) -> None:
    faq_set = load_set(bundled_set)
    assert 25 <= len(faq_set.entries) <= 40
    assert faq_set.source.author == "Jonathan Simmons"
    assert faq_set.disclaimer and faq_set.fallback
    assert {e.id for e in faq_set.emergencies} >= {"fall", "chest-pain", "breathing", "self-harm"}
    for entry in faq_set.entries:
        assert len(entry.phrasings) >= 6, entry.id
        assert entry.keywords, entry.id
        assert len(entry.answer.split()) <= 50, entry.id
        assert entry.section in faq_set.source.sections, entry.id


def test_bundled_set_leaves_out_web_boilerplate(bundled_set: Path) -> None:
    text = " ".join(f"{e.answer} {e.details or ''}" for e in load_set(bundled_set).entries).lower()
    for boilerplate in ("email", "privacy", "more on this topic"):
        assert boilerplate not in text


def test_loads_entries_with_their_file_and_line(tiny_set: Path) -> None:
    faq_set = load_set(tiny_set)
    walker = faq_set.entry("walker")
    assert walker.file == tiny_set / "entries.yaml"
    assert walker.line == 2
    assert walker.details == "A four-wheeled rollator walker is one option."
    assert faq_set.entry("cane").details is None


def _entries_with(change: dict[str, Any], index: int = 0) -> list[dict[str, Any]]:
    entries = copy.deepcopy(ENTRIES)
    entries[index].update(change)
    return [{k: v for k, v in entry.items() if v is not None} for entry in entries]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"answer": None}, "'answer' is missing"),
        ({"answer": "   "}, "'answer' is empty"),
        ({"id": "cane"}, "duplicate id 'cane'"),
        ({"id": "Bad Id"}, "must be lowercase words joined by hyphens"),
        ({"related": ["nowhere"]}, "related id 'nowhere' is not an entry"),
        ({"related": ["walker"]}, "lists itself as related"),
        ({"phrasings": ["do i need a cane", "a", "b", "c", "d", "e"]}, "is also a phrasing of 'walker'"),
        ({"phrasings": ["one", "two"]}, "'phrasings' needs at least 6 items, has 2"),
        ({"keywords": []}, "'keywords' needs at least 1 items"),
        ({"answer": "word " * 60}, "answer has 60 words, too long to speak"),
        ({"section": "Nowhere"}, "section 'Nowhere' is not one of the source sections"),
        ({"colour": "blue"}, "unknown keys: colour"),
        ({"phrasings": "just one string"}, "'phrasings' must be a list"),
        ({"topic": "the one about choosing which walker to get"}, "topic has 8 words; keep it to 6"),
        ({"topic": ["walkers"]}, "'topic' must be text"),
        ({"topic": "  "}, "'topic' is empty"),
    ],
)
def test_reports_entry_problems_with_file_and_line(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    directory = write_set(tmp_path / "set", entries=_entries_with(change))
    faq_set, problems = check_set(directory)
    assert any(message in str(problem) for problem in problems), problems
    assert any(str(problem).startswith(f"{directory / 'entries.yaml'}:") for problem in problems)
    with pytest.raises(AnswersFormatError, match="voicefaq check"):
        load_set(directory)


def test_bundled_set_names_every_entry_by_a_short_topic(bundled_set: Path) -> None:
    faq_set = load_set(bundled_set)
    assert faq_set.warnings == ()
    for entry in faq_set.entries:
        assert 1 <= len(entry.topic.split()) <= 4 and entry.topic != entry.question, entry.id
    assert faq_set.entry("mobility-aids").topic == "walking aids"
    assert faq_set.entry("afo").topic == "an AFO brace"


def test_a_topic_is_read_from_its_entry(tmp_path: Path) -> None:
    directory = write_set(tmp_path / "set", entries=_entries_with({"topic": "  walkers\n and rollators "}))
    faq_set, problems = check_set(directory)
    assert problems == [] and faq_set is not None
    assert faq_set.entry("walker").topic == "walkers and rollators"
    assert all("'walker'" not in warning.message for warning in faq_set.warnings)


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("Should I use a walker?", "should I use a walker"),
        ("Is a walker the same as a rollator?", "is a walker the same as a rollator"),
        ("I keep falling, what helps?", "I keep falling, what helps"),
        ("AFO braces: do they help?", "AFO braces: do they help"),
    ],
)
def test_without_a_topic_the_question_stands_in_and_check_warns(
    tmp_path: Path, question: str, topic: str
) -> None:
    directory = write_set(tmp_path / "set", entries=_entries_with({"question": question}))
    faq_set = load_set(directory)  # loads: a clinic's own set may have no topics yet
    assert faq_set.entry("walker").topic == topic
    warnings = [str(warning) for warning in faq_set.warnings]
    assert len(warnings) == len(ENTRIES)
    assert warnings[0].startswith(f"{directory / 'entries.yaml'}:2: entry 'walker' has no 'topic'")


@pytest.mark.parametrize("other", ["Walkers", "a walker", "the walker?"])
def test_two_entries_with_the_same_topic_are_refused(tmp_path: Path, other: str) -> None:
    entries = _entries_with({"topic": "walker"})
    entries[1]["topic"] = other
    directory = write_set(tmp_path / "set", entries=entries)
    _, problems = check_set(directory)
    (problem,) = problems
    assert str(problem).startswith(f"{directory / 'entries.yaml'}:")
    assert f"entry 'cane': topic '{other}' is also the topic of 'walker'" in problem.message
    lines = (directory / "entries.yaml").read_text().splitlines()
    assert lines[problem.line - 1].strip() == "- id: cane"


def test_a_problem_points_at_the_offending_line(tmp_path: Path) -> None:
    directory = write_set(tmp_path / "set", entries=_entries_with({"related": ["nowhere"]}, index=1))
    _, problems = check_set(directory)
    (problem,) = problems
    lines = (directory / "entries.yaml").read_text().splitlines()
    assert lines[problem.line - 1].strip() == "- id: cane"


def test_broken_yaml_reports_its_line(tmp_path: Path) -> None:
    directory = write_set(tmp_path / "set")
    (directory / "entries.yaml").write_text("entries:\n  - id: a\n    answer: [unclosed\n")
    _, problems = check_set(directory)
    assert problems and "not valid YAML" in str(problems[0]) and problems[0].line >= 3


def test_duplicate_keys_are_reported(tmp_path: Path) -> None:
    directory = write_set(tmp_path / "set")
    text = (directory / "entries.yaml").read_text().replace("  question:", "  answer: again\n  question:", 1)
    (directory / "entries.yaml").write_text(text)
    _, problems = check_set(directory)
    assert any("appears twice" in str(problem) for problem in problems)


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    directory = write_set(tmp_path / "set")
    (directory / "entries.yaml").write_bytes(b"entries:\n  - id: caf\xe9\n")
    _, problems = check_set(directory)
    assert "not UTF-8" in str(problems[0])


def test_oversized_file_is_refused_without_parsing(tmp_path: Path) -> None:
    directory = write_set(tmp_path / "set")
    (directory / "entries.yaml").write_bytes(b"# " + b"x" * 2_100_000)
    _, problems = check_set(directory)
    assert "the limit is" in str(problems[0])


@pytest.mark.parametrize(
    ("set_change", "message"),
    [
        ({"emergencies": []}, "'emergencies' must list at least one"),
        ({"emergencies": [{"id": "x", "say": "Call.", "triggers": ["a| + b"]}]}, "empty alternative"),
        (
            {"emergencies": [{"id": "x", "say": "Call.", "triggers": ["alone: a unless b|"]}]},
            "empty alternative",
        ),
        ({"fallback": None}, "'fallback' is missing"),
        ({"synonyms": {"pt": ["physio"], "doctor": ["physio"]}}, "listed under both"),
        ({"matching": {"answer_probability": "high"}}, "must be a number"),
        ({"matching": {"bravery": 1}}, "unknown matching setting 'bravery'"),
        ({"source": "somewhere"}, "'source' must be a mapping"),
    ],
)
def test_reports_set_problems(tmp_path: Path, set_change: dict[str, Any], message: str) -> None:
    set_yaml = {**SET_YAML, **set_change}
    directory = write_set(tmp_path / "set", set_yaml={k: v for k, v in set_yaml.items() if v is not None})
    _, problems = check_set(directory)
    assert any(message in str(problem) for problem in problems), problems


def test_missing_folder_and_missing_set_file(tmp_path: Path) -> None:
    _, problems = check_set(tmp_path / "absent")
    assert "no such directory" in str(problems[0])
    (tmp_path / "empty").mkdir()
    _, problems = check_set(tmp_path / "empty")
    assert "set.yaml" in str(problems[0]) and "missing" in str(problems[0])


def test_entries_may_be_split_across_files(tmp_path: Path) -> None:
    directory = write_set(tmp_path / "set", entries=ENTRIES[:3])
    import yaml

    (directory / "more.yaml").write_text(yaml.safe_dump({"entries": ENTRIES[3:]}))
    assert len(load_set(directory).entries) == len(ENTRIES)


def test_matching_overrides_reach_the_set(tmp_path: Path) -> None:
    directory = write_set(tmp_path / "set", set_yaml={**SET_YAML, "matching": {"answer_probability": 0.9}})
    assert load_set(directory).matching == {"answer_probability": 0.9}
