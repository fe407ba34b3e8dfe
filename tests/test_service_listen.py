"""The WebSocket /api/listen through Starlette's TestClient, with real speech: questions
spoken by espeak-ng, resampled to 16 kHz PCM and streamed in 20-100 ms frames, recognised
by whisper tiny.en, answered by the dialogue and spoken back as WAV by espeak-ng."""

from __future__ import annotations

import io
import json
import logging
import queue
import shutil
import threading
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from tests.conftest import scaled
from tools.spoken_set import spoken
from voice.audio import decode as audio_io
from voice.core.faq import load_set
from voice.review import ReviewLog
from voice.service import protocol, session
from voice.service.app import create_app
from voice.service.limits import Limits
from voice.service.runtime import Runtime

pytestmark = [
    pytest.mark.whisper,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng (make setup installs it)"),
]

ORIGIN = {"origin": "http://localhost"}
WAIT_S = scaled(60.0)
"""Seconds to wait for one event: enough for whisper on an idle 2-core machine, stretched by
how busy this one is (tests.conftest.scaled)."""
QUESTIONS = {
    "walking-aid": "can my physical therapist help me choose a walking aid",
    "physiatrist": "is a physical therapist the same as a physiatrist",
    "fall": "I fell in the bathroom and I can't get up",
    "parking": "where can I park my car",
    "stop": "stop",
}


@pytest.fixture(scope="module")
def speech() -> dict[str, bytes]:
    """Each question as 16 kHz 16-bit PCM: 0.5 s of silence, the words, 2.5 s of silence."""
    silence = bytes(audio_io.SAMPLE_RATE)  # 0.5 s
    return {name: silence + spoken(text).pcm16() + silence * 5 for name, text in QUESTIONS.items()}


@pytest.fixture(scope="module")
def runtime(bundled_set: Path, tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    """Two session slots, shared by this module's tests so that the speech engine (a whisper
    process, seconds to start) starts once, not once a test; each test's sessions have ended
    before the next begins (`connect`, `sessions_end`). The app closes it and its review log
    when the client ends. The tests send recorded questions faster than real time, so the
    pacing rule is loosened (tests/hostile/test_service_websocket.py holds a client to it)."""
    review = ReviewLog(tmp_path_factory.mktemp("review") / "review.sqlite3")
    limits = Limits(max_sessions=2, max_utterance_s=10.0, max_audio_ahead_s=3600.0, max_idle_s=3600.0)
    return Runtime(bundled_set, limits=limits, review=review)


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), base_url="http://localhost") as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def patient_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """These clients send a question and then wait, where a page streams its microphone all
    the time: the server's 60 s limit on a silent client ended sessions whose question a busy
    machine took longer to hear (whisper runs at the lowest priority). Never before a wait
    here gives up."""
    monkeypatch.setattr(session, "CLIENT_SILENT_S", 2 * WAIT_S)


@pytest.fixture(autouse=True)
def sessions_end(runtime: Runtime) -> Iterator[None]:
    """No test leaves a session open for the next one to find."""
    yield
    assert runtime.sessions == 0


class Kiosk:
    """The client side of one session: events arrive on a reader thread, so that a missing
    event fails the test after WAIT_S instead of hanging it."""

    def __init__(self, ws: WebSocketTestSession, runtime: Runtime) -> None:
        self.ws = ws
        self.runtime = runtime
        self.events: list[dict[str, Any]] = []
        self.closed = False
        """The server closed the socket."""
        self.open_sessions = 0
        """Sessions open once this one was ready, itself included."""
        self._inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                message = self.ws.receive()
            except Exception as exc:  # the test is over, or the server closed
                self._inbox.put({"type": "websocket.error", "error": repr(exc)})
                return
            self._inbox.put(message)
            if message["type"] == "websocket.close":
                return

    def next(self, timeout: float = WAIT_S) -> dict[str, Any]:
        """The next event; a "speak" event carries its WAV under "wav"."""
        message = self._inbox.get(timeout=timeout)
        if message["type"] != "websocket.send":
            self.closed = True
            return {"type": message["type"], "code": message.get("code"), "reason": message.get("reason")}
        assert message.get("text") is not None, "a binary frame must follow a speak event, never stand alone"
        event: dict[str, Any] = json.loads(message["text"])
        if event["type"] == "speak":
            wav = self._inbox.get(timeout=timeout)
            assert wav.get("bytes") is not None, "the WAV must follow its speak event at once"
            event["wav"] = wav["bytes"]
        self.events.append(event)
        return event

    def until(self, event_type: str, /, timeout: float = WAIT_S, **fields: object) -> dict[str, Any]:
        """Events are read until one of `event_type` with these fields arrives."""
        deadline = time.monotonic() + timeout
        while True:
            event = self.next(max(0.1, deadline - time.monotonic()))
            if event["type"] == event_type and all(event.get(k) == v for k, v in fields.items()):
                return event
            assert event["type"] not in ("websocket.close", "websocket.error"), event

    def start(self) -> dict[str, Any]:
        """Reads "ready", then acknowledges the greeting as played, as the page does."""
        ready = self.next()
        assert ready["type"] == "ready", ready
        self.open_sessions = self.runtime.sessions
        greeting = self.until("speak", kind="notice")
        self.done(greeting["id"])
        return ready

    def done(self, speak_id: int, interrupted: bool = False) -> None:
        self.ws.send_json({"type": "done", "speak_id": speak_id, "interrupted": interrupted})

    def say(self, pcm: bytes, frame_ms: int = 20) -> None:
        size = audio_io.SAMPLE_RATE * 2 * frame_ms // 1000
        for chunk in audio_io.chunks(pcm, size):
            self.ws.send_bytes(chunk)


