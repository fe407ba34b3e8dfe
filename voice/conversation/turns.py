"""Turn-taking: when to transcribe, which transcript to act on, and barging in. Pure.

`Turns.feed(input) -> list[TurnAction]`, like the Dialogue: no threads, no event loop, no
devices, no engines, no clock. Both shells drive it (`voicefaq listen` with threads,
the kiosk's WebSocket session with asyncio): they feed it the endpointer's events, the
results of the transcriptions it asked for and whether the assistant is speaking, and
carry out what it returns.

Latency: the reply should start no later than the end silence plus 300 ms. So at a
pause (EndpointKind.PAUSED, 0.3 s into the silence) the audio so far is transcribed
speculatively; if the pause turns out to be the end, that transcript is used as soon as
the end silence is over (or as soon as it is ready), and the shell has already matched
it and synthesised its first sentence. If the person goes on speaking, the next pause
starts again.

Where it stands: between utterances, or hearing one (the utterance in progress, with
the transcript of its latest pause wanted, running or ready); independently of that,
awaiting the transcript of the utterance that ended last. Only the latest ended
utterance's transcript is ever given to the dialogue: an older one still being
transcribed when the next one ends is dropped.

Talking over the assistant: an utterance that began or ended while the assistant was
speaking is given to the dialogue as `while_speaking` (only commands and emergencies
act; echoes are ignored there). An emergency, or a command while the assistant speaks,
acts at the first pause instead of after the whole end silence (barge-in): the rest of
that utterance is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from voice.conversation.commands import parse_command
from voice.conversation.events import Heard, PausedMidQuestion
from voice.core.matcher import Decision, Match
from voice.lang import DEFAULT_LANGUAGE, Language

if TYPE_CHECKING:
    from voice.core.transcript import Transcript


# Inputs: what the shell saw.


@dataclass(frozen=True, slots=True)
class SpeechBegan:
    """The endpointer heard an utterance start (EndpointKind.SPEECH_STARTED)."""

    at: float
    """Monotonic seconds."""
    speaking: bool
    """The assistant is speaking, or about to: what is said now talks over it."""


@dataclass(frozen=True, slots=True)
class Paused:
    """A short pause inside the utterance (EndpointKind.PAUSED, 0.3 s of silence)."""

    at: float
    """Monotonic seconds."""
    pcm16: bytes
    """The utterance so far: 16 kHz mono 16-bit PCM, pre-roll included."""
    speaking: bool
    """The assistant is speaking, or about to."""
    engine_free: bool = True
    """False when the engine has other work (other kiosks): no speculative transcript."""


@dataclass(frozen=True, slots=True)
class LongPause:
    """A long pause inside the utterance (EndpointKind.STILL_LISTENING)."""

    at: float
    """Monotonic seconds."""


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    """The utterance is over: its end silence has passed, or it reached the longest allowed."""

    at: float
    """Monotonic seconds."""
    pcm16: bytes
    """The whole utterance: 16 kHz mono 16-bit PCM, pre-roll included."""
    speaking: bool
    """The assistant is speaking, or about to."""
    cut: bool = False
    """Ended at the longest utterance allowed (EndpointKind.MAX_LENGTH), not by silence:
    the last pause's transcript lacks what was said since."""


@dataclass(frozen=True, slots=True)
class Transcribed:
    """The result of a Transcribe the shell was asked for."""

    job: int
    """Transcribe.job."""
    at: float
    """Monotonic seconds when the shell took the result."""
    text: str
    """The transcript, stripped; "" when no words were recognised."""
    match: Match | None
    """The shell's matcher decision for `text` (None when there are no words)."""
    speaking: bool
    """The assistant is speaking now, or about to."""
    transcript: Transcript | None = None
    """The engine's transcript, handed back in Hear for the shell's own use."""


@dataclass(frozen=True, slots=True)
class TranscriptionFailed:
    """A Transcribe the shell was asked for raised."""

    job: int
    at: float
    """Monotonic seconds."""
    error: BaseException


