"""`voicefaq serve` (a real uvicorn on a free port) and `voicefaq review`."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.conftest import scaled
from voice.cli import main
from voice.core.faq import load_set
from voice.core.matcher import Matcher
from voice.review import ReviewLog

TOKEN = "a-staff-token-long-enough"
ROOT = Path(__file__).resolve().parent.parent


class ServerLog:
    """The child's stderr, drained on a thread (a full pipe would stall the server), and
    waited on line by line."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._ended = False
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def wait_for(self, pattern: str, seconds: float) -> re.Match[str]:
        """The first line matching `pattern`, waiting up to `scaled(seconds)` for it."""
        deadline = time.monotonic() + scaled(seconds)
        with self._changed:
            while True:
                for line in self.lines:
                    if found := re.search(pattern, line):
                        return found
                left = deadline - time.monotonic()
                if self._ended or left <= 0:
                    pytest.fail(f"no line matching {pattern!r} from voicefaq serve:\n{''.join(self.lines)}")
                self._changed.wait(left)


@pytest.fixture
def server(tiny_set: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`voicefaq serve --port 0` in a child process, once it serves and its speech engine has
    loaded; yields its base URL and review log."""
    review_db = tmp_path / "review.sqlite3"
    env = {**os.environ, "VOICEFAQ_ADMIN_TOKEN": TOKEN, "XDG_STATE_HOME": str(tmp_path / "state")}
    command = [sys.executable, "-m", "voice", "serve", "--port", "0", "--answers", str(tiny_set)]
    with subprocess.Popen(
        [*command, "--review-db", str(review_db)], stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    ) as child:
        assert child.stderr is not None
        log = ServerLog(child.stderr)
        try:
            url = log.wait_for(r"on (http://127\.0\.0\.1:\d+)/", 30).group(1)
            log.wait_for(r"Application startup complete", 60)
            # The engine loads in the background (a whisper child process, at a low priority):
            # a reload while it loads waits for it, then loads another, which on a busy
            # machine took longer than any fixed request timeout.
            log.wait_for(r"speech engine (ready|not loaded)", 120)
            yield url, review_db
        finally:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=scaled(30))
            except subprocess.TimeoutExpired:
                child.kill()  # the with block would otherwise wait for it without end
                raise


def test_serve_answers_on_a_free_port(server: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    url, review_db = server
    # Requests wait on the engine's reload (a new whisper process): generous, but bounded.
    with httpx.Client(base_url=url, timeout=scaled(60)) as client:
        health = client.get("/healthz")
        assert health.status_code == 200 and health.json()["set"] == "tiny"
        assert "content-security-policy" in health.headers and "server" not in health.headers
        assert client.post("/api/ask", json={"text": "can i bring my dog"}).json()["decision"] == "fallback"
        reload = client.post("/api/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert reload.status_code == 200 and reload.json()["set"] == "tiny"
    assert main(["review", "--db", str(review_db), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["total"] == 1 and listed["groups"][0]["representative"] == "can i bring my dog"


def test_serve_on_a_taken_port_exits_1(tiny_set: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["serve", "--port", str(port), "--no-review", "--answers", str(tiny_set)])
    assert code == 1
    assert f"port {port} on 127.0.0.1 is already in use" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "token_file", "env_token", "message"),
    [
        (["--port", "70000"], None, None, "--port must be 0 to 65535"),
        (["--host", "no-such-host.invalid"], None, None, "cannot listen on 'no-such-host.invalid'"),
        ([], "short", None, "at least 16 characters"),
        ([], None, "short", "$VOICEFAQ_ADMIN_TOKEN must be at least 16"),
        ([], "", None, "at least 16 characters"),
        (["--admin-token-file", "/nonexistent/token"], None, None, "cannot read the admin token file"),
    ],
)
def test_serve_refuses_bad_settings(
    tiny_set: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    token_file: str | None,
    env_token: str | None,
    message: str,
) -> None:
    monkeypatch.delenv("VOICEFAQ_ADMIN_TOKEN", raising=False)
    if env_token is not None:
        monkeypatch.setenv("VOICEFAQ_ADMIN_TOKEN", env_token)
    if token_file is not None:
        (tmp_path / "token").write_text(token_file)
        arguments = [*arguments, "--admin-token-file", str(tmp_path / "token")]
    assert main(["serve", "--no-review", "--answers", str(tiny_set), *arguments]) == 1
    assert message in capsys.readouterr().err


def test_no_review_and_review_db_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["serve", "--no-review", "--review-db", "x.sqlite3"])
    assert usage.value.code == 2 and "not allowed with" in capsys.readouterr().err


@pytest.fixture
def filled_log(tmp_path: Path, tiny_set: Path) -> Path:
    matcher = Matcher(load_set(tiny_set))
    path = tmp_path / "review.sqlite3"
    with ReviewLog(path) as log:
        for question in (
            "can i bring my dog",
            "Can I bring my dog?",
            "what is a row later",
            "should I use a walker",
        ):
            log.add(matcher.match(question), source="typed")
    return path


def test_review_lists_groups_most_asked_first(filled_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "--db", str(filled_log)]) == 0
    out = capsys.readouterr().out
    assert "3 questions ended in fallback or confirm, in 2 groups" in out
    assert out.index('1. 2 x "can i bring my dog"') < out.index('2. 1 x "what is a row later"')
    assert 'also: "Can I bring my dog?"' in out
    assert "walker: Should I use a walker?" in out and "no entry came close" in out


def test_review_json(filled_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "--db", str(filled_log), "--json", "--since", "2000-01-01"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"] == 3 and [g["count"] for g in data["groups"]] == [2, 1]


@pytest.mark.parametrize("since", ["2999-01-01", None])
def test_review_of_nothing_is_friendly(
    tmp_path: Path, filled_log: Path, capsys: pytest.CaptureFixture[str], since: str | None
) -> None:
    if since is None:
        ReviewLog(tmp_path / "empty.sqlite3").close()
        arguments = ["--db", str(tmp_path / "empty.sqlite3")]
    else:
        arguments = ["--db", str(filled_log), "--since", since]
    assert main(["review", *arguments]) == 0
    assert capsys.readouterr().out.startswith("Nothing to review")


@pytest.mark.parametrize(
    ("content", "arguments", "message"),
    [
        (None, [], "no review log at"),
        (b"not a database " * 200, [], "is not a readable review log"),
        (b"", ["--since", "yesterday"], "use YYYY-MM-DD"),
    ],
)
def test_review_errors_exit_1(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes | None,
    arguments: list[str],
    message: str,
) -> None:
    path = tmp_path / "review.sqlite3"
    if content is not None:
        path.write_bytes(content)
    assert main(["review", "--db", str(path), *arguments]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_review_uses_the_xdg_state_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert main(["review"]) == 1
    assert str(tmp_path / "voicefaq" / "review.sqlite3") in capsys.readouterr().err
