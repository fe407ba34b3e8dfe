import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ENTRIES, JSON_FIELDS, scaled, write_set
from voice.cli import main


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stream)


def test_ask_prints_decision_and_answer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "what is an ankle foot orthosis"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("decision: answer")
    assert "entry:    afo:" in out
    assert "ankle-foot orthosis" in out


def test_ask_json_has_the_documented_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--json", "is", "a", "physio", "the", "same", "as", "a", "physiatrist"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert JSON_FIELDS <= set(result)
    assert result["decision"] == "answer" and result["entry_id"] == "pt-vs-physiatrist"
    assert 0 <= result["score"] <= 1
    assert {"match_ms", "load_ms"} <= set(result["timings_ms"])
    assert all(set(a) == {"entry_id", "question", "score", "probability"} for a in result["alternatives"])


@pytest.mark.parametrize(
    ("question", "decision"),
    [
        ("I've fallen and I can't get up", "emergency"),
        ("where do I park", "fallback"),
        ("I keep falling", "answer"),
    ],
)
def test_every_decision_exits_zero(capsys: pytest.CaptureFixture[str], question: str, decision: str) -> None:
    assert main(["ask", "--json", question]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == decision


def test_jsonl_answers_one_line_per_line_and_reports_bad_lines(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, b"what is a rollator\n\ncaf\xe9 au lait\n" + b"x" * 10_001 + b"\nchest pain\n")
    assert main(["ask", "--jsonl"]) == 1
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert len(lines) == 5
    assert lines[0]["entry_id"] == "mobility-aids"
    assert "empty" in lines[1]["error"]
    assert "not UTF-8" in lines[2]["error"]
    assert "limit is 10,000" in lines[3]["error"]
    assert lines[4]["decision"] == "emergency"
    assert "line 2:" in captured.err and "Traceback" not in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ask", "   "], "the question is empty"),
        (["ask", "x" * 10_001], "the limit is 10,000"),
        (["ask", "caf\udce9"], "not UTF-8"),
        (["ask", "--jsonl", "a question"], "--jsonl reads questions from standard input"),
        (["ask", "--json"], "--json needs a question"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2_with_a_message(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_text_mode_reads_questions_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, b"what is an afo\nwhere is the cafeteria\n")
    assert main(["ask"]) == 0
    out = capsys.readouterr().out
    assert out.count("decision:") == 2 and "decision: fallback" in out


def test_check_accepts_the_bundled_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "ok: 40 entries" in out and "warning" not in out


def test_check_warns_about_entries_without_a_topic(
    tiny_set: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tiny_set)]) == 0
    captured = capsys.readouterr()
    assert f"{tiny_set / 'entries.yaml'}:2: warning: entry 'walker' has no 'topic'" in captured.err
    assert f"ok: {len(ENTRIES)} entries" in captured.out and f"; {len(ENTRIES)} warnings" in captured.out


def test_check_lists_problems_with_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = [dict(ENTRIES[0], related=["nowhere"]), *ENTRIES[1:]]
    directory = write_set(tmp_path / "broken", entries=broken)
    assert main(["check", str(directory)]) == 1
    err = capsys.readouterr().err
    assert f"{directory / 'entries.yaml'}:2: entry 'walker': related id 'nowhere'" in err
    assert "1 problem" in err


def test_ask_refuses_an_invalid_set_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_set(tmp_path / "broken", entries=[dict(ENTRIES[0], answer="")])
    assert main(["ask", "--answers", str(directory), "do i need a walker"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("voicefaq: error: the answers set has") and "'answer' is empty" in err


def test_ask_with_a_missing_answers_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--answers", str(tmp_path / "nope"), "hello"]) == 1
    assert "no such directory" in capsys.readouterr().err


def test_console_script_and_module_run_without_a_traceback(tmp_path: Path) -> None:
    voicefaq = Path(sys.executable).with_name("voicefaq")
    for command in ([str(voicefaq)], [sys.executable, "-m", "voice"]):
        done = subprocess.run(
            [*command, "ask", "--json", "what is FES"],
            capture_output=True,
            text=True,
            check=False,
            timeout=scaled(60),
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["entry_id"] == "fes"
    done = subprocess.run(
        [str(voicefaq), "ask", "--jsonl"],
        input=b"\xff\xfe\n",
        capture_output=True,
        check=False,
        timeout=scaled(60),
    )
    assert done.returncode == 1 and b"Traceback" not in done.stderr
