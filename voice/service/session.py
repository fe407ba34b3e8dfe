"""The WebSocket `/api/listen`: one kiosk's spoken conversation, streamed.

The protocol (messages, events, close codes) is described in docs/protocol.md and parsed
in voice/service/protocol.py. Here is the I/O shell around the pure Dialogue and turn-taking
(voice/conversation/turns.py): the socket, the endpointer, the shared speech engine,
synthesis and the review log. Everything runs on
the event loop except engine calls and synthesis, which run in worker threads; one
sender task is the only writer to the socket, so a "speak" event and its WAV are never
separated.
"""

from __future__ import annotations

import asyncio
import io
import logging
import math
import time
import wave
from collections.abc import Coroutine, Iterable
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from voice.audio.decode import SAMPLE_RATE
from voice.audio.vad import EndpointConfig, Endpointer, EndpointKind
from voice.conversation.dialogue import Dialogue, DialogueConfig
from voice.conversation.events import (
    Action,
    Event,
    Listen,
    Mode,
    PausedMidQuestion,
    Review,
    Speak,
    SpeechDone,
    Started,
    StopSpeaking,
    Tick,
    Understood,
)
from voice.conversation.turns import (
    Cancel,
    CutShort,
    Failed,
    Hear,
    NoWords,
    Partial,
    Restart,
    Transcribe,
    TurnAction,
    Turns,
)
from voice.errors import ModelNotFoundError, VoiceError
from voice.service.errors import (
    WS_POLICY_VIOLATION,
    WS_TRY_AGAIN_LATER,
    OriginRefusedError,
    SessionsFullError,
)
from voice.service.hearing import Hearing
from voice.service.protocol import (
    MAX_FRAME_BYTES,
    Message,
    ProtocolError,
    action_event,
    check_audio,
    decision_event,
    error_event,
    parse_message,
    parse_query,
    settings_dict,
    speak_event,
)
from voice.service.runtime import Runtime, check_origin, get_runtime
from voice.spoken import turn_input

router = APIRouter()
log = logging.getLogger("voice.service.session")

TICK_S = 1.0
"""How often time is passed to the dialogue (idle reset) and reply deadlines are checked."""
PLAYBACK_GRACE_S = 2.0
"""A reply not reported "done" this long after it should have ended is taken as played."""
CLIENT_SILENT_S = 60.0
"""A client that sends nothing at all for this long is disconnected (the page streams audio)."""
WS_INTERNAL_ERROR = 1011
WS_NORMAL = 1000


