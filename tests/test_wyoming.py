"""`voicefaq wyoming` end to end: a real service process, the wyoming package's own client.

One service is started for the module on a free port (`--uri tcp://127.0.0.1:0`: it
prints the port it got). Every wait has a generous guard; nothing asserts on wall time.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

from tests.conftest import scaled

ROOT = Path(__file__).resolve().parent.parent
GUARD_S = scaled(120.0)
"""A hang guard, not a timing assertion: whisper on a busy CI machine is slow, and slower
still beside a CPU hog (it runs at the lowest priority), so the guard stretches with the
machine's measured slowness (tests.conftest.scaled)."""
T = TypeVar("T")

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


@contextmanager
def service(*options: str) -> Iterator[int]:
    """A `voicefaq wyoming` process on a free port, with these options; yields the port."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "voice", "wyoming", "--uri", "tcp://127.0.0.1:0", *options]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    stderr = process.stderr
    assert stderr is not None
    log = threading.Thread(target=lambda: [None for _ in stderr], daemon=True)
    try:
        found = None
        for line in stderr:  # the first line names the port (or the process failed)
            found = re.search(r"on tcp://127\.0\.0\.1:(\d+)", line)
            if found:
                break
        assert found, "the service did not start"
        log.start()  # the rest of its log is read on, so that a full pipe never blocks it
        yield int(found.group(1))
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log.is_alive():
            log.join(timeout=10)
        stderr.close()


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with service("--client-timeout", "2") as found:
        yield found


def run(work: Callable[[], Awaitable[T]]) -> T:
    async def guarded() -> T:
        return await asyncio.wait_for(work(), GUARD_S)

    return asyncio.run(guarded())


async def ask(port: int, events: list[Event], until: Callable[[Event], bool]) -> list[Event]:
    """Send `events`, then read until `until` holds for one (included) or the server closes."""
    received: list[Event] = []
    async with AsyncTcpClient("127.0.0.1", port) as client:
        for event in events:
            await client.write_event(event)
        while True:
            event = await client.read_event()
            if event is None:
                return received
            received.append(event)
            if until(event):
                return received


def reply_to(port: int, *texts: str, conversation: str = "c1") -> list[Event]:
    async def talk() -> list[Event]:
        replies = []
        async with AsyncTcpClient("127.0.0.1", port) as client:
            for text in texts:
                await client.write_event(
                    Transcript(text=text, context={"conversation_id": conversation}).event()
                )
                event = await client.read_event()
                assert event is not None
                replies.append(event)
        return replies

    return run(talk)


def first(port: int, event: Event) -> Event:
    received = run(lambda: ask(port, [event], lambda _: True))
    assert received, "the server closed without answering"
    return received[0]


# describe


def test_info_lists_the_three_programs(port: int) -> None:
    info = Info.from_event(first(port, Describe().event()))
    assert [p.name for p in info.handle] == ["voicefaq"]
    assert [p.name for p in info.asr] == ["voicefaq-asr"]
    assert [p.name for p in info.tts] == ["voicefaq-tts"]
    assert info.handle[0].models[0].languages == ["en"]
    assert info.tts[0].supports_synthesize_streaming


# handle


def test_an_answer_is_handled(port: int) -> None:
    (event,) = reply_to(port, "what is a rollator", conversation="answer")
    assert Handled.is_type(event.type)
    handled = Handled.from_event(event)
    assert "mobility" in (handled.text or "")
    assert handled.context == {"conversation_id": "answer"}


def test_out_of_scope_is_not_handled_with_the_fallback(port: int) -> None:
    (event,) = reply_to(port, "where do i park", conversation="park")
    assert NotHandled.is_type(event.type)
    assert "not sure" in (NotHandled.from_event(event).text or "")


def test_an_emergency_is_handled_with_its_text(port: int) -> None:
    (event,) = reply_to(port, "I fell in the bathroom and I cant get up", conversation="fall")
    assert Handled.is_type(event.type)
    assert "911" in (Handled.from_event(event).text or "")


def test_a_confirmation_is_resolved_in_the_same_conversation(port: int) -> None:
    asked, answered = reply_to(port, "what is a row later", "yes", conversation="confirm")
    assert Handled.is_type(asked.type)
    assert (Handled.from_event(asked).text or "").startswith("Do you mean")
    assert "mobility" in (Handled.from_event(answered).text or "")
    # Another conversation's "yes" has nothing to confirm.
    (other,) = reply_to(port, "yes", conversation="someone-else")
    assert "mobility" not in (other.data.get("text") or "")


@pytest.mark.parametrize("choice", ["the first", "choose a walking aid"])
def test_a_choice_between_two_is_resolved_by_position_or_topic_words(port: int, choice: str) -> None:
    asked, answered = reply_to(port, "a walker", choice, conversation=f"choice-{choice}")
    assert asked.data["text"] == "Do you mean walking aids, or pain from crutches?"
    assert Handled.is_type(answered.type)
    assert "mobility" in answered.data["text"]


def test_repeat_more_and_help_work_per_conversation(port: int) -> None:
    answer, again, more, helped = reply_to(
        port, "what is a rollator", "repeat", "more", "help", conversation="cmd"
    )
    assert again.data["text"] == answer.data["text"]
    assert "rollator" in more.data["text"]
    assert "You can ask" in helped.data["text"]


# asr


def speech_events(text: str, rate: int = 22_050, channels: int = 2, chunk_ms: int = 100) -> list[Event]:
    """`text` said by espeak-ng at 16 kHz, sent as 16-bit PCM at `rate` with `channels`."""
    import soxr

    from tools.spoken_set import spoken

    mono = soxr.resample(spoken(text).samples, 16_000, rate).astype(np.float32)
    frames = np.repeat(mono[:, None], channels, axis=1)
    pcm = (np.clip(frames, -1, 1) * 32767).astype("<i2").tobytes()
    step = rate * channels * 2 * chunk_ms // 1000
    step -= step % (2 * channels)
    start = AudioStart(rate=rate, width=2, channels=channels)
    chunks = [
        AudioChunk(rate=rate, width=2, channels=channels, audio=pcm[i : i + step]).event()
        for i in range(0, len(pcm), step)
    ]
    return [Transcribe(language="en").event(), start.event(), *chunks, AudioStop().event()]


@needs_espeak
@pytest.mark.slow
@pytest.mark.whisper
def test_streamed_speech_is_transcribed_and_matches_the_entry(port: int) -> None:
    received = run(
        lambda: ask(port, speech_events("Can a physical therapist help with a walker?"), _transcript)
    )
    transcript = Transcript.from_event(received[-1])
    assert "therapist" in transcript.text.lower()
    (handled,) = reply_to(port, transcript.text, conversation="spoken")
    assert Handled.is_type(handled.type)


def _transcript(event: Event) -> bool:
    return Transcript.is_type(event.type) or event.type == "error"


@pytest.mark.slow
@pytest.mark.whisper
def test_silence_gives_an_empty_transcript(port: int) -> None:
    silence = AudioChunk(rate=16_000, width=2, channels=1, audio=bytes(32_000)).event()
    events = [AudioStart(rate=16_000, width=2, channels=1).event(), silence, AudioStop().event()]
    received = run(lambda: ask(port, events, _transcript))
    assert Transcript.is_type(received[-1].type)
    assert Transcript.from_event(received[-1]).text == ""


# tts


def audio_of(received: list[Event]) -> tuple[dict[str, Any], bytes]:
    start = next(e for e in received if AudioStart.is_type(e.type))
    pcm = b"".join(e.payload or b"" for e in received if AudioChunk.is_type(e.type))
    return start.data, pcm


@needs_espeak
def test_synthesize_sends_16_bit_pcm(port: int) -> None:
    received = run(lambda: ask(port, [Synthesize(text="Hello. How are you today?").event()], _audio_stop))
    fmt, pcm = audio_of(received)
    assert (fmt["width"], fmt["channels"]) == (2, 1)
    seconds = len(pcm) / 2 / fmt["rate"]
    assert 0.5 < seconds < 10
    assert np.abs(np.frombuffer(pcm, "<i2")).max() > 1000


@needs_espeak
def test_streamed_synthesis_speaks_sentence_by_sentence(port: int) -> None:
    events = [
        SynthesizeStart().event(),
        SynthesizeChunk(text="Stretch your legs ").event(),
        SynthesizeChunk(text="every day. Then rest").event(),
        Synthesize(text="Stretch your legs every day. Then rest a while.").event(),  # for older servers
        SynthesizeChunk(text=" a while.").event(),
        SynthesizeStop().event(),
    ]
    received = run(lambda: ask(port, events, lambda e: e.type == "synthesize-stopped"))
    types = [e.type for e in received]
    assert types.count("audio-start") == 1 and types.count("audio-stop") == 1
    assert types[-2:] == ["audio-stop", "synthesize-stopped"]
    _, pcm = audio_of(received)
    assert len(pcm) / 2 / 22_050 > 1.0


def _audio_stop(event: Event) -> bool:
    return AudioStop.is_type(event.type) or event.type == "error"


# bad events


def test_unknown_events_and_audio_out_of_order_get_errors(port: int) -> None:
    chunk = AudioChunk(rate=16_000, width=2, channels=1, audio=b"\0\0").event()
    events = [Event(type="no-such-thing"), chunk, AudioStop().event(), Describe().event()]
    received = run(lambda: ask(port, events, lambda e: Info.is_type(e.type)))
    codes = [e.data.get("code") for e in received if e.type == "error"]
    assert codes == ["unknown-event", "no-audio-start", "no-audio-start"]
    assert Info.is_type(received[-1].type)  # the connection is still usable


@pytest.mark.parametrize(
    ("fmt", "code"),
    [
        ({"rate": 16_000, "width": 3, "channels": 1}, "audio-format"),
        ({"rate": 0, "width": 2, "channels": 1}, "audio-format"),
    ],
)
def test_a_wrong_audio_format_gets_an_error(port: int, fmt: dict[str, int], code: str) -> None:
    received = run(lambda: ask(port, [Event(type="audio-start", data=fmt)], lambda _: True))
    assert received[0].type == "error" and received[0].data["code"] == code


@pytest.mark.parametrize(
    "chunk",
    [
        AudioChunk(rate=8_000, width=2, channels=1, audio=b"\0\0").event(),
        AudioChunk(rate=16_000, width=2, channels=1, audio=b"\0").event(),
    ],
    ids=["other-format", "odd-length"],
)
def test_a_bad_chunk_gets_an_error_and_ends_the_request(port: int, chunk: Event) -> None:
    start = AudioStart(rate=16_000, width=2, channels=1).event()
    received = run(lambda: ask(port, [start, chunk, Describe().event()], lambda _: False))
    assert [e.data["code"] for e in received] == ["audio-format"]  # then closed: no info


@pytest.mark.parametrize("text", ["", "x" * 20_000])
def test_an_empty_or_oversized_transcript_is_not_handled(port: int, text: str) -> None:
    event = first(port, Transcript(text=text, context={"conversation_id": "odd"}).event())
    assert NotHandled.is_type(event.type)


def test_too_much_audio_gets_an_error(port: int) -> None:
    second = AudioChunk(rate=16_000, width=2, channels=1, audio=bytes(32_000)).event()
    events = [AudioStart(rate=16_000, width=2, channels=1).event(), *[second] * 121]
    received = run(lambda: ask(port, events, lambda e: e.type == "error"))
    assert received[-1].data["code"] == "too-large"


async def _raw(port: int, data: bytes) -> tuple[list[bytes], bool]:
    """Lines the server sent, and whether it closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    lines = []
    while line := await reader.readline():
        lines.append(line)
    writer.close()
    return lines, True


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"this is not json\n", "bad-event"),
        (b'{"type": "audio-chunk", "payload_length": 100000000}\n', "too-large"),
        (b'{"type": "transcript", "data_length": 100000000}\n', "too-large"),
        (b'{"data": {}}\n', "bad-event"),
        (b'{"type": "x", "data": "' + b"a" * 70_000 + b'"}\n', "too-large"),
    ],
    ids=["not-json", "huge-payload", "huge-data", "no-type", "huge-line"],
)
def test_a_malformed_stream_gets_an_error_and_a_clean_close(port: int, data: bytes, code: str) -> None:
    lines, closed = run(lambda: _raw(port, data))
    assert closed
    sent = b"".join(lines)
    assert sent.count(b'"type": "error"') == 1 and f'"code": "{code}"'.encode() in sent


