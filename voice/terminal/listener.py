"""The hands-free conversation on a microphone and a speaker: `voicefaq listen`.

The I/O shell around the pure Dialogue. One thread reads the microphone, one plays
speech, one (push-to-talk) reads keys, one runs speech recognition; all of them post
to one inbox, and only the main loop touches the dialogue.

Latency: the reply should start no later than the end-of-question silence plus
300 ms. So when the speaker pauses (EndpointKind.PAUSED, 0.3 s into the silence) the
audio so far is transcribed, matched and its first sentence synthesised at once; if
the pause turns out to be the end, that work is already done when the silence is
over. If the person goes on speaking, the next pause starts again.
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
from voice.conversation.commands import parse_command
from voice.conversation.dialogue import Dialogue, DialogueConfig
from voice.conversation.events import (
    Action,
    Cue,
    Event,
    Heard,
    KeyDown,
    Listen,
    PausedMidQuestion,
    Review,
    Role,
    SessionReset,
    SettingsChanged,
    Show,
    Speak,
    SpeechDone,
    Started,
    StopSpeaking,
    Tick,
)
from voice.core.faq import FaqSet
from voice.core.matcher import Decision, Match, Matcher
from voice.errors import AudioDeviceError, VoiceError
from voice.speech.output import Player, SpeechOutput
from voice.speech.tts import Synthesizer
from voice.spoken import match_transcript
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
class _Transcribed:
    job: int
    """Which transcription this is: several may run for one utterance, one per pause."""
    utterance: int
    text: str
    match: Match | None
    speculative: bool
    """Transcribed at a pause, before the utterance was known to be over."""


@dataclass(frozen=True, slots=True)
class _Job:
    id: int
    utterance: int
    speculative: bool
    while_speaking: bool


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException


_Item = _Audio | _Transcribed | _Failed | Event | None


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
        self.replies: list[tuple[int, float]] = []
        """(speak id, monotonic seconds when its first sample was played)."""
        self._utterance = 0
        """Counts utterances, so that a late speculative result is not mistaken for a newer one."""
        self._jobs = 0
        self._speculation: tuple[int, int, Future[_Transcribed]] | None = None
        """(utterance, job, future) of the transcription started at the latest pause."""
        self._awaiting: int | None = None
        """The job whose transcript ends the current utterance."""
        self._spoke_during = False
        self._ended_at = 0.0
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

    def _handle(self, item: _Audio | _Transcribed | Event) -> None:
        if isinstance(item, _Audio):
            for endpoint in self._endpointer.feed(item.pcm16):
                self._on_endpoint(endpoint.kind, endpoint.pcm16)
        elif isinstance(item, _Transcribed):
            self._on_transcribed(item)
        else:
            self._act(self._dialogue.handle(item))

    def _on_endpoint(self, kind: EndpointKind, pcm16: bytes) -> None:
        now = self._clock()
        if kind is EndpointKind.SPEECH_STARTED:
            self._utterance += 1
            self._speculation = None
            self._spoke_during = self._output.busy
        elif kind is EndpointKind.PAUSED:
            self._speculate(pcm16)
        elif kind is EndpointKind.STILL_LISTENING:
            self._act(self._dialogue.handle(PausedMidQuestion(now)))
        elif kind in (EndpointKind.SPEECH_ENDED, EndpointKind.MAX_LENGTH):
            self._ended_at = now
            self._spoke_during = self._spoke_during or self._output.busy
            self._record(pcm16)
            speculation = self._speculation
            if kind is EndpointKind.SPEECH_ENDED and speculation and speculation[0] == self._utterance:
                _, self._awaiting, future = speculation  # posted when ready, if it is not already
                if future.done() and not future.cancelled() and future.exception() is None:
                    self._on_transcribed(future.result())
            else:
                self._awaiting, _ = self._submit(pcm16, speculative=False)

    def _speculate(self, pcm16: bytes) -> None:
        if self._speculation is not None:
            self._speculation[2].cancel()  # an older pause's work, not started yet
        job, future = self._submit(pcm16, speculative=True)
        self._speculation = (self._utterance, job, future)

    def _submit(self, pcm16: bytes, speculative: bool) -> tuple[int, Future[_Transcribed]]:
        self._jobs += 1
        job = _Job(self._jobs, self._utterance, speculative, self._output.busy)
        future = self._asr.submit(self._transcribe, job, pcm16)
        future.add_done_callback(self._post_result)
        return job.id, future

    def _transcribe(self, job: _Job, pcm16: bytes) -> _Transcribed:
        """Runs on the recognition thread: transcript, match, and the reply's first sentence."""
        transcript = self._recognizer.transcribe(Audio(pcm16_to_float(pcm16), SAMPLE_RATE, 1))
        text = transcript.text.strip()
        if not text:
            return _Transcribed(job.id, job.utterance, "", None, job.speculative)
        match = match_transcript(transcript, self._matcher)
        if not job.while_speaking:
            self._output.prepare(match.say, self._dialogue.settings)
        return _Transcribed(job.id, job.utterance, text, match, job.speculative)

    def _post_result(self, future: Future[_Transcribed]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        self._post(_Failed(error) if error else future.result())

    def _on_transcribed(self, result: _Transcribed) -> None:
        if result.job == self._awaiting:
            self._dispatch(result)
        elif (
            result.speculative
            and result.utterance == self._utterance
            and self._endpointer.in_speech
            and self._urgent(result)
        ):
            # An emergency, or "stop" while speaking, acts at the first pause, not after
            # the whole end silence; the rest of the utterance is dropped.
            self._endpointer.reset()
            self._ended_at = self._clock()
            self._spoke_during = self._spoke_during or self._output.busy
            self._dispatch(result)
        # else: a pause that was not the end, or a result overtaken by a newer question

    def _urgent(self, result: _Transcribed) -> bool:
        if result.match is not None and result.match.decision is Decision.EMERGENCY:
            return True
        return self._output.busy and parse_command(result.text) is not None

    def _dispatch(self, result: _Transcribed) -> None:
        self._awaiting = None
        if not result.text:
            log.info("an utterance with no recognisable words was ignored")
            return
        self.turns.append(Turn(result.text, self._ended_at, result.speculative))
        heard = Heard(result.text, self._clock(), while_speaking=self._spoke_during, match=result.match)
        self._act(self._dialogue.handle(heard))

    def _record(self, pcm16: bytes) -> None:
        directory = self.config.record_dir
        if directory is None:
            return
        import soundfile

        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = directory / f"utterance-{stamp}-{self._utterance:04d}.wav"
        try:
            soundfile.write(path, pcm16_to_float(pcm16), SAMPLE_RATE, subtype="PCM_16")
        except (OSError, RuntimeError) as exc:  # libsndfile reports an unwritable path as RuntimeError
            log.warning("could not keep the recording %s: %s", path, exc)

    def _act(self, actions: Iterable[Action]) -> None:
        for action in actions:
            if isinstance(action, Speak):
                self._captions.show(Role.ASSISTANT, action.text)
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
                self._endpointer.reset()  # a fresh question: no half-heard audio from before the key
            elif isinstance(action, SessionReset | SettingsChanged):
                log.info("%s", action)
            else:  # Offer: choices are spoken; the terminal has no buttons to draw
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
