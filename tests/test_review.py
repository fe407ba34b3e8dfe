"""The staff review log: what is kept, how it is stored, grouping, and surviving a crash."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from voice.core.faq import load_set
from voice.core.matcher import Candidate, Matcher
from voice.review import (
    SCHEMA_VERSION,
    ReviewEntry,
    ReviewLog,
    ReviewLogError,
    default_path,
    group,
    parse_since,
    topic,
)


@pytest.fixture
def matcher(tiny_set: Path) -> Matcher:
    return Matcher(load_set(tiny_set))


@pytest.fixture
def log(tmp_path: Path) -> ReviewLog:
    with ReviewLog(tmp_path / "state" / "review.sqlite3") as opened:
        opened.set_id = "tiny"
        yield opened


@pytest.mark.parametrize(
    ("question", "kept"),
    [
        ("can i bring my dog", True),  # fallback
        ("what is a row later", True),  # confirm
        ("should I use a walker", False),  # answered
        ("I fell and can't get up", False),  # emergency: handled, not a gap in the answers
    ],
)
def test_only_fallbacks_and_confirms_are_kept(
    log: ReviewLog, matcher: Matcher, question: str, kept: bool
) -> None:
    assert log.add(matcher.match(question), source="typed") is kept
    assert len(log.entries()) == int(kept)


def test_a_row_holds_text_decision_candidates_and_set(log: ReviewLog, matcher: Matcher) -> None:
    match = matcher.match("what is a row later")
    before = datetime.now(UTC)
    log.add(match, "  what is a   row later ", "listen")
    (entry,) = log.entries()
    assert entry.transcript == "what is a row later" and entry.source == "listen"
    assert entry.decision == "confirm" and entry.set_id == "tiny"
    assert [c.entry_id for c in entry.candidates] == [c.entry_id for c in match.alternatives]
    assert entry.candidates[0].entry_id == "walker"
    assert entry.candidates[0].score == pytest.approx(match.alternatives[0].score, abs=1e-4)
    stored = datetime.fromisoformat(entry.time)
    assert stored.tzinfo is not None and before <= stored <= datetime.now(UTC)
    columns = {row[1] for row in sqlite3.connect(log.path).execute("PRAGMA table_info(review)")}
    assert columns == {"id", "time", "source", "transcript", "decision", "candidates", "set_id"}  # no audio


def test_unknown_source_is_refused(log: ReviewLog, matcher: Matcher) -> None:
    with pytest.raises(ValueError, match="source must be one of"):
        log.add(matcher.match("can i bring my dog"), source="email")


def test_the_file_is_wal_with_a_schema_version(log: ReviewLog) -> None:
    db = sqlite3.connect(log.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_reopening_keeps_the_rows(tmp_path: Path, matcher: Matcher) -> None:
    path = tmp_path / "review.sqlite3"
    with ReviewLog(path) as first:
        first.add(matcher.match("can i bring my dog"))
    with ReviewLog(path, create=False) as second:
        assert [e.transcript for e in second.entries()] == ["can i bring my dog"]


def test_since_filters_by_time(log: ReviewLog, matcher: Matcher) -> None:
    log.add(matcher.match("can i bring my dog"))
    assert len(log.entries(datetime.now(UTC) - timedelta(minutes=1))) == 1
    assert log.entries(datetime.now(UTC) + timedelta(minutes=1)) == []
    assert len(log.entries(datetime(2000, 1, 1))) == 1  # naive: taken as UTC


def test_many_threads_write_safely(log: ReviewLog, matcher: Matcher) -> None:
    match = matcher.match("can i bring my dog")

    def write(worker: int) -> None:
        for number in range(40):
            log.add(match, f"question {worker} {number}")

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({e.transcript for e in log.entries()}) == 240


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not a database at all, just some text" * 100, "not a readable review log"),
        (b"", "empty file"),
    ],
)
def test_a_broken_file_is_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "review.sqlite3"
    path.write_bytes(content)
    with pytest.raises(ReviewLogError, match=message):
        ReviewLog(path, create=False)


def test_other_databases_and_newer_schemas_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(ReviewLogError, match="not a voicefaq review log"):
        ReviewLog(other)
    newer = tmp_path / "newer.sqlite3"
    db = sqlite3.connect(newer)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(ReviewLogError, match="newer voicefaq"):
        ReviewLog(newer)


def test_a_missing_file_is_an_error_when_reading(tmp_path: Path) -> None:
    with pytest.raises(ReviewLogError, match="no review log at"):
        ReviewLog(tmp_path / "absent.sqlite3", create=False)
    assert not (tmp_path / "absent.sqlite3").exists()


def test_a_closed_log_refuses_writes_with_a_review_error(log: ReviewLog, matcher: Matcher) -> None:
    log.close()
    with pytest.raises(ReviewLogError, match="cannot write"):
        log.add(matcher.match("can i bring my dog"))


def test_default_path_follows_xdg_state_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_path() == tmp_path / "voicefaq" / "review.sqlite3"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert default_path() == Path.home() / ".local" / "state" / "voicefaq" / "review.sqlite3"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05-01", datetime(2026, 5, 1, tzinfo=UTC)),
        ("2026-05-01T09:30", datetime(2026, 5, 1, 9, 30, tzinfo=UTC)),
    ],
)
def test_parse_since(text: str, expected: datetime) -> None:
    assert parse_since(text) == expected


def test_parse_since_says_what_to_write() -> None:
    with pytest.raises(ReviewLogError, match="YYYY-MM-DD"):
        parse_since("last tuesday")


def test_topic_drops_fillers_and_function_words() -> None:
    assert topic("Um, can I bring my dog?") == topic("bring dog")
    assert topic("what is it") != ""  # nothing but function words: all of them are kept


def _entry(number: int, text: str, candidates: tuple[Candidate, ...] = ()) -> ReviewEntry:
    time = (datetime(2026, 5, 1, tzinfo=UTC) + timedelta(minutes=number)).isoformat()
    return ReviewEntry(number, time, "typed", text, "fallback", candidates, "tiny")


@pytest.mark.parametrize(
    ("questions", "expected"),
    [
        (
            [
                "can I bring my dog",
                "where do I park",
                "can i bring my dog",
                "is my dog allowed to come in",
                "um can I bring my dog with me",
                "where is the parking",
                "what is the wifi password",
            ],
            [
                ("can I bring my dog", 3),
                ("where do I park", 2),
                ("is my dog allowed to come in", 1),  # too few words in common with "bring dog"
                ("what is the wifi password", 1),
            ],
        ),
        ([], []),
        (["same", "same", "same"], [("same", 3)]),
    ],
)
def test_grouping_puts_wordings_together_biggest_first(
    questions: list[str], expected: list[tuple[str, int]]
) -> None:
    groups = group([_entry(n, text) for n, text in enumerate(questions)])
    assert [(g.representative, g.count) for g in groups] == expected


def test_a_group_lists_other_wordings_and_best_candidates() -> None:
    walker = Candidate("walker", "Should I use a walker?", 0.4)
    cane = Candidate("cane", "Should I use a cane?", 0.3)
    entries = [
        _entry(1, "rollator or stick", (walker, cane)),
        _entry(2, "rollator or walking stick", (Candidate("walker", walker.question, 0.5),)),
        _entry(3, "rollator or stick", (cane,)),
    ]
    (found,) = group(entries)
    assert found.representative == "rollator or stick" and found.wordings == ("rollator or walking stick",)
    assert [(c.entry_id, c.score) for c in found.candidates] == [("walker", 0.5), ("cane", 0.3)]
    data = found.to_dict()
    assert data["count"] == 3 and data["first"] < data["last"]
    json.dumps(data)


_WRITER = """
import sys
from pathlib import Path
from voice.core.faq import load_set
from voice.core.matcher import Matcher
from voice.review import ReviewLog

log = ReviewLog(Path(sys.argv[1]))
match = Matcher(load_set(sys.argv[2])).match("can i bring my dog")
number = 0
while True:
    number += 1
    log.add(match, f"question {number}", "listen")
    print(number, flush=True)  # after the commit: this row must survive
"""


def test_a_killed_writer_leaves_every_committed_row(tmp_path: Path, tiny_set: Path) -> None:
    path = tmp_path / "review.sqlite3"
    committed = 0
    with subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), str(tiny_set)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    ) as writer:
        assert writer.stdout is not None
        try:
            for line in writer.stdout:
                committed = int(line)
                if committed >= 300:
                    break
        finally:
            os.kill(writer.pid, signal.SIGKILL)  # mid-way through the next write
    assert committed >= 300, "the writer stopped early"
    with ReviewLog(path, create=False) as reopened:
        numbers = [int(entry.transcript.split()[1]) for entry in reopened.entries()]
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # Every row reported committed is there, and nothing half-written: the writer may have
    # committed more while its output sat in the pipe, but always whole rows, in order.
    assert len(numbers) >= committed
    assert numbers == list(range(1, len(numbers) + 1))