def test_a_client_stalling_mid_request_is_disconnected(port: int) -> None:
    start = AudioStart(rate=16_000, width=2, channels=1).event()
    received = run(lambda: ask(port, [start], lambda _: False))  # --client-timeout 2
    assert [e.data.get("code") for e in received] == ["timeout"]


def test_a_stalled_payload_is_disconnected(port: int) -> None:
    lines, _ = run(lambda: _raw_stall(port))
    assert b'"timeout"' in b"".join(lines)


async def _raw_stall(port: int) -> tuple[list[bytes], bool]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b'{"type": "audio-start", "data": {"rate": 16000, "width": 2, "channels": 1}}\n')
    chunk = b'{"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1}, '
    writer.write(chunk + b'"payload_length": 100}\n')
    writer.write(b"\0" * 10)  # and never the rest
    await writer.drain()
    lines = []
    while line := await reader.readline():
        lines.append(line)
    writer.close()
    return lines, True


# many clients


def test_one_client_too_many_gets_busy() -> None:
    async def three() -> list[Event | None]:
        async with (
            AsyncTcpClient("127.0.0.1", busy_port) as one,
            AsyncTcpClient("127.0.0.1", busy_port) as two,
        ):
            for client in (one, two):  # both served
                await client.write_event(Describe().event())
                assert await client.read_event() is not None
            async with AsyncTcpClient("127.0.0.1", busy_port) as third:
                return [await third.read_event(), await third.read_event()]

    with service("--max-clients", "2") as busy_port:
        refused, closed = run(three)
    assert refused is not None and refused.data["code"] == "busy"
    assert closed is None


