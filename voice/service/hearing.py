"""Speech recognition for listening sessions, sharing one engine between all of them.

Every engine call goes through one gate per event loop: one call at a time for whisper
(its adapter is not thread-safe, and on a few cores two decodes at once only slow both),
two for Vosk. Holding so few worker threads leaves the others free for typed questions
and synthesis. Optional work is skipped whenever the engine has anything to do: partial
transcripts, and the speculative transcript at a pause (which, when the pause turns out
to be the end, has the reply ready as soon as the end silence is over). Which
transcriptions to make, and which to act on, turn-taking decides (voice/conversation/turns.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

from voice.asr import Recognizer, RecognizerStream, Transcript, engine_spec
from voice.audio.decode import SAMPLE_RATE, Audio, pcm16_to_float
from voice.conversation.turns import Transcribe, Transcribed, TranscriptionFailed
from voice.errors import VoiceError
from voice.service.runtime import Runtime
from voice.spoken import match_transcript

log = logging.getLogger("voice.service.session")

PARTIAL_EVERY_S = 1.0
"""Seconds of new speech between partial transcripts."""
_ENGINE_ERRORS = (VoiceError, RuntimeError, ValueError, OSError)
"""What an engine call may raise for a bad utterance or a broken model (not a bug here)."""


class EngineGate:
    """Engine calls of all sessions on one event loop, `parallel` at a time."""

    def __init__(self, parallel: int) -> None:
        self._slots = asyncio.Semaphore(parallel)
        self.pending = 0
        """Engine calls running or waiting."""

    @property
    def busy(self) -> bool:
        return self.pending > 0

    async def run(self, runtime: Runtime, fn: Callable[..., Any], *args: object) -> Any:
        self.pending += 1
        try:
            async with self._slots:
                call = asyncio.ensure_future(runtime.run_engine(fn, *args))
                try:
                    return await asyncio.shield(call)
                except asyncio.CancelledError:
                    # A worker thread cannot be stopped: a session that ends waits for it,
                    # so that nothing of the session is left running.
                    await asyncio.wait({call})
                    raise
        finally:
            self.pending -= 1


_gates: weakref.WeakKeyDictionary[Runtime, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, EngineGate]]
_gates = weakref.WeakKeyDictionary()


def engine_gate(runtime: Runtime, recognizer: Recognizer) -> EngineGate:
    """The gate of `runtime`'s engine on the running loop (asyncio primitives belong to
    one loop, and tests run one app on several)."""
    per_loop = _gates.setdefault(runtime, weakref.WeakKeyDictionary())
    loop = asyncio.get_running_loop()
    if loop not in per_loop:
        per_loop[loop] = EngineGate(engine_spec(recognizer.name).parallel_calls)
    return per_loop[loop]


def _transcribe(recognizer: Recognizer, pcm16: bytes) -> Transcript:
    return recognizer.transcribe(Audio(pcm16_to_float(pcm16), SAMPLE_RATE, 1))


def _partial(recognizer: Recognizer, holder: list[RecognizerStream], pcm16: bytes) -> str | None:
    """Feed a stream (made on first use, in the engine's thread) and return its partial."""
    if not holder:
        holder.append(recognizer.stream())
    return holder[0].accept(pcm16)


Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


class Hearing:
    """One session's engine calls: the transcriptions its turn-taking asks for, and partial
    transcripts while an utterance goes on. Tasks are made with the session's `spawn`, so
    that they end with it; partials go to `on_partial` while `hearing()` (the utterance in
    progress, None between utterances) still names the utterance they were made for."""

    def __init__(
        self,
        runtime: Runtime,
        recognizer: Recognizer,
        spawn: Spawn,
        on_partial: Callable[[str], None],
        hearing: Callable[[], int | None],
    ) -> None:
        self.runtime = runtime
        self.recognizer = recognizer
        self.gate = engine_gate(runtime, recognizer)
        self._spawn = spawn
        self._on_partial = on_partial
        self._hearing = hearing
        self._stream: list[RecognizerStream] = []
        self._partial_audio = bytearray()
        self._partial_running = False
        self._paused = False
        """A pause was heard: timed partials stop (the rest may be the end silence), and the
        pause's speculative transcript is shown instead."""
        self._own = 0
        """This session's engine calls running or waiting."""

    def others_busy(self) -> bool:
        """Other sessions' engine calls are running or waiting: optional work waits (this
        session's own partial may still be running: it is short)."""
        return self.gate.pending > self._own

    def started(self) -> None:
        """Speech started: a new utterance."""
        self._stream = []  # a partial still running keeps the old one
        self._partial_audio.clear()
        self._paused = False

    def paused(self) -> None:
        """A short pause: no more timed partials for this utterance."""
        self._paused = True

    def heard(self, pcm16: bytes) -> None:
        """Audio inside an utterance: a partial transcript when one is due and the engine is idle."""
        self._partial_audio += pcm16
        utterance = self._hearing()
        if (
            utterance is None
            or self._paused
            or self._partial_running
            or self.gate.busy
            or len(self._partial_audio) < PARTIAL_EVERY_S * SAMPLE_RATE * 2
        ):
            return
        audio, self._partial_audio = bytes(self._partial_audio), bytearray()
        self._partial_running = True
        self._spawn(self._run_partial(utterance, self._stream, audio))

    async def transcribe(
        self, job: Transcribe, speaking: Callable[[], bool]
    ) -> Transcribed | TranscriptionFailed:
        """Transcript and match, for turn-taking; `speaking()` says whether a reply is playing
        when they are ready. An engine's failure is returned, not raised: a speculation's
        may never be looked at."""
        self._own += 1
        try:
            transcript: Transcript = await self.gate.run(
                self.runtime, _transcribe, self.recognizer, job.pcm16
            )
        except _ENGINE_ERRORS as exc:
            return TranscriptionFailed(job.job, time.monotonic(), exc)
        finally:
            self._own -= 1
        text = transcript.text.strip()
        match = match_transcript(transcript, self.runtime.matcher) if text else None
        return Transcribed(job.job, time.monotonic(), text, match, speaking(), transcript)

    async def _run_partial(self, utterance: int, stream: list[RecognizerStream], pcm16: bytes) -> None:
        self._own += 1
        try:
            text = await self.gate.run(self.runtime, _partial, self.recognizer, stream, pcm16)
        except _ENGINE_ERRORS as exc:  # a partial is optional
            log.warning("partial transcript failed: %s", exc)
            return
        finally:
            self._own -= 1
            self._partial_running = False
        if text and self._hearing() == utterance:
            self._on_partial(text)
