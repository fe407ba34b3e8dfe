"""Speaking the dialogue's Speak actions, sentence by sentence, on a thread of their own.

Sentence by sentence so that "stop" cuts in within one sentence, and so that the first
sentence starts playing while the rest are still being synthesised. The first sentence of
a likely reply can be prepared ahead (`prepare`), while the person's end silence runs.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from voice.conversation.events import Speak, VoiceSettings
from voice.errors import VoiceError
from voice.speech.tts import Speech, Synthesizer, cue, sentences

log = logging.getLogger(__name__)

_CACHE_SIZE = 32


class Player(Protocol):
    """Where speech is heard: voice.audio.speaker.Speaker, or anything that plays like it."""

    def play(
        self,
        speech: Speech,
        stop: threading.Event | None = None,
        on_first_sample: Callable[[], None] | None = None,
    ) -> bool:
        """Blocks until played (True) or `stop` is set (False)."""
        ...


@dataclass(frozen=True, slots=True)
class _Job:
    what: Speak | str
    """A Speak action, or the name of a cue."""
    cancel: threading.Event = field(default_factory=threading.Event)


class SpeechOutput:
    """Plays queued speech and cues in order; `stop()` cancels what plays and what waits."""

    def __init__(
        self,
        synthesizer: Synthesizer,
        player: Player,
        on_done: Callable[[int, bool], None],
        on_first_sample: Callable[[int], None] | None = None,
    ) -> None:
        self._synthesizer = synthesizer
        self._player = player
        self._on_done = on_done
        """(speak id, interrupted) after each Speak, played or not."""
        self._on_first_sample = on_first_sample
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._jobs: list[_Job] = []
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, VoiceSettings], Speech] = OrderedDict()
        self._synth = ThreadPoolExecutor(1, thread_name_prefix="voicefaq-tts")
        self._thread = threading.Thread(target=self._run, name="voicefaq-speaker", daemon=True)

    @property
    def busy(self) -> bool:
        """Speaking, or about to: the person's words now may be barge-in or echo."""
        with self._lock:
            return any(isinstance(job.what, Speak) for job in self._jobs)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.stop()
        self._queue.put(None)
        self._thread.join(timeout=5)
        self._synth.shutdown(wait=False, cancel_futures=True)

    def say(self, speak: Speak) -> None:
        self._enqueue(_Job(speak))

    def cue(self, name: str) -> None:
        self._enqueue(_Job(name))

    def _enqueue(self, job: _Job) -> None:
        with self._lock:
            self._jobs.append(job)
        self._queue.put(job)

    def stop(self) -> None:
        """Cut the current sentence short and drop everything queued."""
        with self._lock:
            for job in self._jobs:
                job.cancel.set()

    def prepare(self, text: str, settings: VoiceSettings) -> None:
        """Synthesise the first sentence of `text` now, so that saying it starts at once."""
        parts = sentences(text)
        if parts:
            try:
                self._speech(parts[0], settings)
            except VoiceError as exc:  # it will fail again, and be reported, when it is said
                log.debug("could not prepare %r: %s", parts[0], exc)

    def _speech(self, sentence: str, settings: VoiceSettings) -> Speech:
        key = (sentence, settings)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        speech = self._synthesizer.synthesize(sentence, settings)
        with self._lock:
            self._cache[key] = speech
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return speech

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                if isinstance(job.what, Speak):
                    interrupted = job.cancel.is_set() or not self._say(job.what, job.cancel)
                    self._on_done(job.what.id, interrupted)
                elif not job.cancel.is_set():
                    self._player.play(cue(job.what), job.cancel)
            except VoiceError as exc:
                log.error("could not speak: %s", exc)
                if isinstance(job.what, Speak):
                    self._on_done(job.what.id, True)
            finally:
                with self._lock:
                    self._jobs.remove(job)

    def _say(self, speak: Speak, cancel: threading.Event) -> bool:
        parts = sentences(speak.text) or [speak.text]
        upcoming: Future[Speech] | None = self._synth.submit(self._speech, parts[0], speak.settings)
        for index in range(len(parts)):
            assert upcoming is not None
            speech = upcoming.result()
            upcoming = (
                self._synth.submit(self._speech, parts[index + 1], speak.settings)
                if index + 1 < len(parts)
                else None
            )
            on_first = None
            if index == 0 and self._on_first_sample is not None:
                on_first = partial(self._on_first_sample, speak.id)
            if cancel.is_set() or not self._player.play(speech, cancel, on_first):
                if upcoming is not None:
                    upcoming.cancel()
                return False
        return True