class _Fatal(Exception):
    """Ends the session with an error event and this close code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _wav_seconds(wav: bytes) -> float:
    with wave.open(io.BytesIO(wav)) as reader:
        frames, rate = int(reader.getnframes()), int(reader.getframerate())
    return frames / rate


class ListenSession:
    """One WebSocket's conversation. Everything runs on the event loop except engine
    calls and synthesis; one sender task writes to the socket, so a "speak" event and its
    WAV are never separated."""

    def __init__(
        self, websocket: WebSocket, runtime: Runtime, mode: Mode, end_silence_s: float | None
    ) -> None:
        self.ws = websocket
        self.runtime = runtime
        self.mode = mode
        self.endpoint = EndpointConfig(
            end_silence_s=end_silence_s or runtime.assistant.end_silence_s or EndpointConfig().end_silence_s,
            max_utterance_s=runtime.limits.max_utterance_s,
        )
        self.endpointer = Endpointer(self.endpoint)
        self.dialogue = Dialogue(runtime.faq_set, runtime.matcher, DialogueConfig(mode=mode))
        self.turns = Turns(self.dialogue.language)
        self.hearing: Hearing | None = None
        self.jobs: dict[int, asyncio.Task[None]] = {}
        """Transcriptions turn-taking asked for, still running or waiting for the engine."""
        self.entry_ids = frozenset(entry.id for entry in runtime.faq_set.entries)
        self.outbox: asyncio.Queue[Message | Speak | Review | _Fatal] = asyncio.Queue()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.playing: dict[int, float] = {}
        """Speak ids not yet reported done -> monotonic time their audio should end (inf: not sent yet)."""
        self.play_until = 0.0
        self.last_speak = 0
        self.cancel_through = 0
        """Speak ids up to this one were stopped before they were sent."""
        self.last_frame = time.monotonic()
        self.last_activity = self.last_frame
        """When speech was last heard, a message taken or a reply played (the idle rule)."""
        self.audio_started = self.last_frame
        self.audio_s = 0.0
        """Seconds of audio received: held to real time (Limits.max_audio_ahead_s)."""
        self.refused = False
        """The session is closing for what the client did: nothing more it sends is used."""

    # The socket.

    async def run(self) -> None:
        try:
            recognizer = await self.runtime.run_blocking(self.runtime.recognizer)
        except ModelNotFoundError as exc:
            raise _Fatal(f"the speech engine cannot run: {exc}", WS_INTERNAL_ERROR) from None
        self.hearing = Hearing(
            self.runtime,
            recognizer,
            self.spawn,
            lambda text: self.send({"type": "partial", "text": text}),
            lambda: self.turns.hearing,
        )
        await self.ws.send_json(
            {
                "type": "ready",
                "mode": self.mode.value,
                "settings": settings_dict(self.dialogue.settings),
                "end_silence": self.endpoint.end_silence_s,
                "sample_rate": SAMPLE_RATE,
                "max_frame_bytes": MAX_FRAME_BYTES,
                "title": self.runtime.faq_set.title,
            }
        )
        self.handle(Started(time.monotonic()))
        sender = self.spawn(self.send_loop())
        self.spawn(self.tick_loop())
        try:
            while not sender.done():
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                self.last_frame = time.monotonic()
                if message.get("bytes") is not None:
                    self.on_audio(message["bytes"])
                elif message.get("text") is not None:
                    self.on_text(message["text"])
        finally:
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.on_task_done)
        return task

    def on_task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if task.cancelled() or isinstance(task.exception(), WebSocketDisconnect | _Fatal | None):
            return
        # A bug, not the client's doing: log it and end this session only.
        log.error("listening session failed", exc_info=task.exception())
        self.outbox.put_nowait(_Fatal("internal error; the service log has the details", WS_INTERNAL_ERROR))

    def send(self, event: Message) -> None:
        self.outbox.put_nowait(event)

    async def send_loop(self) -> None:
        """The only writer to the socket, in order; ends the session on a fatal error."""
        while True:
            item = await self.outbox.get()
            if isinstance(item, _Fatal):
                await self.ws.send_json(error_event(str(item), fatal=True))
                await self.ws.close(item.code, str(item)[:120])
                return
            if isinstance(item, Speak):
                await self.send_speak(item)
            elif isinstance(item, Review):
                try:
                    await self.runtime.log_for_review(item.match, "listen", item.match.input)
                except VoiceError as exc:  # the staff's log, not the person's problem
                    log.warning("could not keep a question for review: %s", exc)
            else:
                await self.ws.send_json(item)

    async def send_speak(self, speak: Speak) -> None:
        if speak.id <= self.cancel_through:  # stopped before it was ever sent
            self.playing.pop(speak.id, None)
            self.handle(SpeechDone(speak.id, time.monotonic(), interrupted=True))
            return
        try:
            wav = await self.runtime.speech_wav(speak.text, speak.settings)
        except VoiceError as exc:
            log.warning("could not synthesise a reply: %s", exc)
            await self.ws.send_json(error_event(f"the reply cannot be spoken: {exc}"))
            self.playing.pop(speak.id, None)
            self.handle(SpeechDone(speak.id, time.monotonic(), interrupted=True))
            return
        seconds = _wav_seconds(wav)
        await self.ws.send_json(speak_event(speak, seconds))
        await self.ws.send_bytes(wav)
        if speak.id in self.playing:  # the page plays replies one after another
            self.play_until = max(time.monotonic(), self.play_until) + seconds
            self.playing[speak.id] = self.play_until

    async def tick_loop(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            if now - self.last_frame > CLIENT_SILENT_S:
                message = f"nothing was received for {CLIENT_SILENT_S:.0f} s; stream microphone audio to stay"
                self.outbox.put_nowait(_Fatal(message, WS_NORMAL))
                return
            if self.playing:
                self.last_activity = now
            idle_s = self.runtime.limits.max_idle_s
            if now - self.last_activity > idle_s:
                message = f"nothing was asked for {idle_s:.0f} s; the session ends to free its place"
                self.outbox.put_nowait(_Fatal(message, WS_NORMAL))
                return
            for speak_id, ends in sorted(self.playing.items()):
                if ends + PLAYBACK_GRACE_S < now:
                    del self.playing[speak_id]
                    self.handle(SpeechDone(speak_id, now))
            self.handle(Tick(now))

    # What the client sends.

    def on_text(self, text: str) -> None:
        try:
            event = parse_message(text, self.entry_ids, time.monotonic())
        except ProtocolError as exc:
            self.send(error_event(str(exc)))
            return
        if isinstance(event, SpeechDone):
            self.playing.pop(event.speak_id, None)  # the dialogue itself ignores stale ids
        self.last_activity = time.monotonic()
        self.handle(event)

    def on_audio(self, data: bytes) -> None:
        if self.refused:
            return
        try:
            check_audio(data)
        except ProtocolError as exc:
            self.send(error_event(str(exc)))
            return
        assert self.hearing is not None
        self.audio_s += len(data) / (2 * SAMPLE_RATE)
        ahead = self.audio_s - (time.monotonic() - self.audio_started)
        if ahead > self.runtime.limits.max_audio_ahead_s:
            message = (
                f"audio arrives {ahead:.0f} s ahead of real time; stream the microphone as it records "
                "(recordings go to POST /api/ask/audio)"
            )
            self.refused = True
            self.outbox.put_nowait(_Fatal(message, WS_POLICY_VIOLATION))
            return
        for endpoint in self.endpointer.feed(data):
            kind = endpoint.kind
            if kind is EndpointKind.SPEECH_STARTED:
                self.last_activity = time.monotonic()
                self.hearing.started()
                self.send({"type": "speech_started"})
            elif kind is EndpointKind.PAUSED:
                self.hearing.paused()
            elif kind in (EndpointKind.SPEECH_ENDED, EndpointKind.MAX_LENGTH):
                self.send({"type": "speech_ended"})
            free = not self.hearing.others_busy()
            heard = turn_input(endpoint, time.monotonic(), self.speaking(), engine_free=free)
            if heard is not None:
                self.take(self.turns.feed(heard))
        if self.endpointer.in_speech:
            self.hearing.heard(data)

    def speaking(self) -> bool:
        """A reply is playing (or about to): what is heard now is talking over it."""
        return bool(self.playing)

    # What turn-taking asks for.

    def take(self, actions: Iterable[TurnAction]) -> None:
        for action in actions:
            if isinstance(action, Transcribe):
                self.jobs[action.job] = self.spawn(self.transcribe(action))
            elif isinstance(action, Cancel) and action.job in self.jobs:
                # Not wanted any more: one still waiting for the engine never runs, so the
                # engine is free sooner; one running finishes in its thread, unread.
                self.jobs.pop(action.job).cancel()
            elif isinstance(action, Partial):
                self.send({"type": "partial", "text": action.text})
            elif isinstance(action, CutShort):
                self.endpointer.reset()  # barge-in: the rest of the utterance is dropped
                self.send({"type": "speech_ended"})
            elif isinstance(action, Hear):
                self.hear(action)
            elif isinstance(action, NoWords):
                self.send({"type": "no_speech"})
            elif isinstance(action, Failed) and isinstance(action.error, ModelNotFoundError):
                message = f"the speech engine cannot run: {action.error}"
                self.outbox.put_nowait(_Fatal(message, WS_INTERNAL_ERROR))
            elif isinstance(action, Failed):
                log.error("speech recognition failed", exc_info=action.error)
                message = f"speech recognition failed on that question ({action.error}); please ask again"
                self.send(error_event(message))
            elif isinstance(action, PausedMidQuestion):
                self.handle(action)
            # Discard: nothing to do.

    async def transcribe(self, job: Transcribe) -> None:
        assert self.hearing is not None
        try:
            result = await self.hearing.transcribe(job, self.speaking)
        finally:
            self.jobs.pop(job.job, None)
        self.take(self.turns.feed(result))

    def hear(self, hear: Hear) -> None:
        heard = hear.heard
        self.send({"type": "heard", "text": heard.text, "while_speaking": heard.while_speaking})
        actions = self.dialogue.handle(heard)
        for action in actions:
            if isinstance(action, Understood) and action.asked and hear.transcript is not None:
                match = action.match or heard.match
                if match is not None:
                    self.send(decision_event(match, hear.transcript))
        self.act(actions)

    # What the dialogue asks for.

    def handle(self, event: Event) -> None:
        self.act(self.dialogue.handle(event))

    def act(self, actions: Iterable[Action]) -> None:
        for action in actions:
            if isinstance(action, Speak):
                self.playing[action.id] = math.inf
                self.last_speak = max(self.last_speak, action.id)
                self.outbox.put_nowait(action)
            elif isinstance(action, Review):
                self.outbox.put_nowait(action)
            else:
                if isinstance(action, StopSpeaking):
                    # The page cuts its audio at once: what is heard from now on is not
                    # talking over it, and replies not yet sent are dropped.
                    self.cancel_through = self.last_speak
                    self.playing.clear()
                    self.play_until = 0.0
                elif isinstance(action, Listen):
                    # A fresh question: nothing half-heard, or still being transcribed, from before the key.
                    self.endpointer.reset()
                    self.take(self.turns.feed(Restart(time.monotonic())))
                event = action_event(action)
                if event is not None:
                    self.send(event)


@router.websocket("/api/listen")
async def listen(websocket: WebSocket) -> None:
    """A spoken conversation; the protocol is in voice/service/protocol.py."""
    runtime = get_runtime(websocket)
    try:
        check_origin(websocket)
        mode, end_silence_s = parse_query(dict(websocket.query_params))
    except OriginRefusedError as exc:
        await websocket.close(WS_POLICY_VIOLATION, str(exc)[:120])
        return
    except VoiceError as exc:
        await _refuse(websocket, str(exc), WS_POLICY_VIOLATION)
        return
    try:
        async with runtime.session_slot():
            await websocket.accept()
            await ListenSession(websocket, runtime, mode, end_silence_s).run()
    except SessionsFullError as exc:
        await _refuse(websocket, str(exc), WS_TRY_AGAIN_LATER)
    except _Fatal as exc:
        await _close(websocket, error_event(str(exc), fatal=True), exc.code, str(exc))
    except WebSocketDisconnect:
        pass


async def _refuse(websocket: WebSocket, message: str, code: int) -> None:
    """Accept only to say why: a browser sees no reason for a handshake refused outright."""
    await websocket.accept()
    await _close(websocket, error_event(message, fatal=True), code, message)


async def _close(websocket: WebSocket, event: Message, code: int, reason: str) -> None:
    try:
        await websocket.send_json(event)
        await websocket.close(code, reason[:120])
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client has gone already
