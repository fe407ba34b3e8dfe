"""The one wiring of voicefaq: an answers set, its matcher, a recogniser and a synthesiser.

Every front end builds one Assistant and asks it for what it needs: `voicefaq ask` only
the matcher, `ask --audio` the recogniser too, `listen` and the kiosk service everything.
The engines load on first use (seconds each) and once; `reload()` swaps the answers set
and its matcher together and rebuilds a loaded recogniser with the new set's words, so a
front end reads `assistant.matcher` per question rather than keeping its own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from voice.asr import RecognizerOptions, load_recognizer
from voice.conversation.commands import parse_command, parse_reply
from voice.core.config import default_answers_dir
from voice.core.faq import FaqSet, load_set
from voice.core.matcher import Decision, Matcher
from voice.core.personal import matcher_for
from voice.profiles import PersonalRecognizer, Profile, apply_profile
from voice.vocabulary import speech_prompt, speech_vocabulary

if TYPE_CHECKING:
    from voice.asr import Recognizer
    from voice.speech.tts import Synthesizer


@dataclass(frozen=True, slots=True)
class Answers:
    """An answers set and the matcher built on it, swapped together on reload."""

    faq_set: FaqSet
    matcher: Matcher

    @classmethod
    def load(cls, directory: Path, profile: Profile | None = None) -> Answers:
        """The set in `directory`, read as `profile`'s person speaks when one is given."""
        faq_set = load_set(directory)
        if profile is not None:
            faq_set = apply_profile(faq_set, profile)
        return cls(faq_set, matcher_for(faq_set))


def recognizer_options(faq_set: FaqSet, base: RecognizerOptions) -> RecognizerOptions:
    """`base` with what the engines are told about `faq_set`: its words, its prompt and its
    language."""
    return replace(
        base,
        vocabulary=speech_vocabulary(faq_set),
        prompt=speech_prompt(faq_set),
        language=faq_set.language,
    )


class Assistant:
    """The answers set (loaded now: a broken set fails at once) and the engines (loaded on
    first use). Safe to share between threads."""

    def __init__(
        self,
        answers_dir: Path | None = None,
        *,
        engine: str | None = None,
        recognition: RecognizerOptions | None = None,
        profile: Profile | None = None,
    ) -> None:
        """`answers_dir`: None is $VOICEFAQ_ANSWERS or the bundled set. `engine`: a name
        from voice.asr.ENGINES, None for the default. `recognition`: how to load it (model,
        threads, word timings, own process); the set's words are added here. `profile`: one
        person's voice profile (voice.profiles), which the set is read with."""
        self.answers_dir = Path(answers_dir) if answers_dir is not None else default_answers_dir()
        self.profile = profile
        self._answers = Answers.load(self.answers_dir, profile)
        self.engine = engine
        self.recognition = recognition or RecognizerOptions()
        self._recognizer: Recognizer | None = None
        self._recognizer_lock = threading.Lock()
        self._synthesizer: Synthesizer | None = None
        self._synthesizer_lock = threading.Lock()

    @property
    def faq_set(self) -> FaqSet:
        return self._answers.faq_set

    @property
    def matcher(self) -> Matcher:
        return self._answers.matcher

    @property
    def end_silence_s(self) -> float | None:
        """The silence that ends a question for the profile's person (past their pauses
        between words); None without a profile, for the front end's own default."""
        return self.profile.end_silence_s() if self.profile is not None else None

    @property
    def recognizer_loaded(self) -> Recognizer | None:
        """The recogniser if it has been loaded, without loading it."""
        return self._recognizer

    def recognizer(self) -> Recognizer:
        """The speech engine, biased to the answers set; loaded on first use (seconds)."""
        with self._recognizer_lock:
            if self._recognizer is None:
                self._recognizer = self._load_recognizer(self.faq_set)
            return self._recognizer

    def _load_recognizer(self, faq_set: FaqSet) -> Recognizer:
        recognizer = load_recognizer(self.engine, recognizer_options(faq_set, self.recognition))
        if self.profile is None or self.profile.templates is None:
            return recognizer
        phrases = faq_set.language_data.enrolment.commands
        return PersonalRecognizer(recognizer, self.profile.templates, phrases, self._understood)

    def _understood(self, text: str) -> bool:
        """Whether a transcript already means something: a command or reply, or a question
        the matcher answers, asks about or takes for an emergency."""
        if not text.strip():
            return False
        language = self.faq_set.language_data
        if parse_command(text, language) is not None or parse_reply(text, language) is not None:
            return True
        return self.matcher.match(text).decision is not Decision.FALLBACK

    def synthesizer(self) -> Synthesizer:
        """The text-to-speech engine; loaded on first use (fails with how to install espeak-ng)."""
        with self._synthesizer_lock:
            if self._synthesizer is None:
                from voice.speech.tts import load_synthesizer

                self._synthesizer = load_synthesizer(self.faq_set.language)
            return self._synthesizer

    def reload(self) -> FaqSet:
        """Load the answers set again. A broken set raises AnswersFormatError and the old one
        stays in use; a loaded recogniser is rebuilt with the new set's words."""
        answers = Answers.load(self.answers_dir, self.profile)
        with self._recognizer_lock:
            if self._recognizer is not None:
                old, self._recognizer = self._recognizer, self._load_recognizer(answers.faq_set)
                close_recognizer(old)  # a call in progress finishes first
        self._answers = answers
        return answers.faq_set

    def close(self) -> None:
        """Ends an engine's child process, if it has one."""
        with self._recognizer_lock:
            if self._recognizer is not None:
                close_recognizer(self._recognizer)
                self._recognizer = None


def close_recognizer(recognizer: Recognizer) -> None:
    """Ends an engine's child process, if it has one (whisper in voice.asr.worker)."""
    close = getattr(recognizer, "close", None)
    if close is not None:
        close()