@contextmanager
def connect(client: TestClient, query: str = "") -> Iterator[Kiosk]:
    """A session ended the way a browser ends one: the client disconnects, and the test
    goes on once the server has finished with it (TestClient cancels whatever is left
    of the app when its context ends, which a real server does not do)."""
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with client.websocket_connect(f"ws://localhost/api/listen{query}", headers=ORIGIN) as ws:
        kiosk = Kiosk(ws, runtime)
        yield kiosk
        if not kiosk.closed and kiosk.open_sessions:
            ws.close(1000)
            deadline = time.monotonic() + WAIT_S
            while runtime.sessions >= kiosk.open_sessions and time.monotonic() < deadline:
                time.sleep(0.02)
            assert runtime.sessions < kiosk.open_sessions, "the session did not end after the client left"


def _wav(data: bytes) -> tuple[int, float]:
    with wave.open(io.BytesIO(data)) as reader:
        return reader.getframerate(), reader.getnframes() / reader.getframerate()


@pytest.mark.parametrize(
    ("name", "frame_ms", "decision", "entry_id", "kind"),
    [
        ("walking-aid", 20, "answer", "mobility-aids", "answer"),
        ("physiatrist", 100, "answer", "pt-vs-physiatrist", "answer"),
        ("fall", 50, "emergency", None, "emergency"),
    ],
)
def test_a_spoken_question_is_heard_decided_and_answered_aloud(
    client: TestClient,
    speech: dict[str, bytes],
    bundled_set: Path,
    name: str,
    frame_ms: int,
    decision: str,
    entry_id: str | None,
    kind: str,
) -> None:
    faq_set = load_set(bundled_set)
    with connect(client) as kiosk:
        ready = kiosk.start()
        assert (
            ready["mode"] == "always" and ready["sample_rate"] == 16_000 and ready["title"] == faq_set.title
        )
        kiosk.say(speech[name], frame_ms)
        kiosk.until("speech_started")
        heard = kiosk.until("heard")
        assert heard["text"] and heard["while_speaking"] is False
        made = kiosk.until("decision")
        assert (made["decision"], made["entry_id"]) == (decision, entry_id), made
        assert made["transcript"] and made["timings_ms"]["asr_ms"] > 0
        spoken = kiosk.until("speak", kind=kind)
        expected = faq_set.entry(entry_id).answer if entry_id else made["answer"]
        assert spoken["text"] == expected
        rate, seconds = _wav(spoken["wav"])
        assert rate == 22_050 and seconds == pytest.approx(spoken["seconds"], abs=0.01) and seconds > 1.0
    order = [event["type"] for event in kiosk.events]
    assert order.index("speech_started") < order.index("speech_ended") < order.index("heard")
    assert order.index("heard") < order.index("decision") < len(order) - order[::-1].index("speak")


