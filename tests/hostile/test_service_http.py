"""The kiosk service's HTTP side under hostile requests: each is refused with a 4xx and a
message, costs the service a bounded amount, and leaves it answering as before."""

from __future__ import annotations

import io
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import soundfile

from tests.hostile.conftest import HANG_GUARD_S, TOKEN, Service, peak_rss_mb
from tests.hostile.test_audio_inputs import BOMBS

pytestmark = pytest.mark.slow

BOMB_GROWTH_MB = 150.0
"""The service's peak memory may grow by this much for bombs; one decoded bomb was 2.9 GB."""


def _post_audio(service: Service, data: bytes) -> tuple[int, dict[str, object]]:
    with service.client() as client:
        reply = client.post("/api/ask/audio", content=data, headers={"content-type": "audio/flac"})
    return reply.status_code, reply.json()


def test_decode_bombs_answer_413_three_at_once(service: Service) -> None:
    bomb = BOMBS["8 channels at 655,350 Hz, 119 s"]()
    before = peak_rss_mb(service.pid)
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda _: _post_audio(service, bomb), range(3)))
    for status, body in replies:
        assert status == 413 and "beyond what a question needs" in str(body["error"]), body
    assert peak_rss_mb(service.pid) - before < BOMB_GROWTH_MB
    service.assert_healthy()


def test_a_recording_over_two_minutes_answers_413(service: Service) -> None:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(8000 * 125, dtype=np.int16), 8000, format="WAV", subtype="PCM_16")
    with service.client() as client:
        reply = client.post(
            "/api/ask/audio", content=buffer.getvalue(), headers={"content-type": "audio/wav"}
        )
    assert reply.status_code == 413 and "too long" in reply.json()["error"], reply.text
    service.assert_healthy()


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"text": ' + b"[" * 50_000 + b"}", b"\xff\xfe", b'{"text": "\\u0000"}'],
    ids=["nested-list", "nested-in-text", "not-utf8", "nul-only"],
)
def test_malformed_json_answers_400_without_a_traceback(service: Service, body: bytes) -> None:
    with service.client() as client:
        reply = client.post("/api/ask", content=body, headers={"content-type": "application/json"})
    assert reply.status_code == 400 and reply.json()["error"], reply.text
    service.assert_log_clean()
    service.assert_healthy()


@pytest.mark.parametrize("text", ["\u200b\u200b\u200b", "\x00", "\u200e\u200f\ufeff"])
def test_a_question_of_invisible_characters_is_empty_and_not_kept(service: Service, text: str) -> None:
    with service.client() as client:
        reply = client.post("/api/ask", json={"text": text})
        assert reply.status_code == 400 and "empty" in reply.json()["error"], reply.text
        review = client.get("/api/admin/review", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    kept = [group["representative"] for group in review["groups"]]
    assert all(text.strip() not in representative for representative in kept)


@pytest.mark.parametrize(
    ("host", "origin"),
    [("evil.example:{port}", "http://evil.example:{port}"), ("evil.example:{port}", None), ("", None)],
    ids=["rebound-with-origin", "rebound-without-origin", "empty-host"],
)
def test_foreign_host_names_are_refused(service: Service, host: str, origin: str | None) -> None:
    headers = {"host": host.format(port=service.port), "content-type": "application/json"}
    if origin:
        headers["origin"] = origin.format(port=service.port)
    with service.client() as client:
        reply = client.post("/api/ask", content=b'{"text": "what is a rollator"}', headers=headers)
        page = client.get("/", headers={"host": headers["host"]})
    assert reply.status_code == 400 and "--allowed-host" in reply.json()["error"], reply.text
    assert page.status_code == 400
    service.assert_healthy()


@pytest.mark.parametrize("since", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "not a date"])
def test_out_of_range_review_dates_answer_422(service: Service, since: str) -> None:
    with service.client() as client:
        reply = client.get(
            "/api/admin/review", params={"since": since}, headers={"Authorization": f"Bearer {TOKEN}"}
        )
    assert reply.status_code == 422 and "date" in reply.json()["error"], reply.text
    service.assert_log_clean()


def _stalled_requests(service: Service, count: int, source: str) -> list[socket.socket]:
    """`count` connections from `source` (another loopback address: the service caps each
    client's connections) that send half a request and then nothing."""
    stalled = []
    for _ in range(count):
        try:
            sock = socket.create_connection(
                ("127.0.0.1", service.port), timeout=10, source_address=(source, 0)
            )
        except OSError:  # refused past the per-client cap: as good as held
            continue
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        except OSError:
            sock.close()
            continue
        stalled.append(sock)
    return stalled


def _still_open(sock: socket.socket) -> bool:
    sock.settimeout(0.05)
    try:
        return sock.recv(1) != b""
    except TimeoutError:
        return True
    except OSError:
        return False


def test_stalled_requests_are_closed_and_do_not_starve_others(service: Service) -> None:
    stalled = _stalled_requests(service, 300, "127.0.0.2")
    try:
        service.assert_healthy()  # while they are held
        held = sum(_still_open(sock) for sock in stalled)
        assert held <= 64, f"{held} connections held by one client"
        deadline = time.monotonic() + HANG_GUARD_S
        while any(_still_open(sock) for sock in stalled):  # closed by the header deadline
            assert time.monotonic() < deadline, "stalled requests were never closed"
            time.sleep(1)
    finally:
        for sock in stalled:
            sock.close()
    service.assert_healthy()
    service.assert_log_clean()


def test_the_health_check_says_what_it_should(service: Service) -> None:
    with service.client() as client:
        health = client.get("/healthz").json()
    assert json.dumps(health) and health["ok"] is True
