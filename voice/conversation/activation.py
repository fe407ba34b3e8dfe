"""Whether an utterance is meant for the assistant: always, after the wake phrase, or a key.

Pure: the dialogue asks `Gate.admit` about every utterance and tells the gate when
the person asks to be heard (wake phrase, key) and when the assistant stops
speaking. Times are the events' `at`, in seconds.
"""

from __future__ import annotations

import math

from voice.conversation.commands import split_wake
from voice.conversation.events import Action, Cue, Listen, Mode, Role, Show
from voice.lang import Language


class Gate:
    """The activation mode's state: the open window (wake phrase) or the key press (push-to-talk)."""

    def __init__(self, mode: Mode, wake_phrase: str, window_s: float, language: Language) -> None:
        self.mode = mode
        self.wake_phrase = wake_phrase
        self.language = language
        """Whose greetings the wake phrase may be heard with, and whose prompts are shown."""
        self.window_s = window_s
        """Seconds the conversation stays open after a bare wake phrase or the assistant's turn."""
        self.clear()

    def clear(self) -> None:
        self._open_until = -math.inf
        self._allowance = False

    def admit(self, text: str, at: float, while_speaking: bool) -> tuple[str, bool] | None:
        """The utterance without the wake phrase, and whether it had one; None when it is
        not meant for the assistant. Over the assistant's speech everything is admitted:
        the dialogue lets only commands act there."""
        rest = split_wake(text, self.wake_phrase, self.language)
        admitted = (text if rest is None else rest), rest is not None
        if self.mode is Mode.ALWAYS or while_speaking:
            return admitted
        if self.mode is Mode.WAKE_PHRASE and (rest is not None or at <= self._open_until):
            return admitted
        if self.mode is Mode.PUSH_TO_TALK and self._allowance:
            self._allowance = False  # one utterance per key press
            return admitted
        return None

    def open(self, at: float) -> list[Action]:
        """The person asked to be heard (a bare wake phrase, a key), or push-to-talk waits
        for a reply to a question the assistant asked."""
        actions: list[Action] = [Cue("listening"), Show(Role.STATUS, self.language.prompts.listening)]
        if self.mode is Mode.PUSH_TO_TALK:
            self._allowance = True
            actions.append(Listen())
        else:
            self._open_until = at + self.window_s
        return actions

    def turn_ended(self, at: float) -> None:
        """The assistant stopped speaking: with the wake phrase, the person may answer or
        go on without saying it again for a while."""
        if self.mode is Mode.WAKE_PHRASE:
            self._open_until = at + self.window_s

    def spend(self) -> None:
        """An utterance used the key press without going through `admit` (an emergency)."""
        self._allowance = False

    def listening(self, at: float) -> bool:
        """Whether an utterance starting now would be admitted without the wake phrase."""
        if self.mode is Mode.WAKE_PHRASE:
            return at <= self._open_until
        return self.mode is Mode.ALWAYS or self._allowance

    def paused(self, at: float) -> bool:
        """A long pause mid-question: whether to cue "still listening". With the wake phrase
        the window stretches so that a slow question is not cut off."""
        if not self.listening(at):
            return False
        if self.mode is Mode.WAKE_PHRASE:
            self._open_until = max(self._open_until, at + self.window_s)
        return True