@dataclass(frozen=True, slots=True)
class Restart:
    """A fresh question (the dialogue's Listen: push-to-talk): nothing half-heard or still
    being transcribed from before counts. The shell resets its endpointer itself."""

    at: float
    """Monotonic seconds."""


TurnInput = SpeechBegan | Paused | LongPause | SpeechEnded | Transcribed | TranscriptionFailed | Restart


# Outputs: what the shell should do, in order.


@dataclass(frozen=True, slots=True)
class Transcribe:
    """Transcribe this audio (and match it); feed the result back as Transcribed(job)."""

    job: int
    """Increases through a Turns; names the result."""
    pcm16: bytes
    """16 kHz mono 16-bit PCM."""
    speculative: bool
    """At a pause: the utterance may go on, and then this result is not used."""
    over_speech: bool
    """Said over the assistant's speech: only a command can come of it, so there is no
    reply worth synthesising ahead."""


@dataclass(frozen=True, slots=True)
class Cancel:
    """The result of this job is not wanted any more: do not start it if it has not started."""

    job: int


@dataclass(frozen=True, slots=True)
class Partial:
    """What is being said, from a pause's transcript, while the person may go on."""

    text: str


@dataclass(frozen=True, slots=True)
class CutShort:
    """Barge-in: the utterance is taken as over at this pause. Reset the endpointer (the
    rest of the utterance is dropped); a Hear follows."""

    at: float
    """Monotonic seconds."""


@dataclass(frozen=True, slots=True)
class Hear:
    """Give `heard` to the dialogue: the transcript of a finished utterance."""

    heard: Heard
    ended_at: float
    """Monotonic seconds when the utterance was over: its end silence, or the barge-in."""
    speculative: bool
    """The transcript was made at a pause, before the utterance was known to be over."""
    transcript: Transcript | None = None
    """Transcribed.transcript."""


@dataclass(frozen=True, slots=True)
class NoWords:
    """The utterance held no recognisable words (a cough, a door): nothing to act on."""

    job: int


@dataclass(frozen=True, slots=True)
class Failed:
    """The transcription of the utterance failed: it cannot be answered."""

    job: int
    error: BaseException


@dataclass(frozen=True, slots=True)
class Discard:
    """A result nobody waits for (a pause that was not the end, an utterance overtaken by a
    newer one or by a fresh question): nothing to do."""

    job: int


TurnAction = Transcribe | Cancel | Partial | CutShort | Hear | NoWords | Failed | Discard | PausedMidQuestion
"""PausedMidQuestion: give it to the dialogue (it may cue "still listening")."""


@dataclass(frozen=True, slots=True)
class _Speculation:
    job: int
    result: Transcribed | TranscriptionFailed | None = None
    """Arrived before the utterance ended."""


@dataclass(frozen=True, slots=True)
class _Awaited:
    job: int
    ended_at: float
    """Monotonic seconds."""
    while_speaking: bool
    speculative: bool


