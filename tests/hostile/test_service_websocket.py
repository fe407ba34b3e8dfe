"""The listening WebSocket under hostile clients: malformed messages of every type, a
client streaming faster than real time, slots held by silence, slot exhaustion. Each is
answered with an error event or a clean close, and the other kiosks carry on."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.hostile.conftest import HANG_GUARD_S, Service, start_service

pytestmark = pytest.mark.slow

SESSIONS = 3
IDLE_S = 6.0
FRAME = bytes(640)
"""20 ms of silence, the page's frame."""


@pytest.fixture(scope="module")
def kiosk_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A service with few slots and a short idle rule, so that both can be probed quickly."""
    running, stop = start_service(
        tmp_path_factory.mktemp("ws"), "--max-sessions", str(SESSIONS), "--session-idle", str(IDLE_S)
    )
    try:
        yield running
    finally:
        stop()


def _open(service: Service) -> ClientConnection:
    url = service.url.replace("http://", "ws://") + "/api/listen"
    return connect(url, origin=service.url, open_timeout=60, max_size=None)  # type: ignore[arg-type]


def _until(ws: ClientConnection, kind: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        message = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        if isinstance(message, str) and json.loads(message)["type"] == kind:
            event: dict[str, Any] = json.loads(message)
            return event


def _ready(ws: ClientConnection) -> None:
    _until(ws, "ready")
    greeting = _until(ws, "speak")
    ws.send(json.dumps({"type": "done", "speak_id": greeting["id"], "interrupted": False}))


def _closed_with(ws: ClientConnection, timeout: float) -> int | None:
    """The close code once the server closes, reading (and dropping) events until then."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ws.recv(timeout=max(0.1, deadline - time.monotonic()))
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None
    return None


MALFORMED: dict[str, str | bytes] = {
    "choose with a list": '{"type": "choose", "entry_id": [1]}',
    "command as a list": '{"type": "command", "command": ["stop"]}',
    "deep nesting": "[" * 2000,
    "done with text id": '{"type": "done", "speak_id": "1"}',
    "unknown type": '{"type": "shutdown"}',
    "not an object": "[1, 2, 3]",
    "not json": "stop",
    "oversized text": json.dumps({"type": "key", "pad": "x" * 5000}),
    "odd-length audio": b"\x00" * 641,
    "oversized audio": b"\x00" * 64_000,
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_messages_get_an_error_and_the_session_goes_on(kiosk_service: Service, name: str) -> None:
    with _open(kiosk_service) as ws:
        _ready(ws)
        ws.send(MALFORMED[name])
        error = _until(ws, "error")
        assert error["fatal"] is False and error["message"], error
        ws.send(json.dumps({"type": "command", "command": "help"}))
        assert _until(ws, "speak")["text"]  # still served
    kiosk_service.assert_log_clean()


def test_a_client_faster_than_real_time_is_refused_and_others_carry_on(kiosk_service: Service) -> None:
    with _open(kiosk_service) as fast:
        _ready(fast)
        started = time.monotonic()
        try:
            for _ in range(30_000):  # 600 s of audio, as fast as the socket takes it
                fast.send(FRAME)
        except ConnectionClosed:
            pass
        code = _closed_with(fast, HANG_GUARD_S)
        assert code == 1008, code
        assert time.monotonic() - started < HANG_GUARD_S
    kiosk_service.assert_healthy()


def test_silence_does_not_hold_a_slot(kiosk_service: Service) -> None:
    with ExitStack() as stack:
        held = [stack.enter_context(_open(kiosk_service)) for _ in range(SESSIONS)]
        for ws in held:
            _ready(ws)
        with pytest.raises(ConnectionClosed) as refused, _open(kiosk_service) as extra:
            _until(extra, "ready")  # every slot is taken: an error event, then 1013
        assert refused.value.rcvd is not None and refused.value.rcvd.code == 1013
        # Silent and empty frames at the page's pace, and no question: each is closed.
        deadline = time.monotonic() + IDLE_S + HANG_GUARD_S
        open_sessions = list(held)
        while open_sessions:
            assert time.monotonic() < deadline, "silent sessions kept their slots"
            for ws in list(open_sessions):
                try:
                    ws.send(FRAME)
                    ws.send(b"")
                    ws.recv(timeout=0.01)
                except TimeoutError:
                    pass
                except ConnectionClosed as closed:
                    assert closed.rcvd is not None and closed.rcvd.code == 1000, closed
                    open_sessions.remove(ws)
            time.sleep(0.1)
    with _open(kiosk_service) as again:  # the slots are free again
        _ready(again)
    kiosk_service.assert_healthy()