def test_commands_by_button_repeat_and_slow_down_the_answer(
    client: TestClient, speech: dict[str, bytes]
) -> None:
    with connect(client) as kiosk:
        ws = kiosk.ws
        kiosk.start()
        kiosk.say(speech["walking-aid"], 40)
        answer = kiosk.until("speak", kind="answer")

        ws.send_json({"type": "command", "command": "repeat"})
        again = kiosk.until("speak", kind="answer")
        assert again["text"] == answer["text"] and again["id"] > answer["id"]

        ws.send_json({"type": "command", "command": "slower"})
        changed = kiosk.until("settings")
        slower = kiosk.until("speak", kind="answer")
        assert changed["settings"]["rate"] == slower["settings"]["rate"] == answer["settings"]["rate"] - 25
        assert slower["text"] == answer["text"] and slower["seconds"] > answer["seconds"] * 1.1

        ws.send_json({"type": "command", "command": "stop"})
        kiosk.until("stop_speaking")
    decisions = [event for event in kiosk.events if event["type"] == "decision"]
    assert len(decisions) == 1, "commands are not questions: no decision for them"


def test_choices_and_keys_from_the_page(client: TestClient, bundled_set: Path) -> None:
    faq_set = load_set(bundled_set)
    with connect(client) as kiosk:
        ws = kiosk.ws
        kiosk.start()
        ws.send_json({"type": "command", "command": "help"})
        topics = kiosk.until("offer", kind="help")
        assert topics["choices"] and {"entry_id", "question"} <= set(topics["choices"][0])
        chosen = topics["choices"][0]["entry_id"]
        ws.send_json({"type": "choose", "entry_id": chosen})
        assert kiosk.until("speak", kind="answer")["text"] == faq_set.entry(chosen).answer
        ws.send_json({"type": "key"})  # in "always" mode a key stops the speech
        kiosk.until("stop_speaking")


def test_an_answer_and_its_follow_up_say_which_is_which(client: TestClient, bundled_set: Path) -> None:
    # The page keeps the answer's caption while the follow-up is said, by the speak event's kind.
    entry = load_set(bundled_set).entry("mobility-aids")
    with connect(client) as kiosk:
        kiosk.start()
        kiosk.ws.send_json({"type": "choose", "entry_id": entry.id})
        answer = kiosk.until("speak")
        assert (answer["kind"], answer["text"]) == ("answer", entry.answer)
        kiosk.done(answer["id"])
        follow_up = kiosk.until("speak")
        assert follow_up["kind"] == "follow_up" and "'more'" in follow_up["text"]
        kiosk.ws.send_json({"type": "command", "command": "repeat"})  # the answer, not the follow-up
        again = kiosk.until("speak")
        assert (again["kind"], again["text"]) == ("answer", entry.answer)
        kiosk.ws.send_json({"type": "command", "command": "stop"})
        kiosk.until("stop_speaking")


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (b"\x01\x02\x03", "even number of bytes"),
        (bytes(protocol.MAX_FRAME_BYTES + 2), "at most 32000 bytes"),
        ("not json", "must be JSON"),
        ("[1, 2]", "unknown message type"),
        ('{"type": "shout"}', "unknown message type 'shout'"),
        ('{"type": "command", "command": "dance"}', "unknown command 'dance'"),
        ('{"type": "choose", "entry_id": "no-such-entry"}', "no entry 'no-such-entry'"),
        ('{"type": "done", "speak_id": "one"}', '"done" needs "speak_id"'),
        ('{"type": "done", "speak_id": true}', '"done" needs "speak_id"'),
        ("x" * (protocol.MAX_TEXT_CHARS + 1), "at most 4096 characters"),
    ],
)
def test_a_bad_frame_gets_an_error_and_the_session_goes_on(
    client: TestClient, speech: dict[str, bytes], frame: bytes | str, message: str
) -> None:
    with connect(client) as kiosk:
        ws = kiosk.ws
        kiosk.start()
        if isinstance(frame, bytes):
            ws.send_bytes(frame)
        else:
            ws.send_text(frame)
        error = kiosk.until("error")
        assert message in error["message"] and error["fatal"] is False
        ws.send_json({"type": "command", "command": "help"})  # still served
        kiosk.until("speak", kind="help")