class Turns:
    """One listening session's turn-taking; feed it inputs in the order they happen."""

    def __init__(self, language: Language = DEFAULT_LANGUAGE) -> None:
        self.language = language
        """Whose command words count as urgent over the assistant's speech (the set's)."""
        self._jobs = 0
        self.utterance = 0
        """Counts utterances heard starting."""
        self._hearing = False
        self._spoke_during = False
        """The assistant spoke at some point of the utterance in progress (so far)."""
        self._speculation: _Speculation | None = None
        """The transcript of the utterance in progress at its latest pause."""
        self._awaited: _Awaited | None = None

    @property
    def hearing(self) -> int | None:
        """The utterance in progress (its number), None between utterances."""
        return self.utterance if self._hearing else None

    @property
    def awaiting(self) -> int | None:
        """The job whose transcript ends the last utterance, None when none is awaited."""
        return self._awaited.job if self._awaited else None

    def feed(self, event: TurnInput) -> list[TurnAction]:
        """What to do about one input, in order."""
        if isinstance(event, SpeechBegan):
            actions = self._drop_speculation()
            self.utterance += 1
            self._hearing = True
            self._spoke_during = event.speaking
            return actions
        if isinstance(event, Paused):
            return self._on_pause(event)
        if isinstance(event, LongPause):
            return [PausedMidQuestion(event.at)] if self._hearing else []
        if isinstance(event, SpeechEnded):
            return self._on_end(event)
        if isinstance(event, Transcribed | TranscriptionFailed):
            return self._on_result(event)
        self._hearing = False  # Restart
        return self._drop_speculation() + self._drop_awaited()

    def _on_pause(self, event: Paused) -> list[TurnAction]:
        if not self._hearing:
            return []
        actions = self._drop_speculation()  # an earlier pause's: what was said since is missing
        if not event.engine_free:
            return actions  # the end is transcribed when it comes
        job = self._next_job()
        self._speculation = _Speculation(job)
        return [*actions, Transcribe(job, event.pcm16, True, self._spoke_during or event.speaking)]

    def _on_end(self, event: SpeechEnded) -> list[TurnAction]:
        self._hearing = False
        self._spoke_during = self._spoke_during or event.speaking
        actions = self._drop_awaited()  # only the latest question is answered
        speculation, self._speculation = self._speculation, None
        if speculation is None or event.cut:
            if speculation is not None:
                actions.append(Cancel(speculation.job))
            job = self._next_job()
            self._awaited = _Awaited(job, event.at, self._spoke_during, speculative=False)
            return [*actions, Transcribe(job, event.pcm16, False, self._spoke_during)]
        # Nothing was said since the last pause (else it would have paused again): its
        # transcript is the utterance's.
        self._awaited = _Awaited(speculation.job, event.at, self._spoke_during, speculative=True)
        if speculation.result is not None:
            return actions + self._finish(speculation.result, event.at)
        return actions

    def _on_result(self, result: Transcribed | TranscriptionFailed) -> list[TurnAction]:
        if self._awaited is not None and result.job == self._awaited.job:
            return self._finish(result, result.at)
        speculation = self._speculation
        if speculation is None or result.job != speculation.job:
            return [Discard(result.job)]
        if isinstance(result, Transcribed) and self._urgent(result):
            # An emergency, or "stop" while speaking, acts at the first pause, not after
            # the whole end silence; the rest of the utterance is dropped.
            self._speculation = None
            self._hearing = False
            self._spoke_during = self._spoke_during or result.speaking
            actions = self._drop_awaited()
            self._awaited = _Awaited(result.job, result.at, self._spoke_during, speculative=True)
            return [*actions, CutShort(result.at), *self._finish(result, result.at)]
        self._speculation = replace(speculation, result=result)  # used if this pause is the end
        if isinstance(result, Transcribed) and result.text:
            return [Partial(result.text)]
        return []

    def _urgent(self, result: Transcribed) -> bool:
        if result.match is not None and result.match.decision is Decision.EMERGENCY:
            return True
        return result.speaking and parse_command(result.text, self.language) is not None

    def _finish(self, result: Transcribed | TranscriptionFailed, at: float) -> list[TurnAction]:
        awaited = self._awaited
        assert awaited is not None and awaited.job == result.job
        self._awaited = None
        if isinstance(result, TranscriptionFailed):
            return [Failed(result.job, result.error)]
        if not result.text:
            return [NoWords(result.job)]
        heard = Heard(result.text, at, awaited.while_speaking, result.match)
        return [Hear(heard, awaited.ended_at, awaited.speculative, result.transcript)]

    def _drop_speculation(self) -> list[TurnAction]:
        speculation, self._speculation = self._speculation, None
        if speculation is None or speculation.result is not None:
            return []
        return [Cancel(speculation.job)]

    def _drop_awaited(self) -> list[TurnAction]:
        awaited, self._awaited = self._awaited, None
        return [] if awaited is None else [Cancel(awaited.job)]

    def _next_job(self) -> int:
        self._jobs += 1
        return self._jobs
