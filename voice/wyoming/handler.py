"""One Wyoming client connection: describe, handle, asr and tts on one event loop.

Engine calls (recognition, synthesis) run in worker threads; recognition takes the
shared engine's slots (voice.asr.EngineSpec.parallel_calls), so many clients share one
recogniser. What a client does wrong gets an `error` event; what breaks the stream
(a malformed header, an oversized event, a client that stalls mid-request) closes it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info
from wyoming.server import AsyncEventHandler
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped

from voice.asr import engine_spec
from voice.assistant import Assistant
from voice.audio.decode import Audio, float_to_pcm16
from voice.conversation.events import VoiceSettings
from voice.errors import NoSpeechError, VoiceError
from voice.speech.tts import ESPEAK_RATE, sentences
from voice.spoken import match_transcript, require_speech
from voice.wyoming.conversations import Conversations, HeardLately
from voice.wyoming.wire import MAX_TEXT_CHARS, AudioFormat, AudioIn, BadEvent, read_event

log = logging.getLogger("voice.wyoming")

_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*\s+")
"""Where a sentence of streamed text ends: its punctuation and the space after it."""

CHUNK_SAMPLES = 1024
"""Samples per audio-chunk sent (46 ms at 22,050 Hz)."""
STALL_S = 30.0
"""A client that sends nothing for this long in the middle of a request is disconnected."""
IDLE_S = 600.0
"""A connection with no request in progress is closed after this long without an event."""
MAX_CLIENTS = 64
"""Connections served at once; one more gets an error and is closed."""
CONNECTION_GOES_ON = frozenset({"unknown-event", "no-audio-start", "no-synthesize-start"})
"""Errors about one stray event, after which the connection is still of use. Any other
error ends a request the client is waiting on, and the connection is closed after it."""


@dataclass
class Shared:
    """What all connections share: the assistant, its conversations and engine slots."""

    assistant: Assistant
    info: Info
    conversations: Conversations
    heard: HeardLately = field(default_factory=HeardLately)
    stall_s: float = STALL_S
    idle_s: float = IDLE_S
    max_clients: int = MAX_CLIENTS
    clients: int = 0
    _engine_slots: asyncio.Semaphore | None = field(default=None, repr=False)

    async def transcribe_text(self, audio: Audio) -> str:
        """Recognised words ("" for no speech), the engine called in a worker thread."""
        recognizer = await asyncio.to_thread(self.assistant.recognizer)
        if self._engine_slots is None:
            self._engine_slots = asyncio.Semaphore(engine_spec(recognizer.name).parallel_calls)
        async with self._engine_slots:
            try:
                await asyncio.to_thread(require_speech, audio, "the audio")
            except NoSpeechError:
                return ""
            transcript = await asyncio.to_thread(recognizer.transcribe, audio)
        text = transcript.text.strip()
        if text:
            self.heard.remember(text, match_transcript(transcript, self.assistant.matcher))
        return text


class VoiceHandler(AsyncEventHandler):
    def __init__(self, shared: Shared, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        super().__init__(reader, writer)
        self.shared = shared
        self.audio: AudioIn | None = None
        self.transcribe_context: dict[str, Any] | None = None
        self.language: str | None = None
        self.streaming: list[str] | None = None
        """Text of a synthesize-start ... synthesize-stop stream not yet spoken."""
        self.stream_voice: str | None = None
        self.stream_started = False

    async def run(self) -> None:
        shared = self.shared
        if shared.clients >= shared.max_clients:
            await self._send_error(f"busy: {shared.max_clients} clients are connected already", "busy")
            self.writer.close()
            return
        shared.clients += 1
        try:
            while True:
                busy = self.audio is not None or self.streaming is not None
                try:
                    event = await asyncio.wait_for(
                        read_event(self.reader), shared.stall_s if busy else shared.idle_s
                    )
                except TimeoutError:
                    if busy:
                        await self._send_error(
                            "the request stalled: nothing was sent for too long", "timeout"
                        )
                    break
                except BadEvent as exc:
                    await self._send_error(str(exc), exc.code)
                    break
                if event is None:
                    break
                try:
                    if not await self.handle_event(event):
                        break
                except BadEvent as exc:
                    await self._send_error(str(exc), exc.code)
                    if exc.fatal or exc.code not in CONNECTION_GOES_ON:
                        break  # the client waits for audio or a transcript that will not come
                except (ConnectionError, OSError):
                    raise
                except Exception:  # a bug, not the client's doing: this connection ends, the service goes on
                    log.exception("a %s event failed", event.type)
                    await self._send_error("internal error; the service log has the details", "internal")
                    break
        except (ConnectionError, OSError):
            pass  # the client went away
        finally:
            shared.clients -= 1
            self.writer.close()

    async def _send_error(self, text: str, code: str) -> None:
        try:
            await self.write_event(Error(text=text, code=code).event())
        except (ConnectionError, OSError):
            pass

    async def handle_event(self, event: Event) -> bool:
        kind = event.type
        if Describe.is_type(kind):
            await self.write_event(self.shared.info.event())
        elif Transcript.is_type(kind):
            await self.on_transcript(event)
        elif kind == "transcribe":
            self.transcribe_context = _dict(event.data.get("context"))
            language = event.data.get("language")
            self.language = language if isinstance(language, str) else None
        elif AudioStart.is_type(kind):
            self.audio = AudioIn(AudioFormat.of(event.data))
        elif AudioChunk.is_type(kind):
            if self.audio is None:
                raise BadEvent("audio-chunk before audio-start", "no-audio-start")
            try:
                self.audio.add(event.payload or b"", AudioFormat.of(event.data))
            except BadEvent:
                self.audio = None  # the request is dropped; a new audio-start begins another
                raise
        elif AudioStop.is_type(kind):
            await self.on_audio_stop()
        elif SynthesizeStart.is_type(kind):
            self.streaming, self.stream_started = [], False
            self.stream_voice = _voice_name(event.data)
        elif SynthesizeChunk.is_type(kind):
            await self.on_synthesize_chunk(event)
        elif SynthesizeStop.is_type(kind):
            await self.on_synthesize_stop()
        elif Synthesize.is_type(kind):
            if self.streaming is None:  # while streaming, it repeats the chunks' text for older servers
                text = _text(event.data)
                await self.speak(sentences(text) or [text], _voice_name(event.data), start=True, stop=True)
        elif kind in ("ping",):
            await self.write_event(Event(type="pong", data=event.data))
        else:
            raise BadEvent(f"unknown event type {kind[:40]!r}", "unknown-event")
        return True

    # handle

    async def on_transcript(self, event: Event) -> None:
        started = time.perf_counter()
        context = _dict(event.data.get("context")) or {}
        try:
            text = _text(event.data, allow_empty=True)
        except BadEvent as exc:
            # Home Assistant waits for handled or not-handled, and reads past an error.
            await self.write_event(NotHandled(text=str(exc), context=context).event())
            return
        conversation_id = context.get("conversation_id")
        reply = self.shared.conversations.reply(
            text,
            str(conversation_id) if conversation_id is not None else None,
            self.shared.heard.match_for(text),
        )
        log.info(
            "handle %s %.1f ms: %s -> %s",
            "handled" if reply.handled else "not-handled",
            (time.perf_counter() - started) * 1000,
            text[:80],
            reply.took,
        )
        out = Handled if reply.handled else NotHandled
        await self.write_event(out(text=reply.text, context=context).event())

    # asr

    async def on_audio_stop(self) -> None:
        if self.audio is None:
            raise BadEvent("audio-stop before audio-start", "no-audio-start")
        audio, self.audio = self.audio.finish(), None
        context, self.transcribe_context = self.transcribe_context, None
        try:
            text = await self.shared.transcribe_text(audio)
        except Exception as exc:  # the engine's child process may die, too: one question lost
            log.warning("speech recognition failed: %s", exc, exc_info=not isinstance(exc, VoiceError))
            raise BadEvent(f"speech recognition failed: {exc}", "asr-failed") from None
        language = self.language or self.shared.assistant.faq_set.language
        await self.write_event(Transcript(text=text, context=context, language=language).event())

    # tts

    async def on_synthesize_chunk(self, event: Event) -> None:
        if self.streaming is None:
            raise BadEvent("synthesize-chunk before synthesize-start", "no-synthesize-start")
        self.streaming.append(_text(event.data, allow_empty=True))
        pending = "".join(self.streaming)
        if len(pending) > MAX_TEXT_CHARS:
            self.streaming = None
            raise BadEvent(f"more than {MAX_TEXT_CHARS} characters to speak at once", "too-large")
        ends = [found.end() for found in _SENTENCE_END.finditer(pending)]
        if ends:  # whole sentences are spoken now; the rest waits for more text
            self.streaming = [pending[ends[-1] :]]
            await self.speak(
                sentences(pending[: ends[-1]]), self.stream_voice, start=not self.stream_started, stop=False
            )
            self.stream_started = True

    async def on_synthesize_stop(self) -> None:
        if self.streaming is None:
            raise BadEvent("synthesize-stop before synthesize-start", "no-synthesize-start")
        rest = " ".join("".join(self.streaming).split())
        parts = sentences(rest) if rest else []
        await self.speak(parts, self.stream_voice, start=not self.stream_started, stop=True)
        self.streaming, self.stream_started = None, False
        await self.write_event(SynthesizeStopped().event())

    async def speak(self, parts: list[str], voice: str | None, *, start: bool, stop: bool) -> None:
        """audio-start (if `start`), each sentence's audio as it is synthesised, audio-stop (if `stop`)."""
        synthesizer = await asyncio.to_thread(self.shared.assistant.synthesizer)
        settings = VoiceSettings(voice=voice)
        if start:
            await self.write_event(AudioStart(rate=ESPEAK_RATE, width=2, channels=1).event())
        for part in parts:
            if not part.strip():
                continue
            try:
                speech = await asyncio.to_thread(synthesizer.synthesize, part, settings)
            except VoiceError as exc:
                raise BadEvent(f"cannot speak that: {exc}", "tts-failed") from None
            samples = np.asarray(speech.samples, dtype=np.float32)
            for begin in range(0, len(samples), CHUNK_SAMPLES):
                pcm = float_to_pcm16(samples[begin : begin + CHUNK_SAMPLES])
                chunk = AudioChunk(rate=speech.sample_rate, width=2, channels=1, audio=pcm)
                await self.write_event(chunk.event())
        if stop:
            await self.write_event(AudioStop().event())


def _dict(value: object) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _text(data: dict[str, Any], *, allow_empty: bool = False) -> str:
    text = data.get("text")
    if not isinstance(text, str) or not (allow_empty or text.strip()):
        raise BadEvent('the event needs a non-empty "text"', "bad-event")
    if len(text) > MAX_TEXT_CHARS:
        raise BadEvent(f"more than {MAX_TEXT_CHARS} characters at once", "too-large")
    return text


def _voice_name(data: dict[str, Any]) -> str | None:
    voice = _dict(data.get("voice")) or {}
    name = voice.get("name")
    return name if isinstance(name, str) and name else None
