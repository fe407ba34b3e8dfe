"""The kiosk service's HTTP API through FastAPI's TestClient: every endpoint, every bad
input (4xx with a message, and the service keeps serving), security headers, Origin
refusal and the staff token. Spoken answers use espeak-ng; spoken questions whisper."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
import soundfile
import yaml
from fastapi.testclient import TestClient
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketDisconnect

from tests.conftest import ENTRIES, JSON_FIELDS, SET_YAML, write_set
from voice.cli import main
from voice.review import ReviewLog
from voice.service.app import create_app
from voice.service.errors import SessionsFullError
from voice.service.limits import Limits
from voice.service.runtime import Runtime, same_origin

TOKEN = "a-staff-token-long-enough"
SAME_ORIGIN = "http://localhost"
LIMITS = Limits(max_body_bytes=2_000_000, max_audio_s=20.0, max_utterance_s=6.0)
STAFF = {"Authorization": f"Bearer {TOKEN}"}


def _client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), base_url="http://localhost") as client:
        yield client


@pytest.fixture
def runtime(tiny_set: Path, tmp_path: Path) -> Runtime:
    return Runtime(tiny_set, limits=LIMITS, admin_token=TOKEN, review=ReviewLog(tmp_path / "review.sqlite3"))


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    yield from _client(runtime)


def _ask(client: TestClient, text: object) -> Any:
    return client.post("/api/ask", json={"text": text})


def _still_serving(client: TestClient) -> None:
    response = _ask(client, "should I use a walker")
    assert response.status_code == 200 and response.json()["entry_id"] == "walker"


# --- health and the answers set -----------------------------------------------------


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {
        "ok": True,
        "set": "tiny",
        "entries": len(ENTRIES),
        "engine": None,
        "engine_loaded": False,
        "sessions": 0,
        "review": True,
    }


def test_faq_lists_entries_and_attribution(client: TestClient) -> None:
    data = client.get("/api/faq").json()
    assert data["title"] == SET_YAML["title"] and data["disclaimer"] == SET_YAML["disclaimer"]
    assert data["source"]["author"] == "Test author" and data["source"]["sections"]
    assert [e["id"] for e in data["entries"]] == [e["id"] for e in ENTRIES]
    walker = data["entries"][0]
    assert set(walker) == {"id", "question", "section", "answer", "details", "related"}
    assert walker["related"] == ["cane"] and walker["details"]
    assert [e["id"] for e in data["emergencies"]] == ["fall", "chest"]


# --- typed questions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "decision", "entry_id"),
    [
        ("should I use a walker", "answer", "walker"),
        ("what is a row later", "confirm", None),
        ("where is the parking garage", "fallback", None),
        ("I fell and can't get up", "emergency", None),
    ],
)
def test_ask_gives_the_cli_json(
    client: TestClient,
    tiny_set: Path,
    capsys: pytest.CaptureFixture[str],
    question: str,
    decision: str,
    entry_id: str | None,
) -> None:
    response = _ask(client, question)
    assert response.status_code == 200
    data = response.json()
    assert data["decision"] == decision and data["entry_id"] == entry_id
    assert main(["ask", "--json", "--answers", str(tiny_set), question]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert set(data) == set(cli) and JSON_FIELDS <= set(data)
    del data["timings_ms"], cli["timings_ms"]
    assert data == cli


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (b'{"text": "walker"', {}, 400, "not valid JSON"),
        (b"\xff\xfe not utf-8", {}, 400, "not valid JSON"),
        (b'["walker"]', {}, 400, 'question in "text"'),
        (b'{"question": "walker"}', {}, 400, 'question in "text"'),
        (b'{"text": 42}', {}, 400, '"text" must be a string, not int'),
        (b'{"text": null}', {}, 400, "not NoneType"),
        (b'{"text": "   "}', {}, 400, "the question is empty"),
        (json.dumps({"text": "walker " * 2000}).encode(), {}, 400, "the limit is 10,000"),
        (b'{"text": "walker"}', {"content-type": "text/plain"}, 415, "application/json"),
        (b"x" * 2_000_001, {}, 413, "the limit is 2,000,000"),
        (b"walker", {"content-length": "abc"}, 400, "Content-Length"),
    ],
)
def test_bad_questions_get_4xx_with_a_fix(
    client: TestClient, body: bytes, headers: dict[str, str], status: int, message: str
) -> None:
    response = client.post("/api/ask", content=body, headers={"content-type": "application/json", **headers})
    assert response.status_code == status
    assert message in response.json()["error"]
    _still_serving(client)


def test_a_body_without_content_length_is_counted_as_it_arrives(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(30):
            yield b" " * 100_000

    response = client.post("/api/ask", content=chunks(), headers={"content-type": "application/json"})
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 413 and "over the limit" in response.json()["error"]
    _still_serving(client)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/nothing", 404), ("DELETE", "/api/ask", 405), ("GET", "/api/ask", 405)],
)
def test_unknown_routes_answer_json(client: TestClient, method: str, path: str, status: int) -> None:
    response = client.request(method, path, headers={"origin": SAME_ORIGIN})
    assert response.status_code == status and response.json()["error"]


def test_an_unexpected_error_is_a_500_json_and_the_service_carries_on(runtime: Runtime) -> None:
    app = create_app(runtime)

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    with TestClient(app, base_url="http://localhost") as client:
        response = client.get("/broken")
        assert response.status_code == 500
        assert response.json() == {"error": "internal error; the service log has the details"}
        assert response.headers["x-content-type-options"] == "nosniff"
        _still_serving(client)


# --- security headers and origins -------------------------------------------------------


def test_page_is_served_with_a_strict_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "media-src 'self' blob:",
        "connect-src 'self' ws://localhost wss://localhost",
        "frame-ancestors 'none'",
    ):
        assert directive in policy
    assert "unsafe-inline" not in policy and "*" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/healthz", "/api/faq", "/api/nothing"])
def test_every_response_has_the_headers_and_no_cors(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"origin": "https://elsewhere.example"})
    assert "content-security-policy" in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert not any(name.startswith("access-control-") for name in response.headers)


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (None, True),  # curl, scripts: no Origin header
        (SAME_ORIGIN, True),
        ("http://LocalHost", True),
        ("https://localhost", False),
        ("http://localhost:8000", False),
        ("http://evil.example", False),
        ("null", False),  # sandboxed frames and file:// pages
    ],
)
def test_posts_from_other_origins_are_refused(client: TestClient, origin: str | None, allowed: bool) -> None:
    headers = {"origin": origin} if origin else {}
    response = client.post("/api/ask", json={"text": "should I use a walker"}, headers=headers)
    assert response.status_code == (200 if allowed else 403)
    if not allowed:
        assert "only pages served by this kiosk" in response.json()["error"]


def test_websockets_from_other_origins_are_refused(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("ws://localhost/api/listen", headers={"origin": "http://evil.example"}):
            pass
    assert refused.value.code == 1008


@pytest.mark.parametrize(
    ("scheme", "host", "origin", "same"),
    [
        ("ws", "127.0.0.1:8000", "http://127.0.0.1:8000", True),
        ("wss", "kiosk.local", "https://kiosk.local", True),
        ("https", "kiosk.local:443", "https://kiosk.local", True),
        ("http", "[::1]:8000", "http://[::1]:8000", True),
        ("ws", "127.0.0.1:8000", "http://localhost:8000", False),
        ("ws", "127.0.0.1:8000", "https://127.0.0.1:8000", False),
        ("http", "bad host\r\nx: y", "http://bad host", False),
    ],
)
def test_same_origin(scheme: str, host: str, origin: str, same: bool) -> None:
    scope = {
        "type": "http",
        "scheme": scheme,
        "path": "/",
        "headers": [(b"host", host.encode()), (b"origin", origin.encode())],
    }
    assert same_origin(HTTPConnection(scope)) is same


# --- staff endpoints ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong-token-of-some-length"}, 401),
        ({"Authorization": f"Basic {TOKEN}"}, 401),
        ({"Authorization": f"Bearer {TOKEN}x"}, 401),
        (STAFF, 200),
    ],
)
def test_staff_endpoints_need_the_token(client: TestClient, headers: dict[str, str], status: int) -> None:
    for response in (
        client.post("/api/admin/reload", headers=headers),
        client.get("/api/admin/review", headers=headers),
    ):
        assert response.status_code == status
        if status == 401:
            assert response.headers["www-authenticate"] == "Bearer" and "Bearer" in response.json()["error"]


def test_staff_endpoints_are_off_without_a_token(tiny_set: Path) -> None:
    for client in _client(Runtime(tiny_set)):
        response = client.post("/api/admin/reload", headers=STAFF)
        assert response.status_code == 403
        assert (
            "--admin-token-file" in response.json()["error"]
            and "VOICEFAQ_ADMIN_TOKEN" in response.json()["error"]
        )


def test_reload_picks_up_new_phrasings_and_keeps_the_old_set_when_broken(
    client: TestClient, tiny_set: Path
) -> None:
    assert _ask(client, "can i bring my dog").json()["decision"] == "fallback"
    entries = [dict(entry) for entry in ENTRIES]
    entries.append(
        {
            "id": "dogs",
            "question": "Can I bring my dog?",
            "section": "Doctors",
            "answer": "Assistance dogs are welcome; please ask at the desk about other dogs.",
            "phrasings": [
                "can i bring my dog",
                "are dogs allowed",
                "dog in the clinic",
                "bring a pet",
                "service dog",
                "can my dog come",
            ],
            "keywords": ["dog", "pet"],
            "related": [],
        }
    )
    write_set(tiny_set, entries=entries)
    response = client.post("/api/admin/reload", headers=STAFF)
    assert response.json() == {"ok": True, "set": "tiny", "entries": len(entries)}
    assert _ask(client, "can i bring my dog").json()["entry_id"] == "dogs"
    (tiny_set / "entries.yaml").write_text(yaml.safe_dump({"entries": [{"id": "Bad Id"}]}))
    response = client.post("/api/admin/reload", headers=STAFF)
    assert response.status_code == 422 and "problem" in response.json()["error"]
    assert _ask(client, "can i bring my dog").json()["entry_id"] == "dogs"


def test_review_lists_unanswered_questions_grouped(client: TestClient) -> None:
    asked = ("can i bring my dog", "Can I bring my dog?", "what is a row later", "should I use a walker")
    for question in asked:
        _ask(client, question)
    data = client.get("/api/admin/review", headers=STAFF).json()
    assert data["total"] == 3  # the answered one is not kept
    first = data["groups"][0]
    assert (first["count"], first["representative"], first["wordings"]) == (
        2,
        "can i bring my dog",
        ["Can I bring my dog?"],
    )
    assert data["groups"][1]["candidates"][0]["entry_id"] in {"walker", "cane"}
    assert client.get("/api/admin/review?since=2999-01-01", headers=STAFF).json() == {
        "total": 0,
        "groups": [],
    }
    response = client.get("/api/admin/review?since=yesterday", headers=STAFF)
    assert response.status_code == 422 and "YYYY-MM-DD" in response.json()["error"]


def test_review_off_is_a_clear_404(tiny_set: Path) -> None:
    for client in _client(Runtime(tiny_set, admin_token=TOKEN)):
        _ask(client, "can i bring my dog")
        response = client.get("/api/admin/review", headers=STAFF)
        assert response.status_code == 404 and "--no-review" in response.json()["error"]


def test_a_broken_review_log_does_not_stop_answers(client: TestClient, runtime: Runtime) -> None:
    assert runtime.review is not None
    runtime.review.close()
    response = _ask(client, "can i bring my dog")
    assert response.status_code == 200 and response.json()["decision"] == "fallback"


# --- spoken answers (espeak-ng) ---------------------------------------------------------


def _wav_seconds(data: bytes) -> float:
    info = soundfile.info(io.BytesIO(data))
    return info.frames / info.samplerate


def test_answer_audio_is_a_cached_wav(client: TestClient, runtime: Runtime) -> None:
    response = client.get("/api/answers/walker/audio")
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    assert _wav_seconds(response.content) > 1.5
    etag = response.headers["etag"]
    assert response.headers["cache-control"] == "no-cache"
    assert len(runtime.speech_cache) == 1
    again = client.get("/api/answers/walker/audio")
    assert again.content == response.content and len(runtime.speech_cache) == 1
    unchanged = client.get("/api/answers/walker/audio", headers={"if-none-match": etag})
    assert unchanged.status_code == 304 and not unchanged.content


def test_rate_and_part_change_the_audio(client: TestClient) -> None:
    slow = client.get("/api/answers/walker/audio?rate=90&volume=1.0")
    fast = client.get("/api/answers/walker/audio?rate=250&volume=0.4")
    assert _wav_seconds(slow.content) > 1.8 * _wav_seconds(fast.content)
    assert slow.headers["etag"] != fast.headers["etag"]
    details = client.get("/api/answers/walker/audio?part=details")
    question = client.get("/api/answers/walker/audio?part=question")
    assert details.status_code == question.status_code == 200
    assert len({details.content, question.content, client.get("/api/answers/walker/audio").content}) == 3


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/answers/nope/audio", 404, "no entry 'nope'"),
        ("/api/answers/cane/audio?part=details", 404, "has no details"),
        ("/api/answers/walker/audio?part=everything", 422, "part"),
        ("/api/answers/walker/audio?rate=500", 422, "rate must be 80 to 260"),
        ("/api/answers/walker/audio?rate=fast", 422, "rate"),
        ("/api/answers/walker/audio?volume=0", 422, "volume must be 0.2 to 1.0"),
        ("/api/answers/walker/audio?voice=klingon", 422, "unknown voice 'klingon'"),
        ("/api/say/emergency/flood", 404, "this set has: fall, chest"),
        ("/api/say/weather", 422, "kind"),
    ],
)
def test_bad_audio_requests(client: TestClient, path: str, status: int, message: str) -> None:
    response = client.get(path)
    assert response.status_code == status and message in response.json()["error"]
    _still_serving(client)


@pytest.mark.parametrize("path", ["/api/say/fallback", "/api/say/disclaimer", "/api/say/emergency/fall"])
def test_set_texts_are_speakable(client: TestClient, path: str) -> None:
    response = client.get(path + "?rate=150")
    assert response.status_code == 200 and _wav_seconds(response.content) > 0.5


# --- the runtime ----------------------------------------------------------------------


def test_session_slots_are_limited(tiny_set: Path) -> None:
    runtime = Runtime(tiny_set, limits=Limits(max_sessions=2))

    async def scenario() -> None:
        async with runtime.session_slot(), runtime.session_slot():
            assert runtime.sessions == 2
            with pytest.raises(SessionsFullError, match="all 2 listening sessions"):
                async with runtime.session_slot():
                    pass
        async with runtime.session_slot():
            assert runtime.sessions == 1
        assert runtime.sessions == 0

    anyio.run(scenario)


def test_blocking_work_runs_off_the_event_loop(tiny_set: Path) -> None:
    runtime = Runtime(tiny_set)

    async def scenario() -> tuple[int, int]:
        return threading.get_ident(), await runtime.run_blocking(threading.get_ident)

    loop_thread, worker_thread = anyio.run(scenario)
    assert loop_thread != worker_thread


@pytest.mark.parametrize("limits", [{"max_sessions": 0}, {"max_body_bytes": -1}])
def test_limits_must_be_positive(limits: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        Limits(**limits)  # type: ignore[arg-type]


# --- recorded questions ---------------------------------------------------------------


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is needed: apt-get install espeak-ng"
    folder = tmp_path_factory.mktemp("service-clips")
    made: dict[str, bytes] = {}
    for name, text in {
        "walker": "should I use a walker",
        "parking": "where is the parking garage",
        "long": "should I use a walker or a cane for my balance when I walk outside " * 2,
    }.items():
        path = folder / f"{name}.wav"
        subprocess.run([espeak, "-v", "en-us+m3", "-s", "140", "-w", str(path), text], check=True)
        made[name] = path.read_bytes()
    samples, rate = soundfile.read(io.BytesIO(made["walker"]), dtype="float32")
    made["flac"] = _encode(np.stack([samples, samples], axis=1), rate, "FLAC")
    made["silence"] = _encode(np.zeros(32_000, dtype=np.float32), 16_000, "WAV")
    made["too_long"] = _encode(np.zeros(16_000 * 25, dtype=np.float32), 16_000, "WAV")
    return made


def _encode(samples: np.ndarray, rate: int, kind: str) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format=kind)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("clip", "content_type", "status", "message"),
    [
        ("silence", "audio/wav", 422, "no speech heard"),
        ("too_long", "audio/wav", 413, "the limit is 20 s"),
        ("long", "audio/wav", 413, "more than 6 s of speech"),
        ("walker", "text/plain", 415, "audio Content-Type"),
    ],
)
def test_bad_recordings_are_refused_before_the_engine(
    client: TestClient, clips: dict[str, bytes], clip: str, content_type: str, status: int, message: str
) -> None:
    response = client.post("/api/ask/audio", content=clips[clip], headers={"content-type": content_type})
    assert response.status_code == status and message in response.json()["error"]
    assert client.get("/healthz").json()["engine_loaded"] is False
    _still_serving(client)


@pytest.mark.parametrize(
    ("content", "files", "status", "message"),
    [
        (b"RIFF....WAVEfmt this is not audio", None, 400, "cannot read it as audio"),
        (b"", None, 400, "the file is empty"),
        (b"--", None, 400, "the multipart form cannot be read"),
        (None, {"upload": ("q.wav", b"RIFF", "audio/wav")}, 400, "no file field named 'file'"),
        (
            None,
            {"file": ("q.wav", b"RIFF", "audio/wav"), "more": ("r.wav", b"RIFF", "audio/wav")},
            400,
            "Too many",
        ),
        (
            None,
            {"file": ("notes.txt", b"hello there", "text/plain")},
            400,
            "notes.txt: cannot read it as audio",
        ),
    ],
)
def test_broken_uploads_get_4xx(
    client: TestClient, content: bytes | None, files: dict[str, Any] | None, status: int, message: str
) -> None:
    if files is None:
        kind = "multipart/form-data" if content == b"--" else "audio/wav"
        response = client.post("/api/ask/audio", content=content, headers={"content-type": kind})
    else:
        response = client.post("/api/ask/audio", files=files)
    assert response.status_code == status and message in response.json()["error"]
    _still_serving(client)


@pytest.fixture(scope="module")
def whisper_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Runtime]]:
    folder = tmp_path_factory.mktemp("whisper-service")
    runtime = Runtime(
        write_set(folder / "tiny"),
        limits=LIMITS,
        admin_token=TOKEN,
        review=ReviewLog(folder / "review.sqlite3"),
    )
    for client in _client(runtime):
        yield client, runtime


@pytest.mark.whisper
@pytest.mark.parametrize(
    ("clip", "how", "decision", "entry_id"),
    [
        ("walker", "multipart", "answer", "walker"),
        ("flac", "raw", "answer", "walker"),
        ("parking", "raw", "fallback", None),
    ],
)
def test_spoken_questions_give_the_cli_json(
    whisper_client: tuple[TestClient, Runtime],
    clips: dict[str, bytes],
    clip: str,
    how: str,
    decision: str,
    entry_id: str | None,
) -> None:
    client, runtime = whisper_client
    if how == "multipart":
        response = client.post("/api/ask/audio", files={"file": ("question.wav", clips[clip], "audio/wav")})
    else:
        kind = "audio/flac" if clip == "flac" else "audio/wav"
        response = client.post("/api/ask/audio", content=clips[clip], headers={"content-type": kind})
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["decision"], data["entry_id"]) == (decision, entry_id)
    assert data["engine"] == "whisper" and data["audio_s"] > 1 and data["transcript"]
    assert JSON_FIELDS | {"audio", "transcript", "engine", "audio_s", "confidence", "words"} <= set(data)
    assert {"asr_ms", "vad_ms", "decode_ms", "match_ms"} <= set(data["timings_ms"])
    assert client.get("/healthz").json()["engine_loaded"] is True
    kept = runtime.review.entries() if runtime.review else []
    assert any(e.source == "spoken" and e.transcript == data["transcript"] for e in kept) is (
        decision == "fallback"
    )


@pytest.mark.whisper
def test_a_dead_engine_process_costs_one_request_a_503(
    whisper_client: tuple[TestClient, Runtime], clips: dict[str, bytes]
) -> None:
    import signal

    from voice.asr.worker import WhisperProcess

    client, runtime = whisper_client
    engine = runtime.recognizer()
    assert isinstance(engine, WhisperProcess) and engine._process is not None
    os.kill(engine._process.pid, signal.SIGKILL)
    headers = {"content-type": "audio/wav"}
    response = client.post("/api/ask/audio", content=clips["walker"], headers=headers)
    assert response.status_code == 503 and "starts again" in response.json()["error"]
    again = client.post("/api/ask/audio", content=clips["walker"], headers=headers)
    assert again.status_code == 200 and again.json()["entry_id"] == "walker"


@pytest.mark.whisper
def test_the_engine_loads_once_for_concurrent_callers(whisper_client: tuple[TestClient, Runtime]) -> None:
    _, runtime = whisper_client

    async def scenario() -> set[int]:
        found: list[int] = []

        async def load() -> None:
            found.append(id(await runtime.run_blocking(runtime.recognizer)))

        async with anyio.create_task_group() as group:
            for _ in range(4):
                group.start_soon(load)
        return set(found)

    assert len(anyio.run(scenario)) == 1


@pytest.mark.whisper
def test_the_engine_runs_in_its_own_process_and_ends_with_the_service(tiny_set: Path) -> None:
    from voice.asr.worker import WhisperProcess

    runtime = Runtime(tiny_set, limits=LIMITS, admin_token=TOKEN)
    first = runtime.recognizer()
    assert isinstance(first, WhisperProcess) and first._process is not None
    first_pid = first._process.pid
    runtime.reload()  # a new engine with the new words; the old one's process ends
    second = runtime.recognizer()
    assert isinstance(second, WhisperProcess) and second._process is not None
    second_pid = second._process.pid
    assert second_pid != first_pid
    runtime.close()
    for pid in (first_pid, second_pid):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
