"""The hands-free conversation on a microphone and a speaker: `voicefaq listen`.

The I/O shell around the pure Dialogue and turn-taking (voice/conversation/turns.py).
One thread reads the microphone, one plays speech, one (push-to-talk) reads keys, one
runs speech recognition; all of them post to one inbox, and only the main loop touches
the dialogue and the turns.

Latency: the reply should start no later than the end-of-question silence plus
300 ms. So the transcription turn-taking asks for at a pause is also matched, and its
reply's first sentence synthesised, on the recognition thread at once; if the pause
turns out to be the end, that work is already done when the silence is over.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from voice.asr import Recognizer
from voice.audio.decode import SAMPLE_RATE, Audio, pcm16_to_float
from voice.audio.vad import EndpointConfig, Endpointer, EndpointKind
from voice.conversation.dialogue import Dialogue, DialogueConfig
from voice.conversation.events import (
    Action,
    Cue,
    Event,
    KeyDown,
    Listen,
    PausedMidQuestion,
    Review,
    SessionReset,
    SettingsChanged,
    Show,
    Speak,
    SpeechDone,
    Started,
    StopSpeaking,
    Tick,
)
from voice.conversation.turns import (
    Cancel,
    CutShort,
    Failed,
    Hear,
    NoWords,
    Restart,
    Transcribe,
    Transcribed,
    TurnAction,
    Turns,
)
from voice.core.faq import FaqSet
from voice.core.matcher import Match, Matcher
from voice.errors import AudioDeviceError, VoiceError
from voice.speech.output import Player, SpeechOutput
from voice.speech.tts import Synthesizer
from voice.spoken import match_transcript, turn_input
from voice.terminal.captions import Captions

log = logging.getLogger(__name__)

TICK_S = 1.0
"""How often time is passed to the dialogue (idle reset) when nothing else happens."""


@dataclass(frozen=True, slots=True)
class ListenConfig:
    endpoint: EndpointConfig = field(default_factory=EndpointConfig)
    dialogue: DialogueConfig = field(default_factory=DialogueConfig)
    record_dir: Path | None = None
    """Keep each utterance as a WAV here; None keeps no audio at all."""


@dataclass(frozen=True, slots=True)
class Turn:
    """Timings of one question and its reply, for the log and the latency benchmark."""

    text: str
    speech_ended_at: float
    """Monotonic seconds when the question's end silence was over."""
    speculative: bool
    """Whether the transcript was ready from the pause before the end."""


@dataclass(frozen=True, slots=True)
class _Audio:
    pcm16: bytes


@dataclass(frozen=True, slots=True)
class _Result:
    """A transcription done on the recognition thread; the main loop makes it Transcribed."""

    job: int
    text: str
    match: Match | None


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException


_Item = _Audio | _Result | _Failed | Event | None


