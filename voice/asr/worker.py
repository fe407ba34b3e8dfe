"""whisper in a child process, for the kiosk service.

In the service's own process, whisper's Python side (feature extraction, the decoding
loop around CTranslate2) holds the GIL for milliseconds at a time, and on two cores its
decodes compete with the event loop for the CPU: with twenty kiosks streaming, typed
questions waited behind them. In a child process it has its own GIL, and it runs at the
lowest priority (ENGINE_NICE), so the event loop's short jobs go first and whisper
takes the CPU that is left. A crash in the engine (out of memory, a broken model) costs one
question, not the service: the next call starts a fresh child.

    engine = WhisperProcess(model_path, prompt=..., threads=1)   # loads in the child
    engine.transcribe(audio)          # as WhisperRecognizer; safe across threads (one at a time)
    engine.close()

Vosk stays in-process: its calls release the GIL, and its streams keep state in C++.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

from voice.asr import Transcript
from voice.asr.whisper import WhisperRecognizer, WhisperStream
from voice.audio.decode import Audio, Samples
from voice.errors import EngineStoppedError
from voice.lang import DEFAULT_CODE
from voice.lang import language as language_data

log = logging.getLogger("voice.asr.worker")

ENGINE_NICE = 19
"""Niceness of the engine process: the lowest priority, so whisper takes only the CPU
that nothing else wants. With twenty kiosks and 200 typed questions a second on two
cores, niceness 10 left /api/ask's p95 anywhere from 10 to 61 ms from run to run; at 19
it stayed at 10-13 ms, and spoken decisions came no later."""
_CLOSE_WAIT_S = 5.0
_PRELOAD = ["voice.asr.whisper", "faster_whisper", "ctranslate2", "numpy", "noisereduce"]


def _context() -> ForkServerContext:
    """forkserver: children fork from a server that has already imported the engine,
    so a restart takes the model load only. Never fork the service itself: it has threads."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


class WhisperProcess:
    """A WhisperRecognizer in a child process; the same calls, one at a time."""

    name = "whisper"

    def __init__(
        self,
        model_path: Path,
        prompt: str = "",
        threads: int | None = None,
        *,
        word_timestamps: bool = False,
        nice: int = ENGINE_NICE,
        language: str = DEFAULT_CODE,
    ) -> None:
        """Starts the child and waits until its model has loaded; raises what loading
        raised there (ModelNotFoundError for a missing or broken model). `language`: the
        answers set's (voice.lang), checked here before the child starts."""
        self.language = language_data(language).code
        self._settings = (Path(model_path), prompt, threads, word_timestamps, nice, self.language)
        self._lock = threading.Lock()
        self._process: Any = None
        self._conn: Connection | None = None
        with self._lock:
            self._start()

    def transcribe(self, audio: Audio) -> Transcript:
        result: Transcript = self._call("transcribe", audio)
        return result

    def partial(self, samples: Samples) -> str:
        result: str = self._call("partial", samples)
        return result

    def stream(self, partial_interval_s: float = 1.0) -> WhisperStream:
        return WhisperStream(self, partial_interval_s)

    def close(self) -> None:
        """Ends the child (waits up to a few seconds for a call in progress)."""
        with self._lock:
            self._stop()

    def _call(self, operation: str, argument: object) -> Any:
        with self._lock:
            if self._conn is None:
                self._start()
            assert self._conn is not None
            try:
                self._conn.send((operation, argument))
                status, value = self._conn.recv()
            except (EOFError, OSError):
                self._process.join(_CLOSE_WAIT_S)
                code = self._process.exitcode
                self._stop()
                raise EngineStoppedError(
                    f"the speech engine's process stopped (exit code {code}); "
                    "it starts again with the next question"
                ) from None
            if status == "error":
                raise value
            return value

    def _start(self) -> None:
        context = _context()
        parent, child = context.Pipe()
        process = context.Process(
            target=_serve, args=(child, *self._settings), name="voicefaq-whisper", daemon=True
        )
        process.start()
        child.close()  # only the child holds it now: its end shows up here as EOF
        try:
            status, value = parent.recv()
        except EOFError:
            process.join(_CLOSE_WAIT_S)
            raise EngineStoppedError(
                f"the speech engine's process ended while loading (exit code {process.exitcode})"
            ) from None
        if status == "error":
            process.join(_CLOSE_WAIT_S)
            raise value
        self._process, self._conn = process, parent
        log.info("speech engine process %d ready", process.pid)

    def _stop(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            try:
                conn.send(None)
            except OSError:
                pass
            conn.close()
        if process is not None:
            process.join(_CLOSE_WAIT_S)
            if process.is_alive():
                process.kill()
                process.join()


def _serve(
    conn: Connection,
    model_path: Path,
    prompt: str,
    threads: int | None,
    word_timestamps: bool,
    nice: int,
    language: str,
) -> None:
    """The child: load, say "ready", then answer calls until told to stop or the parent goes."""
    os.nice(nice)
    try:
        recognizer = WhisperRecognizer(
            model_path, prompt, threads, word_timestamps=word_timestamps, language=language
        )
    except Exception as exc:  # noqa: BLE001 - the parent raises it
        conn.send(("error", _picklable(exc)))
        return
    conn.send(("ready", None))
    while True:
        try:
            request = conn.recv()
        except EOFError:  # the service has gone
            return
        if request is None:
            return
        operation, argument = request
        try:
            if operation == "transcribe":
                reply: tuple[str, object] = ("ok", recognizer.transcribe(argument))
            else:
                reply = ("ok", recognizer.partial(argument))
        except Exception as exc:  # noqa: BLE001 - the parent raises it; the child serves on
            reply = ("error", _picklable(exc))
        conn.send(reply)


def _picklable(exc: Exception) -> Exception:
    """`exc` if it survives pickling, else a RuntimeError that says what it was."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any failure means: send a plain copy
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
