"""The kiosk service's shared state: one Runtime per app, in `app.state.runtime`.

How an endpoint (and the WebSocket session in session.py) uses it::

    runtime = get_runtime(websocket)          # or request
    check_origin(websocket)                   # raises OriginRefusedError for another site's page
    async with runtime.session_slot():        # raises SessionsFullError past limits.max_sessions
        recognizer = await runtime.run_blocking(runtime.recognizer)   # first call loads the engine
        stream = recognizer.stream()
        partial = await runtime.run_engine(stream.accept, pcm16)      # every engine call: run_engine
        transcript = await runtime.run_engine(stream.finish)
        match = match_transcript(transcript, runtime.matcher)         # read .matcher per question:
                                                                      # an admin reload swaps it
        await runtime.log_for_review(match, "listen", transcript.text)  # the dialogue's Review action
        wav = await runtime.speech_wav(match.say, settings)           # cached WAV bytes

Everything slow (engines, synthesis, SQLite) runs in worker threads through
`run_blocking` / `run_engine`, so the event loop keeps serving other kiosks. Errors are
VoiceError subclasses; `voice.service.errors.close_code_for` turns one into a WebSocket
close code. `limits` holds the sizes a session must enforce (max_utterance_s, ...).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from starlette.requests import HTTPConnection

from voice.asr import RecognizerOptions, engine_spec
from voice.assistant import Assistant
from voice.conversation.events import VoiceSettings
from voice.core.faq import FaqSet
from voice.core.matcher import Decision, Match, Matcher
from voice.profiles import Profile
from voice.review import ReviewLog, ReviewLogError
from voice.service.errors import OriginRefusedError, SessionsFullError
from voice.service.limits import Limits

if TYPE_CHECKING:
    from voice.asr import Recognizer
    from voice.speech.tts import Synthesizer

T = TypeVar("T")
log = logging.getLogger("voice.service")
Source = Literal["typed", "spoken", "listen"]

_HOST = re.compile(r"^(?P<name>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>\d{1,5}))?$")
"""A Host header safe to repeat in a header (a name or address, optional port)."""
_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
_SECURE = {"http": "http", "ws": "http", "https": "https", "wss": "https"}


class SpeechCache:
    """Synthesised WAVs by (text, settings), bounded in bytes; safe across threads."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str, settings: VoiceSettings) -> str:
        """Also the HTTP ETag: the same text and settings always give the same audio."""
        raw = f"{settings.rate}\0{settings.volume}\0{settings.voice or ''}\0{text}"
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]

    def get(self, key: str) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: str, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._bytes -= len(old) if old is not None else 0
            self._items[key] = data
            self._bytes += len(data)
            while self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)