def test_ten_clients_at_once(port: int) -> None:
    async def one(number: int) -> list[Event]:
        async with AsyncTcpClient("127.0.0.1", port) as client:
            events = []
            for text in ("what is a row later", "yes", "where do i park"):
                await client.write_event(
                    Transcript(text=text, context={"conversation_id": f"many-{number}"}).event()
                )
                event = await client.read_event()
                assert event is not None
                events.append(event)
            return events

    async def all_of_them() -> list[list[Event]]:
        return await asyncio.gather(*(one(n) for n in range(10)))

    for asked, answered, parked in run(all_of_them):
        assert asked.data["text"].startswith("Do you mean")
        assert "mobility" in answered.data["text"]
        assert NotHandled.is_type(parked.type)


@needs_espeak
@pytest.mark.slow
@pytest.mark.whisper
def test_ten_spoken_questions_at_once_share_one_engine(port: int) -> None:
    events = speech_events("how do I choose a walking aid", rate=16_000, channels=1)

    async def all_of_them() -> list[list[Event]]:
        return await asyncio.gather(*(ask(port, events, _transcript) for _ in range(10)))

    for received in run(all_of_them):
        assert Transcript.is_type(received[-1].type)
        assert "walk" in Transcript.from_event(received[-1]).text.lower()


