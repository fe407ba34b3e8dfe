"""The dialogue says how it took each utterance: the Understood action (voice/conversation/events.py).

Scripts of what was said before, then one utterance; out: its Understood. Shells read it
instead of parsing the words again (the kiosk's "decision" event, for one).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.conftest import FALL, FES, PARK, WALKER, pinned_matcher
from voice.conversation.dialogue import Dialogue, DialogueConfig
from voice.conversation.events import (
    Action,
    CommandName,
    Heard,
    Mode,
    Speak,
    SpeechDone,
    Started,
    Took,
    Understood,
)
from voice.core.config import default_answers_dir
from voice.core.faq import FaqSet, load_set
from voice.core.matcher import Decision, Matcher

C = CommandName
HELP_TOPICS = "help"  # a long reply, to talk over


@pytest.fixture(scope="module")
def faq() -> FaqSet:
    return load_set(default_answers_dir())


@pytest.fixture(scope="module")
def matcher(faq: FaqSet) -> Matcher:
    return pinned_matcher(faq)


class Script:
    """A dialogue fed utterances a second apart; each reply plays to its end unless `over` is set."""

    def __init__(self, faq: FaqSet, matcher: Matcher, mode: Mode = Mode.ALWAYS) -> None:
        self.dialogue = Dialogue(faq, matcher, DialogueConfig(mode=mode))
        self.at = 0.0
        self.saying: Speak | None = None
        self.hear_all(self.dialogue.handle(Started(self.at)), over=False)

    def hear_all(self, actions: Sequence[Action], over: bool) -> None:
        speaks = [action for action in actions if isinstance(action, Speak)]
        self.saying = speaks[-1] if speaks else self.saying
        while not over and self.saying is not None:  # played to the end, follow-ups too
            self.at += 1
            done = self.dialogue.handle(SpeechDone(self.saying.id, self.at))
            speaks = [action for action in done if isinstance(action, Speak)]
            self.saying = speaks[-1] if speaks else None

    def say(self, text: str, while_speaking: bool = False, over: bool = False) -> Understood:
        self.at += 1
        actions = self.dialogue.handle(Heard(text, self.at, while_speaking))
        took = [action for action in actions if isinstance(action, Understood)]
        assert len(took) == 1 and actions[0] is took[0], actions
        self.hear_all(actions, over)
        return took[0]


@pytest.mark.parametrize(
    ("before", "text", "took", "command", "decision"),
    [
        ([], FES, Took.QUESTION, None, Decision.ANSWER),
        ([], WALKER, Took.QUESTION, None, Decision.CONFIRM),
        ([], PARK, Took.QUESTION, None, Decision.FALLBACK),
        ([], FALL, Took.EMERGENCY, None, None),  # no shell match given: the dialogue found it
        ([], "I fell and can't get up", Took.EMERGENCY, None, None),
        ([], "repeat", Took.COMMAND, C.REPEAT, None),
        ([], "hey helper say that again", Took.COMMAND, C.REPEAT, None),
        ([], "slower please", Took.COMMAND, C.SLOWER, None),
        ([], "help", Took.COMMAND, C.HELP, None),
        ([], "thank you", Took.THANKS, None, None),
        ([], "um", Took.FILLER, None, None),
        ([], "   ", Took.FILLER, None, None),
        ([WALKER], "yes", Took.REPLY, C.YES, None),
        ([WALKER], "the first one", Took.REPLY, C.FIRST, None),
        ([WALKER], "choosing a walking aid", Took.CHOSEN, None, None),
        ([WALKER], FES, Took.QUESTION, None, Decision.ANSWER),  # a new question instead
        (["help"], "more topics", Took.REPLY, None, None),
    ],
)
def test_how_an_utterance_was_taken(
    faq: FaqSet,
    matcher: Matcher,
    before: list[str],
    text: str,
    took: Took,
    command: CommandName | None,
    decision: Decision | None,
) -> None:
    script = Script(faq, matcher)
    for said in before:
        script.say(said)
    understood = script.say(text)
    assert (understood.took, understood.command) == (took, command)
    assert understood.text == " ".join(text.split())
    assert (understood.match.decision if understood.match else None) == decision
    assert understood.asked is (took in (Took.QUESTION, Took.CHOSEN, Took.EMERGENCY))


def test_over_the_assistants_speech_only_commands_and_emergencies_count(
    faq: FaqSet, matcher: Matcher
) -> None:
    script = Script(faq, matcher)
    script.say(HELP_TOPICS, over=True)  # still being said
    assert script.saying is not None
    echo = script.saying.text[:60]
    assert script.say(echo, while_speaking=True, over=True).took is Took.ECHO
    assert script.say(FES, while_speaking=True, over=True).took is Took.OVER_SPEECH
    stop = script.say("stop", while_speaking=True)
    assert (stop.took, stop.command) == (Took.COMMAND, C.STOP)
    script.say(FALL, over=True)
    assert script.say(FALL, while_speaking=True).took is Took.ECHO  # already being said


def test_wake_mode(faq: FaqSet, matcher: Matcher) -> None:
    script = Script(faq, matcher, Mode.WAKE_PHRASE)
    script.at += 60  # the greeting's open window is over
    assert script.say(FES).took is Took.NOT_ADDRESSED
    assert script.say("hey helper").took is Took.WAKE
    script.at += 60
    woken = script.say(f"hey helper {FES}")
    assert woken.took is Took.QUESTION and woken.text == f"hey helper {FES}"
    assert woken.match is not None and woken.match.entry is not None and woken.match.entry.id == "fes"


def test_the_shells_match_is_reported_when_it_was_used(faq: FaqSet, matcher: Matcher) -> None:
    script = Script(faq, matcher)
    match = matcher.match(PARK)
    script.at += 1
    actions = script.dialogue.handle(Heard(PARK, script.at, match=match))
    assert actions[0] == Understood(Took.QUESTION, PARK, match)
