"""Languages as data: the words voicefaq needs to hear, understand and speak one language.

A `Language` holds every word list and phrase the code would otherwise hard-code:
what normalisation expands and drops, the spoken commands, the wake phrase, the
assistant's own prompts, the recogniser's and the synthesiser's language. An answers
set names its language in set.yaml (`language: en`); the matcher, the dialogue and the
speech adapters take their words from it. Each language lives in its own module
(voice/lang/en.py), data only, and is registered here.

Pure: imports nothing but the standard library and voice.errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from voice.errors import VoiceError


class UnknownLanguageError(VoiceError, LookupError):
    """A language code voicefaq has no language data for."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(
            f"language {code!r} has no language data in voicefaq (shipped: {', '.join(available())})"
        )

    def __reduce__(self) -> tuple[type[UnknownLanguageError], tuple[str]]:
        return type(self), (self.code,)  # pickled by its code (the speech engine's child process)


@dataclass(frozen=True, slots=True)
class Adjustment:
    """What the assistant says when "slower", "louder", "change voice" and the like act."""

    status: str
    """Caption shown when the voice changes ("Speaking slower")."""
    acknowledge: str
    """Said in the new voice when there is nothing to say again ("I'll speak slower.")."""
    limit: str
    """Said when the voice cannot change further that way ("This is the slowest I can speak.")."""