class Listener:
    """Runs the conversation until `close()`, a device failure or Ctrl-C."""

    def __init__(
        self,
        faq_set: FaqSet,
        matcher: Matcher,
        recognizer: Recognizer,
        synthesizer: Synthesizer,
        player: Player,
        captions: Captions,
        config: ListenConfig | None = None,
        review: Callable[[Match, str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or ListenConfig()
        self._matcher = matcher
        self._recognizer = recognizer
        self._captions = captions
        self._review = review
        self._clock = clock
        self._dialogue = Dialogue(faq_set, matcher, self.config.dialogue)
        self._endpointer = Endpointer(self.config.endpoint)
        self._inbox: queue.Queue[_Item] = queue.Queue()
        self._asr = ThreadPoolExecutor(1, thread_name_prefix="voicefaq-asr")
        self._output = SpeechOutput(synthesizer, player, self.on_speech_done, self._on_first_sample)
        self._turns = Turns(self._dialogue.language)
        self._jobs: dict[int, Future[_Result]] = {}
        """Transcriptions asked for and not yet taken, by job."""
        self.replies: list[tuple[int, float]] = []
        """(speak id, monotonic seconds when its first sample was played)."""
        self.turns: list[Turn] = []

    def _post(self, item: _Item) -> None:
        self._inbox.put(item)

    def feed(self, pcm16: bytes) -> None:
        """Microphone audio, from any thread."""
        self._post(_Audio(pcm16))

    def key(self) -> None:
        """A key or switch was pressed (push-to-talk), from any thread."""
        self._post(KeyDown(self._clock()))

    def send(self, event: Event) -> None:
        """Any other event for the dialogue (a command from a button), from any thread."""
        self._post(event)

    def fail(self, error: BaseException) -> None:
        """An input thread broke; the loop stops and run() raises it."""
        self._post(_Failed(error))

    def close(self) -> None:
        self._post(None)

    def run(self) -> None:
        self._output.start()
        try:
            self._act(self._dialogue.handle(Started(self._clock())))
            while True:
                try:
                    item = self._inbox.get(timeout=TICK_S)
                except queue.Empty:
                    self._act(self._dialogue.handle(Tick(self._clock())))
                    continue
                if item is None:
                    return
                if isinstance(item, _Failed):
                    if isinstance(item.error, VoiceError):
                        raise item.error
                    # An engine's own exception: said plainly, not as a traceback.
                    raise VoiceError(f"speech recognition stopped working: {item.error}") from item.error
                self._handle(item)
        finally:
            self._output.close()
            self._asr.shutdown(wait=False, cancel_futures=True)

    def _handle(self, item: _Audio | _Result | Event) -> None:
        if isinstance(item, _Audio):
            for endpoint in self._endpointer.feed(item.pcm16):
                if endpoint.kind in (EndpointKind.SPEECH_ENDED, EndpointKind.MAX_LENGTH):
                    self._record(endpoint.pcm16)
                heard = turn_input(endpoint, self._clock(), self._output.busy)
                if heard is not None:
                    self._take(self._turns.feed(heard))
        elif isinstance(item, _Result):
            self._jobs.pop(item.job, None)
            now, busy = self._clock(), self._output.busy
            self._take(self._turns.feed(Transcribed(item.job, now, item.text, item.match, busy)))
        else:
            self._act(self._dialogue.handle(item))

    def _take(self, actions: Iterable[TurnAction]) -> None:
        """Carries out what turn-taking decided."""
        for action in actions:
            if isinstance(action, Transcribe):
                future = self._asr.submit(self._transcribe, action)
                future.add_done_callback(self._post_result)
                self._jobs[action.job] = future
            elif isinstance(action, Cancel):
                job = self._jobs.pop(action.job, None)
                if job is not None:
                    job.cancel()  # not started yet: the engine is free sooner
            elif isinstance(action, CutShort):
                self._endpointer.reset()
            elif isinstance(action, Hear):
                self.turns.append(Turn(action.heard.text, action.ended_at, action.speculative))
                self._act(self._dialogue.handle(action.heard))
            elif isinstance(action, PausedMidQuestion):
                self._act(self._dialogue.handle(action))
            elif isinstance(action, NoWords):
                log.info("an utterance with no recognisable words was ignored")
            elif isinstance(action, Failed):  # not fed: every failure stops the loop (run)
                raise VoiceError(f"speech recognition stopped working: {action.error}")
            # Partial, Discard: nothing to show, nothing to do

    def _transcribe(self, job: Transcribe) -> _Result:
        """Runs on the recognition thread: transcript, match, and the reply's first sentence."""
        transcript = self._recognizer.transcribe(Audio(pcm16_to_float(job.pcm16), SAMPLE_RATE, 1))
        text = transcript.text.strip()
        if not text:
            return _Result(job.job, "", None)
        match = match_transcript(transcript, self._matcher)
        if not job.over_speech:
            self._output.prepare(match.say, self._dialogue.settings)
        return _Result(job.job, text, match)

    def _post_result(self, future: Future[_Result]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        self._post(_Failed(error) if error else future.result())

    def _record(self, pcm16: bytes) -> None:
        directory = self.config.record_dir
        if directory is None:
            return
        import soundfile

        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = directory / f"utterance-{stamp}-{self._turns.utterance:04d}.wav"
        try:
            soundfile.write(path, pcm16_to_float(pcm16), SAMPLE_RATE, subtype="PCM_16")
        except (OSError, RuntimeError) as exc:  # libsndfile reports an unwritable path as RuntimeError
            log.warning("could not keep the recording %s: %s", path, exc)

    def _act(self, actions: Iterable[Action]) -> None:
        for action in actions:
            if isinstance(action, Speak):
                self._captions.spoken(action.kind, action.text)
                self._output.say(action)
            elif isinstance(action, StopSpeaking):
                self._output.stop()
            elif isinstance(action, Show):
                self._captions.show(action.role, action.text)
            elif isinstance(action, Cue):
                self._output.cue(action.name)
            elif isinstance(action, Review):
                if self._review is not None:
                    self._review(action.match, action.match.input)
            elif isinstance(action, Listen):
                # A fresh question: nothing half-heard, or still being transcribed, from before the key.
                self._endpointer.reset()
                self._take(self._turns.feed(Restart(self._clock())))
            elif isinstance(action, SessionReset):
                self._captions.reset()  # the large board forgets the conversation too
                log.info("%s", action)
            elif isinstance(action, SettingsChanged):
                log.info("%s", action)
            else:  # Offer (choices are spoken; the terminal has no buttons to draw), Understood
                log.debug("%s", action)

    def _on_first_sample(self, speak_id: int) -> None:
        self.replies.append((speak_id, self._clock()))

    def on_speech_done(self, speak_id: int, interrupted: bool) -> None:
        self._post(SpeechDone(speak_id, self._clock(), interrupted))


def run_microphone(listener: Listener, blocks: Iterable[bytes]) -> threading.Thread:
    """Feeds the listener from a microphone's blocks on a daemon thread."""

    def pump() -> None:
        try:
            for block in blocks:
                listener.feed(block)
            listener.fail(AudioDeviceError("the microphone stopped delivering audio"))
        except VoiceError as exc:
            listener.fail(exc)

    thread = threading.Thread(target=pump, name="voicefaq-mic", daemon=True)
    thread.start()
    return thread
