"""The command line under careless or hostile input: a clear message, a non-zero exit, no
traceback, at a bounded cost."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.conftest import run_measured
from voice.core.faq import load_set
from voice.core.matcher import Matcher
from voice.review import ReviewLog

pytestmark = pytest.mark.slow


def test_an_endless_line_on_standard_input_costs_one_line(tmp_path: Path) -> None:
    endless = b"a" * 200_000_000 + b"\nwhat is a rollator\n"
    ran = run_measured(["ask", "--jsonl"], stdin=endless)
    assert ran.code == 1 and "line 1: the question is" in ran.err and "Traceback" not in ran.err
    assert '"entry_id": "mobility-aids"' in ran.out  # the next line is still answered
    assert ran.cost.peak_mb < 200, ran.cost  # the line alone is 200 MB


@pytest.mark.parametrize("question", ["\u200b\u200b", "\u200e", "\t"])
def test_a_question_of_invisible_characters_is_a_usage_error(question: str) -> None:
    ran = run_measured(["ask", question])
    assert ran.code == 2 and "the question is empty" in ran.err and "Traceback" not in ran.err


@pytest.mark.parametrize("since", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "yesterday"])
def test_review_dates_out_of_range_are_explained(tmp_path: Path, since: str) -> None:
    log = tmp_path / "review.sqlite3"
    ReviewLog(log).close()
    ran = run_measured(["review", "--db", str(log), "--since", since])
    assert ran.code == 1 and "Traceback" not in ran.err, ran.err
    assert "date" in ran.err


@pytest.fixture
def read_only_log(tmp_path: Path, bundled_set: Path) -> Iterator[Path]:
    """A valid review log seen through a read-only bind mount (needs mount rights: root
    in a container that allows it; skipped elsewhere)."""
    writable, read_only = tmp_path / "rw", tmp_path / "ro"
    writable.mkdir()
    read_only.mkdir()
    with ReviewLog(writable / "review.sqlite3") as log:
        log.add(Matcher(load_set(bundled_set)).match("can i bring my dog"))
    mounted = subprocess.run(["mount", "--bind", str(writable), str(read_only)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        if subprocess.run(["mount", "-o", "remount,ro,bind", str(read_only)], capture_output=True).returncode:
            pytest.skip("cannot remount read-only here")
        yield read_only / "review.sqlite3"
    finally:
        subprocess.run(["umount", str(read_only)], check=True)


def test_a_log_on_a_read_only_disk_is_read_not_called_damaged(read_only_log: Path) -> None:
    ran = run_measured(["review", "--db", str(read_only_log)])
    assert ran.code == 0, ran.err
    assert "can i bring my dog" in ran.out and "move it aside" not in ran.err


def test_a_service_given_a_read_only_log_says_the_disk_is_the_problem(read_only_log: Path) -> None:
    ran = run_measured(["serve", "--port", "0", "--review-db", str(read_only_log)])
    assert ran.code == 1 and "read-only" in ran.err and "The log itself is fine" in ran.err, ran.err
    assert "move it aside" not in ran.err and "Traceback" not in ran.err
