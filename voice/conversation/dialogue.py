"""The conversation as a pure state machine: `Dialogue.handle(event) -> list[Action]`.

No audio, no clock, no I/O: the shells turn microphones, keys and buttons into
events (voice/conversation/events.py) and carry out the actions. Rules, in order of precedence:

1. An emergency in anything heard is answered at once, in any state, whatever the
   mode; nothing overrides it.
2. While the assistant speaks, only commands act; echoes of its own words are ignored.
3. Commands ("repeat", "slower", "stop", "more", "help", "go back", "goodbye") and
   replies ("yes", "no", "the first") work at any point of the conversation.
4. Anything else is a question for the matcher, unless it picks one of the entries
   just offered by repeating some of their words.

Every answer, detail and emergency text is spoken exactly as the answers set
writes it; the dialogue only adds its own short prompts around them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from voice.conversation import prompts
from voice.conversation.activation import Gate
from voice.conversation.behaviour import DialogueConfig, DialogueConfigError
from voice.conversation.commands import Reply, is_echo, parse_command, parse_reply, words
from voice.conversation.events import (
    Action,
    Chose,
    CommandName,
    Cue,
    DialogueState,
    Event,
    Heard,
    KeyDown,
    Mode,
    Offer,
    PausedMidQuestion,
    Pressed,
    Review,
    Role,
    SessionReset,
    SettingsChanged,
    Show,
    Speak,
    SpeechDone,
    SpeechKind,
    Started,
    StopSpeaking,
    Took,
    Understood,
    VoiceSettings,
)
from voice.core.faq import Emergency, Entry, FaqSet
from voice.core.matcher import Decision, Match, Matcher
from voice.core.topics import pick_offered, topic_groups

__all__ = ["Dialogue", "DialogueConfig", "DialogueConfigError", "DialogueState"]

_C = CommandName
_K = SpeechKind

_REPLIES = frozenset({_C.YES, _C.NO, _C.FIRST, _C.SECOND})


@dataclass(frozen=True, slots=True)
class _Offer:
    kind: SpeechKind
    entries: tuple[Entry, ...]
    choosing: bool = False
    """Asked "Which one?" after a plain "yes"."""


@dataclass(frozen=True, slots=True)
class _Said:
    speak: Speak
    entry: Entry | None = None
    offer: _Offer | None = None
    asks: bool = False
    """It asks the person something: push-to-talk opens the microphone when it ends."""


class Dialogue:
    """One conversation with one person (or one kiosk); feed it events in order."""

    def __init__(self, faq_set: FaqSet, matcher: Matcher, config: DialogueConfig | None = None) -> None:
        self.config = config or DialogueConfig()
        self.language = faq_set.language_data
        """The set's language: the commands understood and the prompts spoken."""
        self.wake_phrase = self.config.wake_phrase or self.language.wake_phrase
        self._prompts = self.language.prompts
        self._set = faq_set
        self._matcher = matcher
        self._entries = {entry.id: entry for entry in faq_set.entries}
        self._groups = topic_groups(faq_set, self.config.topics_per_group)
        self._settings = self.config.settings
        self._started = False
        self._now = 0.0
        self._next_id = 0
        self._current: _Said | None = None
        self._gate = Gate(self.config.mode, self.wake_phrase, self.config.wake_window_s, self.language)
        self._clear()

    def _clear(self) -> None:
        """Forget the session (not the speech in flight)."""
        self._last: _Said | None = None
        self._answered: Entry | None = None
        self._history: list[str] = []
        self._offer: _Offer | None = None
        self._misses = 0
        self._next_group = 0
        self._gate.clear()
        self._cued = False
        self._dirty = False
        self._last_person_at = self._now

    @property
    def settings(self) -> VoiceSettings:
        return self._settings

    @property
    def last_spoken(self) -> Speak | None:
        """What "repeat" says again."""
        return self._last.speak if self._last else None

    @property
    def speaking(self) -> bool:
        """A Speak was sent and its SpeechDone has not come back."""
        return self._current is not None

    @property
    def state(self) -> DialogueState:
        if not self._started:
            return DialogueState.STARTING
        if self._offer is not None:
            if self._offer.kind is _K.CONFIRM:
                return DialogueState.CHOOSING if self._offer.choosing else DialogueState.CONFIRMING
            return DialogueState.BROWSING if self._offer.kind is _K.HELP else DialogueState.OFFERING
        if self.config.mode is Mode.ALWAYS:
            return DialogueState.READY
        waiting = (
            DialogueState.AWAITING_WAKE
            if self.config.mode is Mode.WAKE_PHRASE
            else DialogueState.AWAITING_KEY
        )
        return DialogueState.LISTENING if self._gate.listening(self._now) else waiting

    def handle(self, event: Event) -> list[Action]:
        """The actions for one event, in the order the shell should carry them out."""
        actions = [] if isinstance(event, Started) else self._expire(event.at)
        self._now = event.at
        if isinstance(event, Started):
            return self._on_started()
        if isinstance(event, Heard):
            return actions + self._on_heard(event)
        if isinstance(event, SpeechDone):
            return actions + self._on_speech_done(event)
        if isinstance(event, Pressed):
            self._touch()
            return actions + self._command(event.command)
        if isinstance(event, Chose):
            entry = self._entries.get(event.entry_id)
            if entry is None:  # a page showing another set's topics; nothing to say
                return actions
            self._touch()
            return [*actions, Show(Role.PERSON, entry.question), *self._answer(entry)]
        if isinstance(event, KeyDown):
            return actions + self._on_key()
        if isinstance(event, PausedMidQuestion):
            return actions + self._on_pause()
        return actions  # Tick: only the idle reset above

    # Events.

    def _on_started(self) -> list[Action]:
        self._clear()
        self._started = True
        self._settings = self.config.settings
        greeting, caption = prompts.greeting(
            self.language, self._set.title, self.config.mode, self.wake_phrase
        )
        return [
            Show(Role.STATUS, self._set.disclaimer),
            *self._say(greeting, _K.NOTICE),
            Show(Role.STATUS, caption),
        ]

    def _on_heard(self, event: Heard) -> list[Action]:
        self._cued = False
        text = " ".join(event.text.split())
        took, actions = self._take(event, text)
        return [took, *actions]

    def _take(self, event: Heard, text: str) -> tuple[Understood, list[Action]]:
        """How the utterance is taken, and what comes of it."""
        if not text:
            return Understood(Took.FILLER, text), []
        shell = event.match
        if shell is not None and (shell.emergency is not None or words(shell.input) == words(text)):
            # Decided on the audio, which knows the recogniser's other readings and how sure
            # it was of these words (voice.spoken.heard_emergency): an emergency in another
            # reading is one, and one it only guessed at is none.
            emergency = shell.emergency
        else:
            emergency = self._matcher.emergency(text)
        if emergency is not None:
            return self._on_emergency(event, text, emergency)
        current = self._current
        if event.while_speaking and current is not None and is_echo(text, current.speak.text):
            return Understood(Took.ECHO, text), []
        if not self._matcher.normalizer.words(text) and not (
            parse_command(text, self.language) or parse_reply(text, self.language)
        ):
            # Only "um" or "okay": nothing to act on, and a key press is not used up.
            return Understood(Took.FILLER, text), []
        admitted = self._admit(event, text)
        if admitted is None:
            return Understood(Took.NOT_ADDRESSED, text), []
        question, woke = admitted
        command = parse_command(question, self.language)
        reply = None if command else parse_reply(question, self.language)
        if command is None and reply is None and not self._matcher.normalizer.words(question):
            # A bare wake phrase.
            return (
                (Understood(Took.WAKE, text), self._on_wake())
                if woke
                else (Understood(Took.FILLER, text), [])
            )
        if event.while_speaking and command is None and reply is not Reply.MORE_TOPICS:
            # Not acted on: it may be the assistant's own voice, misheard. Say why, quietly.
            return Understood(Took.OVER_SPEECH, text), [Show(Role.STATUS, self._prompts.wait_or_stop)]
        self._touch()
        actions: list[Action] = [Show(Role.PERSON, text)]
        if command is not None:
            took = Took.REPLY if command in _REPLIES else Took.COMMAND
            return Understood(took, text, command=command), actions + self._command(command)
        if reply is Reply.MORE_TOPICS:
            return Understood(Took.REPLY, text), actions + self._topics(self._next_group)
        if reply is Reply.THANKS:
            welcome = self._say(self._prompts.welcome, _K.NOTICE, repeatable=False)
            return Understood(Took.THANKS, text), actions + welcome
        understood, answer = self._question(text, question, event.match if question == text else None)
        return understood, actions + answer

    def _admit(self, event: Heard, text: str) -> tuple[str, bool] | None:
        admitted = self._gate.admit(text, event.at, event.while_speaking)
        # A reply to "Do you mean ...?" needs no wake phrase or key, however slow.
        if admitted is None and self._offer is not None and self._offer.kind is _K.CONFIRM:
            return (text, False) if parse_command(text, self.language) in _REPLIES else None
        return admitted

    def _on_emergency(self, event: Heard, text: str, emergency: Emergency) -> tuple[Understood, list[Action]]:
        saying = self._current.speak.text if self._current else None
        if event.while_speaking and saying is not None:
            if saying == emergency.say:
                return Understood(Took.ECHO, text), []  # already saying it
            # The microphone hearing our own words: an answer may contain trigger words.
            echoed = self._matcher.emergency(saying)
            if echoed is not None and echoed.id == emergency.id and is_echo(text, saying, strict=True):
                return Understood(Took.ECHO, text), []
        self._touch()
        self._gate.spend()
        self._offer = None
        self._misses = 0
        self._current = None  # cut just below, at once
        took = Understood(Took.EMERGENCY, text, event.match)
        return took, [StopSpeaking(), Show(Role.PERSON, text), *self._say(emergency.say, _K.EMERGENCY)]

    def _on_wake(self) -> list[Action]:
        self._touch()
        return self._hush() + self._gate.open(self._now)

    def _on_key(self) -> list[Action]:
        self._touch()
        if self.config.mode is Mode.ALWAYS:
            return self._hush()  # a key just stops the speech
        return self._hush() + self._gate.open(self._now)

    def _on_pause(self) -> list[Action]:
        self._last_person_at = self._now
        if self._cued or not self._gate.paused(self._now):
            return []
        self._cued = True
        return [Cue("still_listening")]

    def _on_speech_done(self, event: SpeechDone) -> list[Action]:
        said = self._current
        if said is None or event.speak_id != said.speak.id:
            return []  # an earlier speech, already replaced
        self._current = None
        if said.speak.kind is _K.GOODBYE:
            return []
        self._gate.turn_ended(self._now)
        if event.interrupted:
            return []
        if said.speak.kind is _K.ANSWER and said.entry is not None:
            follow_up = self._follow_up(said.entry)
            if follow_up:
                return follow_up
        if said.asks and self.config.mode is Mode.PUSH_TO_TALK:
            return self._gate.open(self._now)  # listen for the reply
        return []

    def _expire(self, at: float) -> list[Action]:
        if not self._dirty or at - self._last_person_at < self.config.idle_reset_s:
            return []
        return [*self._reset(), Show(Role.STATUS, self._prompts.settings_reset)]

    # What to say.

    def _command(self, command: CommandName) -> list[Action]:
        if command in prompts.ADJUSTMENTS:
            return self._adjust(command)
        if command is _C.REPEAT:
            if self._last is None:
                return self._say(self._prompts.nothing_yet, _K.NOTICE, repeatable=False)
            return self._respeak(self._last)
        if command is _C.STOP:
            self._current = None  # so that a late SpeechDone brings no follow-up
            self._gate.turn_ended(self._now)
            return [StopSpeaking(), Show(Role.STATUS, self._prompts.stopped)]
        if command is _C.MORE:
            if self._offer is not None and self._offer.kind is _K.HELP:
                return self._topics(self._next_group)
            entry = self._answered
            if entry is None:
                return self._say(self._prompts.ask_first, _K.NOTICE, repeatable=False)
            if entry.details is None:
                return self._say(self._prompts.nothing_more, _K.NOTICE, repeatable=False)
            return self._say(entry.details, _K.DETAILS, entry=entry)
        if command is _C.HELP:
            return self._topics(0)
        if command is _C.BACK:
            if len(self._history) < 2:
                return self._say(self._prompts.no_earlier, _K.NOTICE, repeatable=False)
            self._history.pop()
            return self._answer(self._entries[self._history[-1]], remember=False)
        if command is _C.GOODBYE:
            return self._say(self._prompts.goodbye, _K.GOODBYE, repeatable=False) + self._reset()
        return self._reply(command)

    def _adjust(self, command: CommandName) -> list[Action]:
        adjustment = self._prompts.adjustments[command.value]
        settings = prompts.ADJUSTMENTS[command](self._settings, self.language)
        if settings == self._settings:
            return self._say(adjustment.limit, _K.NOTICE, repeatable=False)
        self._settings = settings
        actions: list[Action] = [SettingsChanged(settings), Show(Role.STATUS, adjustment.status)]
        # Say the last thing again in the new voice: whoever missed it hears it better.
        if self._last is None:
            return actions + self._say(adjustment.acknowledge, _K.NOTICE, repeatable=False)
        return actions + self._respeak(self._last)

    def _reply(self, command: CommandName) -> list[Action]:
        offer = self._offer
        if command is _C.YES:
            if offer is None:
                return self._say(self._prompts.what_question, _K.NOTICE, repeatable=False, asks=True)
            if len(offer.entries) == 1:
                return self._answer(offer.entries[0])
            which = self._prompts.which_of_two if len(offer.entries) == 2 else self._prompts.which_of_many
            return self._say(which, _K.NOTICE, offer=replace(offer, choosing=True), asks=True)
        if command is _C.NO:
            self._offer = None
            if offer is None or offer.kind is not _K.CONFIRM:
                return self._say(self._prompts.all_right, _K.NOTICE, repeatable=False)
            self._misses += 1
            if self._misses >= self.config.confirm_tries:
                return self._topics(0, prefix=self._prompts.still_not_sure)
            return self._say(self._prompts.ask_again, _K.NOTICE, asks=True)
        index = 0 if command is _C.FIRST else 1
        if offer is None or index >= len(offer.entries):
            return self._say(self._prompts.nothing_to_pick, _K.NOTICE, repeatable=False)
        return self._answer(offer.entries[index])

    def _question(self, heard: str, text: str, match: Match | None) -> tuple[Understood, list[Action]]:
        """`text` (`heard` without any wake phrase) as a question; `match` is the shell's for it."""
        offer = self._offer
        if offer is not None:
            picked = pick_offered(self._matcher.normalizer, text, offer.entries)
            if picked is not None:
                return Understood(Took.CHOSEN, heard, match), self._answer(picked)
        match = match or self._matcher.match(text)
        kind = Took.EMERGENCY if match.decision is Decision.EMERGENCY else Took.QUESTION
        took = Understood(kind, heard, match)
        if match.decision is Decision.ANSWER and match.entry is not None:
            return took, self._answer(match.entry)
        if offer is not None and offer.kind is _K.CONFIRM:
            self._misses += 1  # the confirmation went unanswered
        self._offer = None
        if match.decision is Decision.CONFIRM:
            if self._misses >= self.config.confirm_tries:
                return took, [*self._topics(0, prefix=self._prompts.still_not_sure), Review(match)]
            offered = _Offer(_K.CONFIRM, tuple(self._entries[c.entry_id] for c in match.offered))
            return took, [*self._say(match.say, _K.CONFIRM, offer=offered, asks=True), Review(match)]
        if match.decision is Decision.EMERGENCY:  # a shell's own match; the text had no trigger
            return took, [StopSpeaking(), *self._say(match.say, _K.EMERGENCY)]
        say = prompts.fallback(self.language, match.say, words(match.say))
        return took, [*self._say(say, _K.FALLBACK, asks=True), Review(match)]

    def _answer(self, entry: Entry, remember: bool = True) -> list[Action]:
        self._offer = None
        self._misses = 0
        self._answered = entry
        if remember and (not self._history or self._history[-1] != entry.id):
            self._history.append(entry.id)
        return self._say(entry.answer, _K.ANSWER, entry=entry)

    def _follow_up(self, entry: Entry) -> list[Action]:
        related = [self._entries[i] for i in entry.related if i in self._entries][: self.config.follow_ups]
        text = prompts.follow_up(self.language, [e.question for e in related], entry.details is not None)
        if not text:
            return []
        offer = _Offer(_K.FOLLOW_UP, tuple(related)) if related else None
        return self._say(text, _K.FOLLOW_UP, offer=offer, asks=True, repeatable=False)

    def _topics(self, group: int, prefix: str = "") -> list[Action]:
        if not self._groups:
            return self._say(self._set.fallback, _K.FALLBACK)
        group %= len(self._groups)
        self._next_group = (group + 1) % len(self._groups)
        self._misses = 0
        entries = self._groups[group]
        text = prompts.topics(
            self.language, [e.question for e in entries], group + 1 == len(self._groups), prefix
        )
        return self._say(text, _K.HELP, offer=_Offer(_K.HELP, entries), asks=True)

    # Speaking and forgetting.

    def _say(
        self,
        text: str,
        kind: SpeechKind,
        *,
        entry: Entry | None = None,
        offer: _Offer | None = None,
        asks: bool = False,
        repeatable: bool = True,
    ) -> list[Action]:
        """Speak `text` (cutting off whatever is being said); `offer` replaces the pending one.
        Acknowledgements are not `repeatable`: "repeat" says the answer again, not "All right."."""
        actions = self._hush()
        self._next_id += 1
        said = _Said(Speak(self._next_id, text, kind, self._settings), entry, offer, asks)
        self._current = said
        if repeatable:
            self._last = said
        actions.append(said.speak)
        if offer is not None:
            self._offer = offer
            actions.append(Offer(offer.kind, tuple((e.id, e.question) for e in offer.entries)))
        return actions

    def _respeak(self, said: _Said) -> list[Action]:
        speak = said.speak
        return self._say(speak.text, speak.kind, entry=said.entry, offer=said.offer, asks=said.asks)

    def _hush(self) -> list[Action]:
        if self._current is None:
            return []
        self._current = None
        return [StopSpeaking()]

    def _touch(self) -> None:
        """The person did something: the session is in progress and not idle."""
        self._started = True
        self._last_person_at = self._now
        self._dirty = True

    def _reset(self) -> list[Action]:
        actions: list[Action] = [SessionReset()]
        if self._settings != self.config.settings:
            self._settings = self.config.settings
            actions.append(SettingsChanged(self._settings))
        self._clear()
        return actions