# in process: what the asr program heard reaches the handle program


def test_the_spoken_decision_travels_from_asr_to_handle() -> None:
    from voice.assistant import Assistant
    from voice.conversation.events import Took
    from voice.wyoming.conversations import Conversations, HeardLately

    assistant = Assistant()
    heard = HeardLately()
    # As voice.spoken.match_transcript decides when another reading of the audio holds an
    # emergency: the words Home Assistant passes on look harmless.
    emergency = assistant.matcher.match("I fell in the bathroom and I cant get up")
    heard.remember("what is a rollator", emergency)
    reply = Conversations(assistant).reply("What is a  rollator", "c", heard.match_for("What is a  rollator"))
    assert reply.handled and reply.took is Took.EMERGENCY
    assert heard.match_for("where do i park") is None


def test_conversations_are_bounded_and_expire() -> None:
    from voice.assistant import Assistant
    from voice.wyoming.conversations import Conversations

    now = [0.0]
    conversations = Conversations(Assistant(), max_count=3, idle_s=60.0, clock=lambda: now[0])
    for number in range(5):
        conversations.reply("what is a row later", f"c{number}")
    assert len(conversations) == 3
    now[0] = 30.0
    conversations.reply("what is a row later", "late")  # the oldest goes
    now[0] = 80.0
    assert conversations.reply("yes", "late").text.startswith("Yes.")  # still within 60 s of its question
    assert len(conversations) == 1  # the others expired
