"""What goes into the conversation and what comes out of it.

`Dialogue.handle(event) -> list[Action]` (voice/dialogue.py) is pure: the shells
(`voicefaq listen`, the kiosk service's WebSocket) turn microphone audio, keys and
buttons into events, and carry out the actions with a speaker, a screen or a socket.
Every event carries `at`, a monotonic time in seconds, so that idle resets are
decided without reading a clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from voice.core.matcher import Match


class Mode(StrEnum):
    """How a person starts a question."""

    WAKE_PHRASE = "wake"
    """Questions start with the wake phrase ("hey helper, ..."), or follow it."""
    ALWAYS = "always"
    """Everything heard is a question or a command (home use)."""
    PUSH_TO_TALK = "push"
    """Any key (a kiosk button, an accessibility switch) starts one question."""


class DialogueState(StrEnum):
    """Where the conversation stands (whether the assistant is speaking is separate)."""

    STARTING = "starting"
    """No Started event yet."""
    READY = "ready"
    """Always mode: anything heard is a question or a command."""
    AWAITING_WAKE = "awaiting_wake"
    AWAITING_KEY = "awaiting_key"
    LISTENING = "listening"
    """The next utterance counts (after the wake phrase, a key, or the assistant's turn)."""
    CONFIRMING = "confirming"
    """Asked "Do you mean ...?"."""
    CHOOSING = "choosing"
    """Asked "Which one: the first, or the second?"."""
    OFFERING = "offering"
    """Offered follow-up questions after an answer."""
    BROWSING = "browsing"
    """Read a group of topics after "help"."""


class CommandName(StrEnum):
    """What the always-available spoken commands (and the page's buttons) ask for."""

    REPEAT = "repeat"
    SLOWER = "slower"
    FASTER = "faster"
    LOUDER = "louder"
    SOFTER = "softer"
    VOICE = "voice"
    """Another voice (cycles through the language's voices, voice.lang.Language.voices)."""
    STOP = "stop"
    MORE = "more"
    HELP = "help"
    BACK = "back"
    GOODBYE = "goodbye"
    YES = "yes"
    NO = "no"
    FIRST = "first"
    SECOND = "second"


class SpeechKind(StrEnum):
    """Why the assistant is speaking; shells may style captions by it."""

    ANSWER = "answer"
    DETAILS = "details"
    CONFIRM = "confirm"
    FALLBACK = "fallback"
    EMERGENCY = "emergency"
    FOLLOW_UP = "follow_up"
    HELP = "help"
    NOTICE = "notice"
    """Short acknowledgements and prompts: "Speaking slower.", "Sorry, please ask again."."""
    GOODBYE = "goodbye"


class Role(StrEnum):
    """Who a caption belongs to."""

    PERSON = "person"
    ASSISTANT = "assistant"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    """How the assistant speaks; changed by "slower", "faster", "louder", "softer"."""

    rate: int = 150
    """Words per minute (espeak-ng's own default is 175; slower suits this audience)."""
    volume: float = 0.8
    """0..1 of full scale; starts below 1 so that "louder" can be heard to work."""
    voice: str | None = None
    """Engine voice id; None is the default voice (the language's first, voice.lang)."""

    MIN_RATE = 80
    MAX_RATE = 260
    RATE_STEP = 25
    MIN_VOLUME = 0.2
    VOLUME_STEP = 0.2

    def __post_init__(self) -> None:
        if not self.MIN_RATE <= self.rate <= self.MAX_RATE:
            raise ValueError(
                f"rate must be {self.MIN_RATE} to {self.MAX_RATE} words a minute, not {self.rate}"
            )
        if not self.MIN_VOLUME <= self.volume <= 1.0:
            raise ValueError(f"volume must be {self.MIN_VOLUME} to 1.0, not {self.volume}")

    def slower(self) -> VoiceSettings:
        return replace(self, rate=max(self.MIN_RATE, self.rate - self.RATE_STEP))

    def faster(self) -> VoiceSettings:
        return replace(self, rate=min(self.MAX_RATE, self.rate + self.RATE_STEP))

    def louder(self) -> VoiceSettings:
        return replace(self, volume=round(min(1.0, self.volume + self.VOLUME_STEP), 2))

    def softer(self) -> VoiceSettings:
        return replace(self, volume=round(max(self.MIN_VOLUME, self.volume - self.VOLUME_STEP), 2))

    def other_voice(self, voices: Sequence[str]) -> VoiceSettings:
        """The next of `voices`, the language's (a voice chosen outside them goes back to
        the first; None, the default voice, counts as the first)."""
        current = voices.index(self.voice) if self.voice in voices else -1
        if self.voice is None:
            current = 0
        return replace(self, voice=voices[(current + 1) % len(voices)])


# Events: into the dialogue.


@dataclass(frozen=True, slots=True)
class Started:
    """A session begins (the shell is ready to listen)."""

    at: float


@dataclass(frozen=True, slots=True)
class Heard:
    """A final transcript of one utterance."""

    text: str
    at: float
    while_speaking: bool = False
    """Heard while the assistant was speaking (barge-in): only commands and emergencies
    count, and words that echo what the assistant is saying are ignored."""
    match: Match | None = None
    """The matcher's decision, when the shell already made it (for instance while the
    speaker was still pausing); the dialogue matches `text` itself when None."""


@dataclass(frozen=True, slots=True)
class Pressed:
    """A command chosen without speech: a page button or a key bound to it."""

    command: CommandName
    at: float


@dataclass(frozen=True, slots=True)
class Chose:
    """A topic or a "did you mean" choice picked by a button."""

    entry_id: str
    at: float


@dataclass(frozen=True, slots=True)
class KeyDown:
    """Push-to-talk: any key or switch was pressed."""

    at: float


@dataclass(frozen=True, slots=True)
class SpeechDone:
    """The shell finished (or stopped) playing the Speak action with this id."""

    speak_id: int
    at: float
    interrupted: bool = False


@dataclass(frozen=True, slots=True)
class PausedMidQuestion:
    """The person began speaking and has paused for a while without finishing."""

    at: float


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passes; lets the dialogue reset an idle session."""

    at: float


Event = Started | Heard | Pressed | Chose | KeyDown | SpeechDone | PausedMidQuestion | Tick


# Actions: out of the dialogue, carried out by the shell in order.


@dataclass(frozen=True, slots=True)
class Speak:
    """Say this text aloud (sentence by sentence) with these settings, and caption it."""

    id: int
    """Increases through a session; SpeechDone names it."""
    text: str
    kind: SpeechKind
    settings: VoiceSettings


@dataclass(frozen=True, slots=True)
class StopSpeaking:
    """Cut the current speech short, within the sentence being spoken."""


@dataclass(frozen=True, slots=True)
class Show:
    """A large caption."""

    role: Role
    text: str


@dataclass(frozen=True, slots=True)
class Offer:
    """Choices the person can pick by voice or by a button: "did you mean", topics, follow-ups."""

    kind: SpeechKind
    choices: tuple[tuple[str, str], ...]
    """(entry id, question) pairs, in the order they were spoken."""


@dataclass(frozen=True, slots=True)
class Listen:
    """Open the microphone for a question (push-to-talk and after the wake phrase)."""


@dataclass(frozen=True, slots=True)
class Cue:
    """A short non-speech sound."""

    name: str
    """"listening" (ready for a question) or "still_listening" (a long pause was heard)."""


@dataclass(frozen=True, slots=True)
class Review:
    """A question that ended in fallback or confirm, for the staff review log."""

    match: Match


@dataclass(frozen=True, slots=True)
class SettingsChanged:
    settings: VoiceSettings


@dataclass(frozen=True, slots=True)
class SessionReset:
    """Settings and history forgotten (goodbye, or idle for too long)."""


class Took(StrEnum):
    """How the dialogue took one utterance (Understood.took)."""

    QUESTION = "question"
    """A question for the matcher: answered, confirmed ("Do you mean ...?") or a fallback."""
    CHOSEN = "chosen"
    """Words naming one of the entries just offered: that entry is answered."""
    EMERGENCY = "emergency"
    """An emergency: its message is said at once, cutting off anything else."""
    COMMAND = "command"
    """A spoken command: "repeat", "slower", "stop", "help", ... (Understood.command)."""
    REPLY = "reply"
    """A reply to what was asked or offered: "yes", "no", "the first" (Understood.command),
    or "more topics"."""
    THANKS = "thanks"
    """ "Thank you" and the like: acknowledged."""
    WAKE = "wake"
    """A bare wake phrase: the assistant listens for the question."""
    ECHO = "echo"
    """The assistant's own words picked up by the microphone (or the emergency message it
    is saying already): ignored."""
    OVER_SPEECH = "over_speech"
    """Words over the assistant's speech that are no command: not acted on (they may be its
    own voice, misheard)."""
    NOT_ADDRESSED = "not_addressed"
    """Not meant for the assistant: no wake phrase, no key pressed."""
    FILLER = "filler"
    """Nothing to act on: "um", "okay", no words at all."""


@dataclass(frozen=True, slots=True)
class Understood:
    """How the dialogue took a Heard utterance: the first action for every Heard, so that a
    shell reports what was decided without parsing the words again."""

    took: Took
    text: str
    """The words heard, spaces normalised (wake phrase included)."""
    match: Match | None = None
    """The matcher's decision the dialogue acted on: for QUESTION, and for EMERGENCY and
    CHOSEN when the shell's own match of the whole text was given with Heard."""
    command: CommandName | None = None
    """For COMMAND, and for REPLY but "more topics"."""

    @property
    def asked(self) -> bool:
        """The words were taken as a question (the matcher's decision is what happened),
        not as a command, a reply, or nothing."""
        return self.took in (Took.QUESTION, Took.CHOSEN, Took.EMERGENCY)


Action = (
    Speak | StopSpeaking | Show | Offer | Listen | Cue | Review | SettingsChanged | SessionReset | Understood
)