class Runtime:
    """Shared by every request: the assistant (answers and engines, loaded once, lazily),
    the review log and the limits."""

    def __init__(
        self,
        answers_dir: Path,
        *,
        limits: Limits | None = None,
        admin_token: str | None = None,
        review: ReviewLog | None = None,
        engine: str | None = None,
        model_path: Path | None = None,
        allowed_hosts: Iterable[str] = (),
        profile: Profile | None = None,
    ) -> None:
        """`profile`: one person's voice profile (a home kiosk's owner), read with every
        question, and their end silence the default for spoken ones."""
        # One core is left to the event loop: with twenty kiosks streaming, whisper on every
        # core pushed typed questions' p95 from 30 to 65 ms and answered no sooner. And
        # whisper runs in its own process, at the lowest priority (voice.asr.worker).
        recognition = RecognizerOptions(
            model_path=model_path, threads=max(1, (os.cpu_count() or 2) - 1), separate_process=True
        )
        self.assistant = Assistant(answers_dir, engine=engine, recognition=recognition, profile=profile)
        self.limits = limits or Limits()
        self.admin_token = admin_token or None
        self.review = review
        if review is not None:
            review.set_id = self.faq_set.id
        self.speech_cache = SpeechCache(self.limits.speech_cache_bytes)
        self.allowed_hosts = LOOPBACK_HOSTS | {_host_name(host) for host in allowed_hosts}
        """Host header names this service answers to ("*": any); see host_allowed."""
        # An engine that is not thread-safe (voice.asr.EngineSpec.parallel_calls == 1) takes
        # one call at a time; on a few cores two decodes at once only make both slower.
        self._engine_lock = threading.Lock()
        self._limiter = CapacityLimiter(self.limits.worker_threads)
        self._sessions = 0

    @property
    def faq_set(self) -> FaqSet:
        return self.assistant.faq_set

    @property
    def matcher(self) -> Matcher:
        return self.assistant.matcher

    @property
    def sessions(self) -> int:
        """Listening sessions open now."""
        return self._sessions

    @property
    def recognizer_loaded(self) -> Recognizer | None:
        """The recogniser if it has been loaded, without loading it."""
        return self.assistant.recognizer_loaded

    def recognizer(self) -> Recognizer:
        """The speech engine, loaded on first use (seconds: call it through run_blocking)."""
        return self.assistant.recognizer()

    def synthesizer(self) -> Synthesizer:
        """The text-to-speech engine, loaded on first use."""
        return self.assistant.synthesizer()

    async def run_blocking(self, fn: Callable[..., T], *args: object) -> T:
        """Run `fn(*args)` in a worker thread (at most limits.worker_threads at once)."""
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter)

    async def run_engine(self, fn: Callable[..., T], *args: object) -> T:
        """Run a call into the recogniser or one of its streams in a worker thread; whisper
        calls are serialised, since its adapter is not thread-safe."""
        recognizer = self.recognizer_loaded
        if recognizer is not None and engine_spec(recognizer.name).parallel_calls > 1:
            return await self.run_blocking(fn, *args)
        return await self.run_blocking(self._locked, self._engine_lock, fn, *args)

    @staticmethod
    def _locked(lock: threading.Lock, fn: Callable[..., T], *args: object) -> T:
        with lock:
            return fn(*args)

    def reload(self) -> FaqSet:
        """Load the answers set again (admin). A broken set raises AnswersFormatError and
        the old one stays in use. A loaded recogniser is rebuilt with the new words."""
        faq_set = self.assistant.reload()
        if self.review is not None:
            self.review.set_id = faq_set.id
        return faq_set

    @asynccontextmanager
    async def session_slot(self) -> AsyncIterator[None]:
        """Holds one of limits.max_sessions listening slots; SessionsFullError when none is free.
        Only entered on the event loop, so the count needs no lock."""
        if self._sessions >= self.limits.max_sessions:
            raise SessionsFullError(
                f"all {self.limits.max_sessions} listening sessions are in use; try again in a minute"
            )
        self._sessions += 1
        try:
            yield
        finally:
            self._sessions -= 1

    async def log_for_review(self, match: Match, source: Source, transcript: str | None = None) -> bool:
        """Keep a fallback or confirm for staff (text only); True when it was stored."""
        if self.review is None or match.decision not in (Decision.FALLBACK, Decision.CONFIRM):
            return False
        try:
            return await self.run_blocking(self.review.add, match, transcript, source)
        except ReviewLogError as exc:  # the person still gets their answer; staff see the log
            log.warning("question not kept for review: %s", exc)
            return False

    async def speech_wav(self, text: str, settings: VoiceSettings) -> bytes:
        """`text` spoken with `settings`, as WAV bytes; cached (see SpeechCache)."""
        key = SpeechCache.key(text, settings)
        cached = self.speech_cache.get(key)
        if cached is not None:
            return cached
        data = await self.run_blocking(self._synthesize, text, settings)
        self.speech_cache.put(key, data)
        return data

    def _synthesize(self, text: str, settings: VoiceSettings) -> bytes:
        from voice.speech.tts import wav_bytes

        return wav_bytes(self.synthesizer().synthesize(text, settings))  # serialised by voice.speech.tts

    def close(self) -> None:
        self.assistant.close()
        if self.review is not None:
            self.review.close()


def get_runtime(request: HTTPConnection) -> Runtime:
    """The app's Runtime, for a request or a WebSocket (a FastAPI dependency)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
"""Names a kiosk on this machine is reached by; `voicefaq serve --allowed-host` adds more."""


def _host_name(host: str) -> str:
    """ "Kiosk.Local:8000" -> "kiosk.local"; "::1" and "[::1]:80" -> "[::1]"."""
    host = host.strip().lower()
    if host.count(":") > 1 and not host.startswith("["):  # a bare IPv6 address
        return f"[{host}]"
    parsed = _HOST.match(host)
    return parsed["name"] if parsed is not None else host


def host_allowed(conn: HTTPConnection, allowed: frozenset[str]) -> bool:
    """Whether the Host header names this service. A page on another site reached through a
    name that resolves to this machine (DNS rebinding) carries that site's name here, and
    is then same-origin with itself: the Host check is what refuses it."""
    host = conn.headers.get("host")
    if host is None or _HOST.match(host.strip().lower()) is None:
        return False
    return "*" in allowed or _host_name(host) in allowed


def own_origin(conn: HTTPConnection) -> str | None:
    """The service's origin as this connection reached it ("http://127.0.0.1:8000"), from
    its Host header; None when the header is missing or malformed."""
    host = conn.headers.get("host", "").lower()
    parsed = _HOST.match(host)
    if parsed is None:
        return None
    scheme = _SECURE.get(conn.url.scheme, "http")
    port = parsed["port"]
    if port is not None and int(port) == _DEFAULT_PORTS[scheme]:  # browsers leave it out
        return f"{scheme}://{parsed['name']}"
    return f"{scheme}://{host}"


def same_origin(conn: HTTPConnection) -> bool:
    """True unless the request carries an Origin header naming another origin. Browsers
    send Origin on every WebSocket handshake and cross-site POST; tools such as curl send
    none and are allowed (they could forge it anyway: this guards a kiosk's browser)."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    expected = own_origin(conn)
    return expected is not None and origin.rstrip("/").lower() == expected


def check_origin(conn: HTTPConnection) -> None:
    """OriginRefusedError for a request from another site's page (call it before
    accepting a WebSocket)."""
    if not same_origin(conn):
        raise OriginRefusedError(
            f"requests from {conn.headers.get('origin')!r} are refused: only pages served by this "
            "kiosk service may use its API"
        )