def test_barge_in_stop_while_speaking_and_questions_over_speech_are_ignored(
    client: TestClient, speech: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    # No "done" is sent, so the reply counts as playing until its length plus the grace has
    # passed: on a busy machine whisper could take longer than that to hear the question.
    monkeypatch.setattr(session, "PLAYBACK_GRACE_S", 4 * WAIT_S)
    with connect(client) as kiosk:
        ws = kiosk.ws
        kiosk.start()
        ws.send_json({"type": "command", "command": "help"})  # a long reply; no "done" is sent
        kiosk.until("speak", kind="help")
        kiosk.say(speech["physiatrist"])
        over = kiosk.until("heard")
        assert over["while_speaking"] is True
        kiosk.say(speech["stop"])
        stop = kiosk.until("heard")
        assert stop["while_speaking"] is True and "stop" in stop["text"].lower()
        kiosk.until("stop_speaking")
    assert not [event for event in kiosk.events if event["type"] == "decision"]


def test_push_to_talk_listens_only_after_a_key(client: TestClient, speech: dict[str, bytes]) -> None:
    with connect(client, "?mode=push&end_silence=1.0") as kiosk:
        ws = kiosk.ws
        ready = kiosk.start()
        assert ready["mode"] == "push" and ready["end_silence"] == 1.0
        kiosk.say(speech["physiatrist"])
        kiosk.until("heard")
        ws.send_json({"type": "key"})
        kiosk.until("listen")
        kiosk.say(speech["physiatrist"])
        made = kiosk.until("decision")
        assert made["entry_id"] == "pt-vs-physiatrist"
    decisions = [event for event in kiosk.events if event["type"] == "decision"]
    assert len(decisions) == 1, "the question before the key is not answered"


def test_an_unsure_question_is_kept_for_review(
    client: TestClient, speech: dict[str, bytes], runtime: Runtime
) -> None:
    assert runtime.review is not None
    before = len(runtime.review.entries())
    with connect(client) as kiosk:
        kiosk.start()
        kiosk.say(speech["parking"])
        made = kiosk.until("decision")
        assert made["decision"] in ("confirm", "fallback")
        kiosk.until("speak", kind=made["decision"])
        deadline = time.monotonic() + WAIT_S
        while len(runtime.review.entries()) == before and time.monotonic() < deadline:
            time.sleep(0.05)
    kept = runtime.review.entries()[before:]
    assert [(entry.source, entry.decision) for entry in kept] == [("listen", made["decision"])]
    assert "park" in kept[0].transcript.lower()


@pytest.mark.parametrize(
    ("query", "message"),
    [("mode=shout", "mode='shout' is not a mode"), ("end_silence=99", "end_silence must be")],
)
def test_bad_query_parameters_are_refused_with_a_reason(client: TestClient, query: str, message: str) -> None:
    with connect(client, f"?{query}") as kiosk:
        error = kiosk.next()
        assert error["type"] == "error" and error["fatal"] is True and message in error["message"]
        closed = kiosk.next()
        assert closed["type"] == "websocket.close" and closed["code"] == 1008


def test_sessions_past_the_limit_are_refused_with_1013(client: TestClient, runtime: Runtime) -> None:
    with connect(client) as first, connect(client) as second:
        first.start()
        second.start()
        assert runtime.sessions == 2
        with connect(client) as third:
            error = third.next()
            assert error["type"] == "error" and "all 2 listening sessions are in use" in error["message"]
            closed = third.next()
            assert (closed["type"], closed["code"]) == ("websocket.close", 1013)
            assert "try again" in closed["reason"]
    assert runtime.sessions == 0


def test_other_origins_are_refused(client: TestClient, runtime: Runtime) -> None:
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect("ws://localhost/api/listen", headers={"origin": "http://evil.example"}):
            pass
    assert refused.value.code == 1008
    assert runtime.sessions == 0


@pytest.mark.parametrize("cut", ["mid-utterance", "while-transcribing"])
def test_a_client_that_leaves_mid_question_leaves_nothing_running(
    client: TestClient,
    speech: dict[str, bytes],
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
    cut: str,
) -> None:
    pcm = speech["physiatrist"]
    with caplog.at_level(logging.WARNING, logger="voice.service"):
        with connect(client) as kiosk:  # on leaving, waits until the session's slot is free
            kiosk.start()
            if cut == "mid-utterance":
                kiosk.say(pcm[: len(pcm) // 3])
                kiosk.until("speech_started")
            else:
                kiosk.say(pcm)
                kiosk.until("speech_ended")
        # The slot is released only once the session's tasks, engine calls included, are over.
        assert runtime.sessions == 0 and client.get("/healthz").json()["sessions"] == 0
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    with connect(client) as kiosk:  # and the next kiosk is served
        kiosk.start()


def test_a_client_that_sends_nothing_is_disconnected(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session, "TICK_S", 0.1)
    monkeypatch.setattr(session, "CLIENT_SILENT_S", 1.0)
    with connect(client) as kiosk:
        kiosk.start()
        error = kiosk.until("error")
        assert error["fatal"] is True and "nothing was received" in error["message"]
        assert kiosk.next()["type"] == "websocket.close"