@dataclass(frozen=True, slots=True)
class Prompts:
    """Everything the assistant says in its own words (voice.conversation.prompts puts them
    together). Answers, details and emergency texts are never here: they come from the
    answers set. Placeholders in braces are filled in by the code."""

    listening: str
    """Status caption while listening."""
    stopped: str
    """Status caption after "stop"."""
    settings_reset: str
    """Status caption after an idle reset."""
    wait_or_stop: str
    """Status caption for a question asked over the assistant's speech."""
    say_help: str
    """Added to a set's fallback text that does not say how to hear the topics."""
    nothing_yet: str
    """"repeat" before anything was said."""
    what_question: str
    """"yes" with nothing offered."""
    nothing_more: str
    """"more" after an answer without details."""
    ask_first: str
    """"more" before any answer."""
    no_earlier: str
    """"go back" with no earlier answer."""
    ask_again: str
    """"no" to a confirmation."""
    still_not_sure: str
    """Said before the topics after confirmations failed in a row."""
    which_of_two: str
    """"yes" to a confirmation offering two entries."""
    which_of_many: str
    """"yes" to an offer of more than two entries."""
    nothing_to_pick: str
    """"the first"/"the second" with nothing offered."""
    all_right: str
    """"no" to anything but a confirmation."""
    welcome: str
    """The reply to "thank you"."""
    goodbye: str
    """The reply to "goodbye"."""
    adjustments: Mapping[str, Adjustment]
    """By command name (voice.conversation.events.CommandName): "slower", "faster",
    "louder", "softer", "voice"."""
    greeting: str
    """Said when a session starts: {topic} (the set's title) and {how} (from `how_to_ask`)."""
    greeting_hints: str
    """{hints} in `how_to_ask`: how to hear the topics and to stop the assistant."""
    how_to_ask: Mapping[str, tuple[str, str]]
    """By activation mode (voice.conversation.events.Mode: "always", "wake", "push"): what
    the greeting says and the status caption that stays on screen; {hints} and
    {wake_phrase} are filled in."""
    topics: str
    """One group of topics: {questions} (read as `alternative` joins them)."""
    topics_last: str
    """After the last group of topics."""
    topics_more: str
    """After any other group of topics."""
    more_details: str
    """After an answer that has details."""
    also_ask: str
    """After an answer with related entries: {questions}."""
    help_word: str
    """The word that, in a set's fallback text, already says how to hear the topics."""
    confirm_one: str
    """A yes/no confirmation of one entry, named by its short topic: {topic}."""
    confirm_choices: str
    """A confirmation of two or more entries by their topics: {topics} (all but the last,
    joined by commas) and {last}."""
    alternative: str
    """Put before the last of several questions read out: "A? B? Or: C?"."""

    def __post_init__(self) -> None:
        for name in ("adjustments", "how_to_ask"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What a person says, and hears, when enrolling their voice (voicefaq enrol)."""

    commands: Mapping[str, str]
    """The phrase to say for each command, by command name (a phrase of `Language.commands`),
    in the order they are asked for."""
    again: str
    """Said instead of the prompt: record it again."""
    skip: str
    """Said instead of the prompt: leave it out."""
    stop: str
    """Said instead of the prompt: end now and keep what was recorded."""
    start: str
    """Read before the first prompt: {count} prompts; {again}, {skip} and {stop} filled in."""
    say_this: str
    """Read before each prompt: {text}."""
    done: str
    """Read at the end: {recorded} prompts were recorded and the profile {name} kept."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "commands", MappingProxyType(dict(self.commands)))


@dataclass(frozen=True, slots=True, eq=False)
class Language:
    """One language's data. Compared by identity: there is one object per language."""

    code: str
    """What set.yaml's `language:` names ("en")."""
    name: str
    """The language's name in English, for messages ("English")."""
    stemmer: str
    """The Snowball algorithm PyStemmer stems with ("english")."""
    recognizer_language: str
    """The language code speech recognisers take (whisper's `language`, "en")."""
    recognizer_silence: frozenset[str]
    """What whisper writes over silence (it learnt from subtitles): "thank you", "bye"."""
    voices: tuple[str, ...]
    """espeak-ng voices, preferred first: the first speaks by default, and "change voice"
    cycles through all of them."""

    contractions: Mapping[str, str]
    """Whole words and what they expand to, including the apostrophe-less forms speech
    recognisers write ("cant" -> "can not")."""
    contraction_endings: tuple[tuple[str, str], ...]
    """Word endings and what they expand to ("n't" -> " not"), tried in order."""
    is_before_s: frozenset[str]
    """Words after which "'s" means "is" ("it's"); elsewhere it is a possessive, dropped."""
    number_words: Mapping[str, int]
    """Spoken numbers, written as digits ("twenty" -> 20)."""
    digit_only_words: frozenset[str]
    """Number words that count only after another digit ("nine oh one"; "oh no" stays)."""
    fillers: tuple[str, ...]
    """Spoken noise that says nothing about the question ("um", "can you tell me")."""
    function_words: frozenset[str]
    """Words that carry no topic, so the matcher gives them no weight."""
    question_words: frozenset[str]
    """Words that say what kind of answer is wanted ("where", "how much"): weighed like
    topic words, but never evidence for an entry on their own."""
    picking_words: frozenset[str]
    """Words people add when picking an offered question by its words ("I meant the one
    about pain"; "one" arrives as "1")."""

    commands: Mapping[str, tuple[str, ...]]
    """Each spoken command's phrases, by command name (voice.conversation.events.CommandName),
    written as lower-case words without apostrophes."""
    replies: Mapping[str, tuple[str, ...]]
    """Each reply's phrases ("more topics", "thank you"), by name
    (voice.conversation.commands.Reply), written like `commands`."""
    command_openers: tuple[str, ...]
    """Politeness and hesitation before a command ("could you please", "um")."""
    command_closers: tuple[str, ...]
    """Politeness after a command ("please", "for me")."""
    ordinal_openers: tuple[str, ...]
    """Words before "the first"/"the second" that still pick ("yes", "i mean")."""
    wake_phrase: str
    """Said before each question in wake-phrase mode."""
    wake_greetings: frozenset[str]
    """How recognisers write the wake phrase's greeting word ("hey": "hi", "hay", "a")."""
    prompts: Prompts
    """What the assistant says in its own words."""
    enrolment: Enrolment
    """The prompts for the commands, and what is said, when a person enrols their voice."""

    def __post_init__(self) -> None:
        if not self.code or self.code != self.code.strip().lower():
            raise ValueError(f"a language code is lower-case letters, like 'en', not {self.code!r}")
        if not self.wake_phrase.split():
            raise ValueError(f"language {self.code!r} needs a wake phrase")
        if not self.voices:
            raise ValueError(f"language {self.code!r} needs at least one voice")
        for name in ("contractions", "number_words", "commands", "replies"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))


_REGISTRY: dict[str, Language] = {}

LANGUAGES: Mapping[str, Language] = MappingProxyType(_REGISTRY)
"""Every language with data, by code (read-only; `register` adds one)."""


def available() -> tuple[str, ...]:
    """The codes of the languages with data, sorted."""
    return tuple(sorted(_REGISTRY))


def language(code: str) -> Language:
    """The language `code` names; UnknownLanguageError when voicefaq has no data for it."""
    found = _REGISTRY.get(code.strip().lower())
    if found is None:
        raise UnknownLanguageError(code)
    return found


def register(data: Language) -> Language:
    """Make `data` available by its code (a language module does this once)."""
    if data.code in _REGISTRY and _REGISTRY[data.code] is not data:
        raise ValueError(f"language {data.code!r} is already registered")
    _REGISTRY[data.code] = data
    return data


def unregister(code: str) -> None:
    """Forget a registered language (for tests that register their own)."""
    _REGISTRY.pop(code, None)


from voice.lang.en import ENGLISH  # noqa: E402 - en.py builds a Language, defined above

register(ENGLISH)

DEFAULT_CODE = ENGLISH.code
"""The language of a set whose set.yaml names none."""
DEFAULT_LANGUAGE = ENGLISH
"""The language used where none is passed in (a set without `language:` is in it too)."""
