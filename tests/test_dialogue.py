"""The conversation (voice/dialogue.py): scripts of events in, actions out.

The real bundled set and the real matcher. The questions used are checked once to
still get the decisions the scripts assume, so a matcher change fails loudly here.
Actions are compared in a short form: ("speak", kind, text), ("show", role, text),
("offer", kind, ids), ("review", decision), ("cue", name), ("listen",), ("stop",),
("settings", rate, volume), ("reset",).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    CHEST,
    DEPRESSION,
    ENTRIES,
    FALL,
    FES,
    FOOT_DROP,
    PARK,
    PHYSIATRIST,
    SET_YAML,
    TRANSFERS,
    WALKER,
    pinned_matcher,
    write_set,
)
from voice.conversation import prompts
from voice.conversation.commands import parse_command
from voice.conversation.dialogue import Dialogue, DialogueConfig, DialogueConfigError, DialogueState
from voice.conversation.events import (
    Action,
    Chose,
    CommandName,
    Cue,
    Event,
    Heard,
    KeyDown,
    Listen,
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
    Tick,
    Took,
    Understood,
    VoiceSettings,
)
from voice.core.config import default_answers_dir
from voice.core.faq import Emergency, FaqSet, load_set
from voice.core.matcher import Decision, Matcher
from voice.lang import language

K = SpeechKind
EN = language("en")
TEXT = EN.prompts
S = DialogueState
PERSON, STATUS = Role.PERSON, Role.STATUS


@pytest.fixture(scope="module")
def faq() -> FaqSet:
    return load_set(default_answers_dir())


@pytest.fixture(scope="module")
def matcher(faq: FaqSet) -> Matcher:
    return pinned_matcher(faq)


def brief(actions: Sequence[Action]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for action in actions:
        if isinstance(action, Speak):
            out.append(("speak", action.kind, action.text))
        elif isinstance(action, Show):
            out.append(("show", action.role, action.text))
        elif isinstance(action, Offer):
            out.append(("offer", action.kind, tuple(entry_id for entry_id, _ in action.choices)))
        elif isinstance(action, Review):
            out.append(("review", action.match.decision))
        elif isinstance(action, Cue):
            out.append(("cue", action.name))
        elif isinstance(action, SettingsChanged):
            out.append(("settings", action.settings.rate, action.settings.volume))
        elif isinstance(action, Understood):
            continue  # how an utterance was taken: tests/test_dialogue_took.py
        else:
            out.append({Listen: ("listen",), StopSpeaking: ("stop",), SessionReset: ("reset",)}[type(action)])
    return out


class Talk:
    """Drives a Dialogue one event at a time, a second apart unless told otherwise."""

    def __init__(self, faq: FaqSet, matcher: Matcher, start: bool = True, **config: Any) -> None:
        self.dialogue = Dialogue(faq, matcher, DialogueConfig(**config))
        self.at = 0.0
        self.spoken: list[Speak] = []
        if start:
            self.send(Started(self.at))
            self.done()

    def send(self, event: Event) -> list[tuple[Any, ...]]:
        actions = self.dialogue.handle(event)
        self.spoken += [action for action in actions if isinstance(action, Speak)]
        return brief(actions)

    def later(self, seconds: float = 1.0) -> float:
        self.at += seconds
        return self.at

    def hear(self, text: str, while_speaking: bool = False, after: float = 1.0) -> list[tuple[Any, ...]]:
        return self.send(Heard(text, self.later(after), while_speaking))

    def done(self, interrupted: bool = False, after: float = 1.0) -> list[tuple[Any, ...]]:
        """The last Speak finished playing."""
        return self.send(SpeechDone(self.spoken[-1].id, self.later(after), interrupted))

    def ask(self, text: str) -> list[tuple[Any, ...]]:
        """Hear `text` and let the reply (and any follow-up) play to the end."""
        actions = self.hear(text)
        while self.dialogue.speaking:
            actions += self.done()
        return actions


def emergency(faq: FaqSet, emergency_id: str) -> Emergency:
    return next(item for item in faq.emergencies if item.id == emergency_id)


def say(faq: FaqSet, entry_id: str) -> tuple[Any, ...]:
    return ("speak", K.ANSWER, faq.entry(entry_id).answer)


def follow_up(faq: FaqSet, entry_id: str, first: str, second: str) -> list[tuple[Any, ...]]:
    questions = [faq.entry(first).question, faq.entry(second).question]
    text = prompts.follow_up(EN, questions, faq.entry(entry_id).details is not None)
    return [("speak", K.FOLLOW_UP, text), ("offer", K.FOLLOW_UP, (first, second))]


def topics(faq: FaqSet, ids: Sequence[str], last: bool = False, prefix: str = "") -> list[tuple[Any, ...]]:
    text = prompts.topics(EN, [faq.entry(entry_id).question for entry_id in ids], last, prefix)
    return [("speak", K.HELP, text), ("offer", K.HELP, tuple(ids))]


GROUP_1 = ("pt-goals", "pt-interventions", "adaptive-equipment")
GROUP_2 = ("massage-ultrasound", "community-resources", "pt-vs-physiatrist", "walking-medication")
LAST_GROUP = ("tripping-falling", "afo", "fes", "scooter")
CONFIRM_WALKER = ("offer", K.CONFIRM, ("walking-aid-pain", "mobility-aids"))


# Configuration.


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"idle_reset_s": 0}, "idle_reset_s"),
        ({"wake_window_s": -1}, "wake_window_s"),
        ({"confirm_tries": 0}, "confirm_tries"),
        ({"follow_ups": -1}, "follow_ups"),
        ({"topics_per_group": 0}, "topics_per_group"),
        ({"wake_phrase": " ,"}, "wake phrase"),
        ({"mode": "sometimes"}, "mode"),
    ],
)
def test_config_rejects_values_out_of_range(settings: dict[str, Any], named: str) -> None:
    with pytest.raises(DialogueConfigError, match=named):
        DialogueConfig(**settings)


def test_config_takes_the_mode_by_name() -> None:
    assert DialogueConfig(mode="wake").mode is Mode.WAKE_PHRASE  # type: ignore[arg-type]


# Starting.


@pytest.mark.parametrize(
    ("mode", "how", "caption"),
    [
        (Mode.ALWAYS, "Just ask me a question.", "Ask a question, or say 'help'"),
        (Mode.WAKE_PHRASE, "Say 'hey helper' before each question.", "Say 'hey helper' to ask a question"),
        (Mode.PUSH_TO_TALK, "Press any key, then ask your question", "Press any key to ask a question"),
    ],
)
def test_greeting_says_how_to_ask(faq: FaqSet, matcher: Matcher, mode: Mode, how: str, caption: str) -> None:
    talk = Talk(faq, matcher, start=False, mode=mode)
    assert talk.dialogue.state is S.STARTING
    shown = talk.send(Started(0.0))
    assert shown[0] == ("show", STATUS, faq.disclaimer)
    kind, text = shown[1][1:]
    assert kind is K.NOTICE and text.startswith(
        "Hello. I can answer questions about physical therapy and MS."
    )
    assert how in text and "'help'" in text
    assert shown[2:] == [("show", STATUS, caption)]
    assert talk.done() == []  # no Listen until a key is pressed
    assert talk.dialogue.state is {Mode.ALWAYS: S.READY, Mode.WAKE_PHRASE: S.LISTENING}.get(
        mode, S.AWAITING_KEY
    )


# Answers and follow-ups.


def test_answer_then_follow_up_then_pick_by_ordinal(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    assert talk.hear(FES) == [("show", PERSON, FES), say(faq, "fes")]
    assert talk.done() == follow_up(faq, "fes", "afo", "tripping-falling")
    assert talk.dialogue.state is S.OFFERING
    assert talk.done() == []
    assert talk.hear("the second one") == [("show", PERSON, "the second one"), say(faq, "tripping-falling")]


@pytest.mark.parametrize(
    ("reply", "entry_id"),
    [("the first", "afo"), ("the ankle foot orthosis", "afo"), ("the one about falling", "tripping-falling")],
)
def test_follow_up_picked_by_its_words(faq: FaqSet, matcher: Matcher, reply: str, entry_id: str) -> None:
    talk = Talk(faq, matcher)
    talk.ask(FES)
    assert talk.hear(reply)[1:] == [say(faq, entry_id)]


def test_follow_up_mentions_more_when_there_are_details(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    talk.hear(PHYSIATRIST)
    speak = talk.done()[0]
    assert speak[2].startswith("To hear more about this, say 'more'. You can also ask: Is there a medicine")


def test_chose_answers_directly(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    assert talk.send(Chose("scooter", talk.later())) == [
        ("show", PERSON, faq.entry("scooter").question),
        say(faq, "scooter"),
    ]
    assert talk.send(Chose("not-in-this-set", talk.later())) == []


def test_interrupted_or_stale_speech_brings_no_follow_up(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    talk.hear(FES)
    first = talk.spoken[-1]
    talk.hear(DEPRESSION)  # over nothing: the shell said the answer had not finished
    assert talk.send(SpeechDone(first.id, talk.later(), interrupted=True)) == []
    assert talk.send(SpeechDone(first.id, talk.later())) == []  # stale: a newer speech is playing
    assert talk.done(interrupted=True) == []
    assert talk.dialogue.speaking is False


def test_speak_ids_increase(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    for text in (FES, "repeat", "slower", WALKER, "yes", "the first", "help"):
        talk.hear(text)
    ids = [speak.id for speak in talk.spoken]
    assert ids == sorted(set(ids)) and len(ids) == 8


# "Do you mean ...?"


@pytest.mark.parametrize(
    ("question", "text"),
    [
        (FOOT_DROP, "Do you mean electrical stimulation?"),  # one: a yes/no question
        (WALKER, "Do you mean pain from crutches, or walking aids?"),  # two: their topics
    ],
)
def test_a_confirmation_names_the_offered_topics(
    faq: FaqSet, matcher: Matcher, question: str, text: str
) -> None:
    talk = Talk(faq, matcher)
    assert talk.hear(question)[1] == ("speak", K.CONFIRM, text)
    assert talk.dialogue.state is S.CONFIRMING


@pytest.mark.parametrize(
    ("question", "replies", "then", "state"),
    [
        # One offered: "Do you mean electrical stimulation?"
        (FOOT_DROP, ["yes"], "fes", S.READY),
        (FOOT_DROP, ["yes please"], "fes", S.READY),
        (FOOT_DROP, ["the first"], "fes", S.READY),
        (FOOT_DROP, ["electrical stimulation"], "fes", S.READY),
        (FOOT_DROP, ["yes, electrical stimulation"], "fes", S.READY),
        (FOOT_DROP, ["no"], ("speak", K.NOTICE, TEXT.ask_again), S.READY),
        (FOOT_DROP, ["the second"], ("speak", K.NOTICE, TEXT.nothing_to_pick), S.CONFIRMING),
        # Two offered: "Do you mean pain from crutches, or walking aids?"
        (WALKER, ["the first"], "walking-aid-pain", S.READY),
        (WALKER, ["the second one"], "mobility-aids", S.READY),
        (WALKER, ["walking aids"], "mobility-aids", S.READY),
        (WALKER, ["pain from crutches"], "walking-aid-pain", S.READY),
        (WALKER, ["yes"], ("offer", K.CONFIRM, ("walking-aid-pain", "mobility-aids")), S.CHOOSING),
        (WALKER, ["yes", "the second"], "mobility-aids", S.READY),
        (WALKER, ["yes", "walking aids"], "mobility-aids", S.READY),
        (WALKER, ["no"], ("speak", K.NOTICE, TEXT.ask_again), S.READY),
    ],
)
def test_replies_to_a_confirmation(
    faq: FaqSet,
    matcher: Matcher,
    question: str,
    replies: list[str],
    then: tuple[Any, ...] | str,
    state: DialogueState,
) -> None:
    """`then`: the last action, or the id of the entry whose answer it speaks."""
    talk = Talk(faq, matcher)
    talk.ask(question)
    for reply in replies[:-1]:
        talk.ask(reply)
    expected = say(faq, then) if isinstance(then, str) else then
    assert talk.hear(replies[-1])[-1] == expected
    assert talk.dialogue.state is state


@pytest.mark.parametrize(
    ("reply", "took"),
    [
        ("chair and bed transfers", Took.CHOSEN),  # its topic, said back
        ("the transfers one", Took.CHOSEN),  # "transfers" is in the topic, not the question
        ("yes", Took.REPLY),
    ],
)
def test_a_confirmation_is_picked_by_its_topic_words(
    faq: FaqSet, matcher: Matcher, reply: str, took: Took
) -> None:
    talk = Talk(faq, matcher)
    assert talk.ask(TRANSFERS)[1] == ("speak", K.CONFIRM, "Do you mean chair and bed transfers?")
    actions = talk.dialogue.handle(Heard(reply, talk.later()))
    assert isinstance(actions[0], Understood) and actions[0].took is took
    assert brief(actions)[-1] == say(faq, "transfers")


@pytest.mark.parametrize(
    ("replies", "entry_id"),
    [
        (["the first"], "walking-aid-pain"),
        (["the second one"], "mobility-aids"),
        (["yes", "the second"], "mobility-aids"),
        (["the crutches one"], "walking-aid-pain"),
        (["choosing a walking aid"], "mobility-aids"),
        (["yes, the first one"], "walking-aid-pain"),
    ],
)
def test_confirmation_is_answered(faq: FaqSet, matcher: Matcher, replies: list[str], entry_id: str) -> None:
    talk = Talk(faq, matcher)
    assert talk.hear(WALKER) == [
        ("show", PERSON, WALKER),
        ("speak", K.CONFIRM, matcher.match(WALKER).say),
        CONFIRM_WALKER,
        ("review", Decision.CONFIRM),
    ]
    assert talk.dialogue.state is S.CONFIRMING
    for reply in replies[:-1]:
        talk.hear(reply)
    assert talk.hear(replies[-1])[-1] == say(faq, entry_id)
    assert talk.dialogue.state is S.READY


def test_yes_to_two_asks_which_one(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    talk.ask(WALKER)
    assert talk.hear("yes") == [
        ("show", PERSON, "yes"),
        ("speak", K.NOTICE, TEXT.which_of_two),
        CONFIRM_WALKER,
    ]
    assert talk.dialogue.state is S.CHOOSING


def test_yes_to_one_answers_it(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    assert talk.ask(FOOT_DROP)[2] == ("offer", K.CONFIRM, ("fes",))
    assert talk.hear("yeah")[1:] == [say(faq, "fes")]


def test_no_asks_again_and_two_failures_offer_topics(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    talk.ask(WALKER)
    assert talk.hear("no")[1:] == [("speak", K.NOTICE, TEXT.ask_again)]
    assert talk.dialogue.state is S.READY
    talk.done()
    assert talk.ask(WALKER)[2] == CONFIRM_WALKER  # the second try still asks
    assert talk.hear("nope")[1:] == topics(faq, GROUP_1, prefix=TEXT.still_not_sure)
    assert talk.dialogue.state is S.BROWSING


def test_new_confirmations_count_as_failed_tries(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    talk.ask(WALKER)
    assert talk.ask(FOOT_DROP)[2] == ("offer", K.CONFIRM, ("fes",))  # not a pick: a new question
    assert talk.hear(WALKER)[1:] == [
        *topics(faq, GROUP_1, prefix=TEXT.still_not_sure),
        ("review", Decision.CONFIRM),
    ]


def test_a_new_question_while_confirming_is_answered(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    talk.ask(WALKER)
    assert talk.hear(DEPRESSION)[1:] == [say(faq, "depression")]
    talk.ask(WALKER)
    assert talk.send(Chose("mobility-aids", talk.later()))[1:] == [say(faq, "mobility-aids")]


def test_fallback_is_reviewed(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    assert "help" in faq.fallback  # so nothing is added
    assert talk.hear(PARK) == [
        ("show", PERSON, PARK),
        ("speak", K.FALLBACK, faq.fallback),
        ("review", Decision.FALLBACK),
    ]


def test_fallback_says_how_to_hear_the_topics(tmp_path: Path) -> None:
    tiny = load_set(write_set(tmp_path / "tiny"))
    assert "help" not in tiny.fallback
    talk = Talk(tiny, Matcher(tiny))
    assert talk.hear("where do i park")[1] == ("speak", K.FALLBACK, f"{tiny.fallback} {TEXT.say_help}")


# Emergencies.


def _idle(talk: Talk) -> None:
    pass


def _answering(talk: Talk) -> None:
    talk.hear(FES)


def _confirming(talk: Talk) -> None:
    talk.ask(WALKER)


def _choosing(talk: Talk) -> None:
    talk.ask(WALKER)
    talk.ask("yes")


def _browsing(talk: Talk) -> None:
    talk.ask("help")


def _after_goodbye(talk: Talk) -> None:
    talk.ask("goodbye")


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("setup", [_idle, _answering, _confirming, _choosing, _browsing, _after_goodbye])
@pytest.mark.parametrize("while_speaking", [False, True])
def test_emergency_first_in_every_state(
    faq: FaqSet, matcher: Matcher, mode: Mode, setup: Any, while_speaking: bool
) -> None:
    talk = Talk(faq, matcher, mode=mode)
    setup(talk)
    talk.later(60)  # long after any wake phrase or key press
    fall = emergency(faq, "fall")
    assert talk.hear(FALL, while_speaking=while_speaking) == [
        ("stop",),
        ("show", PERSON, FALL),
        ("speak", K.EMERGENCY, fall.say),
    ]
    assert talk.dialogue.last_spoken is not None and talk.dialogue.last_spoken.text == fall.say
    talk.done()
    # "repeat" says the emergency text again.
    talk.send(KeyDown(talk.later()))
    assert talk.hear("hey helper repeat")[-1] == ("speak", K.EMERGENCY, fall.say)


def test_emergency_before_started_and_over_a_shell_match(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher, start=False, mode=Mode.PUSH_TO_TALK)
    wrong = matcher.match(FES)  # a shell's match that says "answer"
    actions = talk.send(Heard(CHEST, talk.later(), match=wrong))
    assert actions[-1] == ("speak", K.EMERGENCY, emergency(faq, "chest-pain").say)


def test_a_call_for_help_is_an_emergency_and_help_lists_the_topics(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher, mode=Mode.WAKE_PHRASE)
    talk.later(60)  # no wake phrase needed for an emergency
    assert talk.hear("please help me")[-1] == ("speak", K.EMERGENCY, emergency(faq, "urgent").say)
    talk.done()
    assert ("speak", K.HELP) in [action[:2] for action in talk.hear("hey helper help")]


def test_the_shell_s_decision_on_the_audio_stands(faq: FaqSet, matcher: Matcher) -> None:
    """A shell that heard the words decides on the emergency (voice.spoken.heard_emergency):
    a loop whisper wrote while guessing is no emergency, though typed it would be one."""
    from voice.asr import Transcript
    from voice.spoken import match_transcript

    looped = "I can't get up, I can't get up."
    heard = match_transcript(Transcript(looped, (), "whisper", 2.0, 100.0, (), -0.9), matcher)
    assert heard.decision is not Decision.EMERGENCY and matcher.emergency(looped) is not None
    talk = Talk(faq, matcher, mode=Mode.PUSH_TO_TALK)
    talk.send(KeyDown(talk.later()))
    actions = talk.send(Heard(looped, talk.later(), match=heard))
    assert all(action[:2] != ("speak", K.EMERGENCY) for action in actions)


def test_emergency_is_not_restarted_by_its_own_echo(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    talk.hear(FALL)
    fall = emergency(faq, "fall").say
    assert talk.hear(fall[:80], while_speaking=True) == []
    assert talk.hear(FALL, while_speaking=True) == []  # already being said
    assert talk.hear(CHEST, while_speaking=True)[-1] == (
        "speak",
        K.EMERGENCY,
        emergency(faq, "chest-pain").say,
    )


def test_answer_with_trigger_words_is_echo_but_the_person_is_not(tmp_path: Path) -> None:
    entries = [dict(entry) for entry in ENTRIES]
    entries[0]["answer"] = "If you fell and can't get up, use your alert button first."
    tiny = load_set(write_set(tmp_path / "tiny", SET_YAML, entries))
    matcher = Matcher(tiny)
    assert matcher.emergency(entries[0]["answer"]) is not None
    talk = Talk(tiny, matcher)
    talk.hear("should I use a walker")
    assert talk.spoken[-1].text == entries[0]["answer"]
    assert talk.hear("fell and can't get up use your alert", while_speaking=True) == []
    assert talk.hear("I fell and I can't get up", while_speaking=True)[-1][1] is K.EMERGENCY


# Commands.


def test_repeat(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher, start=False)
    assert talk.hear("repeat")[1:] == [("speak", K.NOTICE, TEXT.nothing_yet)]
    talk.ask(FES)  # the answer, then its follow-up
    talk.hear("thank you")
    assert talk.hear("say that again")[-1] == say(faq, "fes")  # the answer, not "You're welcome."
    assert talk.send(Pressed(CommandName.REPEAT, talk.later())) == [("stop",), say(faq, "fes")]
    talk.ask(WALKER)
    assert talk.hear("could you repeat that please")[1:] == [
        ("speak", K.CONFIRM, matcher.match(WALKER).say),
        CONFIRM_WALKER,
    ]


@pytest.mark.parametrize(
    ("command", "first", "limit", "steps"),
    [
        ("slower", (125, 0.8), "This is the slowest I can speak.", 3),
        ("faster", (175, 0.8), "This is the fastest I can speak.", 5),
        ("louder", (150, 1.0), "This is the loudest I can speak.", 1),
        ("softer", (150, 0.6), "This is the softest I can speak.", 3),
    ],
)
def test_voice_changes_and_says_it_again(
    faq: FaqSet, matcher: Matcher, command: str, first: tuple[int, float], limit: str, steps: int
) -> None:
    talk = Talk(faq, matcher)
    talk.ask(FES)
    assert talk.hear(command) == [
        ("show", PERSON, command),
        ("settings", *first),
        ("show", STATUS, TEXT.adjustments[command].status),
        say(faq, "fes"),  # again, in the new voice
    ]
    assert (talk.spoken[-1].settings.rate, talk.spoken[-1].settings.volume) == first
    assert talk.dialogue.settings == talk.spoken[-1].settings
    for _ in range(steps):
        talk.hear(command)
    assert talk.hear(command)[1:] == [("stop",), ("speak", K.NOTICE, limit)]


def test_change_voice_cycles_and_says_it_again(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    talk.ask(FES)
    voices = []
    for _ in range(len(EN.voices)):
        assert talk.hear("another voice")[-1] == say(faq, "fes")
        voices.append(talk.spoken[-1].settings.voice)
    assert voices == [*EN.voices[1:], EN.voices[0]]
    assert talk.spoken[-1].settings.rate == VoiceSettings().rate  # only the voice changed


def test_voice_change_with_nothing_to_repeat(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher, start=False)
    assert talk.hear("speak up")[-1] == ("speak", K.NOTICE, "I'll speak louder.")


def test_stop(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    talk.hear(FES)
    assert talk.hear("please stop", while_speaking=True) == [
        ("show", PERSON, "please stop"),
        ("stop",),
        ("show", STATUS, TEXT.stopped),
    ]
    assert talk.done() == []  # even if the speech ran to its end just then: no follow-up
    assert talk.dialogue.speaking is False


def test_more(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    assert talk.hear("tell me more")[1:] == [("speak", K.NOTICE, TEXT.ask_first)]
    talk.ask(PHYSIATRIST)
    assert talk.hear("more")[1:] == [("speak", K.DETAILS, faq.entry("pt-vs-physiatrist").details)]
    assert talk.done() == []  # details bring no second follow-up
    talk.ask(FES)
    assert talk.hear("more")[1:] == [("speak", K.NOTICE, TEXT.nothing_more)]


def test_help_reads_topics_in_groups(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    assert talk.hear("what can I ask")[1:] == topics(faq, GROUP_1)
    assert talk.dialogue.state is S.BROWSING
    assert talk.hear("more topics")[1:] == [("stop",), *topics(faq, GROUP_2)]
    assert talk.hear("more")[-1][2][0] == "exercise-types"  # "more" while browsing: the next group
    for _ in range(8):
        talk.hear("next")
    assert talk.hear("next")[1:] == [("stop",), *topics(faq, LAST_GROUP, last=True)]
    assert talk.hear("next")[1:] == [("stop",), *topics(faq, GROUP_1)]  # round again


@pytest.mark.parametrize(
    ("reply", "entry_id"),
    [
        ("the second one", "community-resources"),
        ("community resources", "community-resources"),
        ("massage", "massage-ultrasound"),
        ("the medicine one", "walking-medication"),
    ],
)
def test_help_topic_picked(faq: FaqSet, matcher: Matcher, reply: str, entry_id: str) -> None:
    talk = Talk(faq, matcher)
    talk.ask("help")
    talk.ask("more topics")
    assert talk.hear(reply)[1:] == [say(faq, entry_id)]


def test_go_back(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    talk.ask(FES)
    assert talk.hear("go back")[1:] == [("speak", K.NOTICE, TEXT.no_earlier)]
    talk.ask(DEPRESSION)
    talk.ask(PHYSIATRIST)
    assert talk.hear("go back")[1:] == [say(faq, "depression")]
    assert talk.hear("back")[1:] == [("stop",), say(faq, "fes")]
    assert talk.hear("more")[1:] == [("stop",), ("speak", K.NOTICE, TEXT.nothing_more)]  # about fes now


def test_goodbye_forgets_the_session(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    talk.ask(FES)
    talk.ask("louder")
    assert talk.hear("thank you, goodbye")[1:] == [
        ("speak", K.GOODBYE, TEXT.goodbye),
        ("reset",),
        ("settings", 150, 0.8),
    ]
    assert talk.spoken[-1].settings.volume == 1.0  # goodbye in the voice the person chose
    assert talk.dialogue.settings == VoiceSettings()
    assert talk.done() == []
    assert talk.hear("repeat")[1:] == [("speak", K.NOTICE, TEXT.nothing_yet)]
    assert talk.hear("go back")[1:] == [("stop",), ("speak", K.NOTICE, TEXT.no_earlier)]


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        ("yes", TEXT.what_question),
        ("no", TEXT.all_right),
        ("the first", TEXT.nothing_to_pick),
        ("thanks", TEXT.welcome),
    ],
)
def test_replies_with_nothing_asked(faq: FaqSet, matcher: Matcher, reply: str, said: str) -> None:
    talk = Talk(faq, matcher)
    assert talk.hear(reply) == [("show", PERSON, reply), ("speak", K.NOTICE, said)]


# While the assistant speaks.


def test_while_speaking_only_commands_act(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    talk.hear(PHYSIATRIST)
    answer = faq.entry("pt-vs-physiatrist").answer
    assert talk.hear(DEPRESSION, while_speaking=True) == [("show", STATUS, TEXT.wait_or_stop)]
    assert talk.hear(answer[:60], while_speaking=True) == []  # the microphone hearing the answer
    assert talk.hear("repeat", while_speaking=True) == [
        ("show", PERSON, "repeat"),
        ("stop",),
        say(faq, "pt-vs-physiatrist"),
    ]
    assert talk.hear("slow down", while_speaking=True)[-2:] == [("stop",), say(faq, "pt-vs-physiatrist")]
    assert talk.spoken[-1].settings.rate == 125


def test_echo_of_a_command_word_is_not_a_command(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    talk.ask(WALKER)
    talk.hear("yes")  # "Which one: the first, or the second?" is playing
    assert parse_command("or the second") is CommandName.SECOND  # said by a person, it would pick
    assert talk.hear("or the second", while_speaking=True) == []
    assert talk.hear("the second", while_speaking=True)[-1] == say(
        faq, "mobility-aids"
    )  # too short to be an echo


# Activation modes.


def test_wake_phrase_mode(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher, mode=Mode.WAKE_PHRASE)
    assert talk.dialogue.state is S.LISTENING  # the greeting just ended
    talk.send(Tick(talk.later(30)))
    assert talk.dialogue.state is S.AWAITING_WAKE
    assert talk.hear(FES) == []  # not meant for the assistant
    assert talk.hear("stop") == []
    assert talk.hear(f"hey helper, {FES}") == [("show", PERSON, f"hey helper, {FES}"), say(faq, "fes")]
    talk.done()
    talk.done()
    talk.later(30)
    assert talk.hear("hi helper") == [("cue", "listening"), ("show", STATUS, TEXT.listening)]
    assert talk.hear(DEPRESSION, after=7) == [("show", PERSON, DEPRESSION), say(faq, "depression")]
    # The assistant's turn keeps the conversation open for a while...
    talk.done()
    talk.done()  # "You can also ask: Can exercise help with MS fatigue? Or: ..."
    assert talk.hear("the first", after=7)[1:] == [say(faq, "fatigue")]
    talk.done()
    talk.done()
    # ... but not for long.
    assert talk.hear(FES, after=9) == []
    talk.hear("a helper")
    assert talk.hear(FES, after=9) == []


def test_wake_window_stretches_while_a_question_is_spoken(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher, mode=Mode.WAKE_PHRASE)
    talk.hear("hey helper", after=30)
    assert talk.send(PausedMidQuestion(talk.later(6))) == [("cue", "still_listening")]
    assert talk.hear(FES, after=6)[1:] == [say(faq, "fes")]


def test_wake_mode_confirmation_replies_need_no_wake_phrase(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher, mode=Mode.WAKE_PHRASE)
    talk.hear(f"hey helper {WALKER}", after=30)
    talk.done()
    assert talk.hear("choosing a walking aid", after=30) == []  # a new utterance needs it again
    assert talk.hear("the second", after=30)[1:] == [say(faq, "mobility-aids")]


def test_wake_mode_commands_over_speech(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher, mode=Mode.WAKE_PHRASE)
    talk.hear(f"hey helper {FES}", after=30)
    assert talk.hear("stop", while_speaking=True, after=30)[1:] == [
        ("stop",),
        ("show", STATUS, TEXT.stopped),
    ]
    # A bare wake phrase: listening, with nothing to stop.
    assert talk.hear("hey helper", while_speaking=True) == [
        ("cue", "listening"),
        ("show", STATUS, TEXT.listening),
    ]


def test_push_to_talk_mode(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher, mode=Mode.PUSH_TO_TALK)
    assert talk.hear(FES) == []  # no key pressed
    assert talk.send(PausedMidQuestion(talk.later())) == []
    assert talk.send(KeyDown(talk.later())) == [
        ("cue", "listening"),
        ("show", STATUS, TEXT.listening),
        ("listen",),
    ]
    assert talk.dialogue.state is S.LISTENING
    assert talk.hear(WALKER)[1][1] is K.CONFIRM
    assert talk.hear(FES) == []  # one utterance per key press
    # The assistant asked something: the microphone opens for the reply.
    assert talk.done() == [("cue", "listening"), ("show", STATUS, TEXT.listening), ("listen",)]
    assert talk.hear("the first")[1:] == [say(faq, "walking-aid-pain")]
    assert talk.hear("help") == []
    talk.send(KeyDown(talk.later()))
    talk.hear(DEPRESSION)
    assert talk.send(KeyDown(talk.later()))[0] == ("stop",)  # a key stops the speech
    talk.hear(FALL)
    talk.done()
    assert talk.hear(FES) == []  # the emergency used that key press


def test_always_mode_key_stops_speech(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    talk.hear(FES)
    assert talk.send(KeyDown(talk.later())) == [("stop",)]
    assert talk.send(KeyDown(talk.later())) == []


def test_still_listening_once_per_utterance(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    assert talk.send(PausedMidQuestion(talk.later())) == [("cue", "still_listening")]
    assert talk.send(PausedMidQuestion(talk.later())) == []
    talk.ask(FES)
    assert talk.send(PausedMidQuestion(talk.later())) == [("cue", "still_listening")]


def test_filler_only_utterances_are_ignored(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher, mode=Mode.PUSH_TO_TALK)
    talk.send(KeyDown(talk.later()))
    assert talk.hear("um") == []
    assert talk.hear("   ") == []
    assert talk.hear(FES)[1:] == [say(faq, "fes")]  # the key press was not used up


# Idle reset.


def test_idle_reset_once_after_activity(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher)
    assert talk.send(Tick(talk.later(1000))) == []  # nothing happened: nothing to reset
    talk.ask(FES)
    talk.hear("slower")
    spoke_at = talk.at
    talk.done()  # the answer again, in the slower voice
    talk.done()  # its follow-up
    assert talk.send(Tick(spoke_at + 299.5)) == []
    assert talk.send(Tick(spoke_at + 300)) == [
        ("reset",),
        ("settings", 150, 0.8),
        ("show", STATUS, TEXT.settings_reset),
    ]
    assert talk.send(Tick(talk.later(400))) == []
    assert talk.dialogue.settings == VoiceSettings()
    assert talk.hear("repeat")[1:] == [("speak", K.NOTICE, TEXT.nothing_yet)]


def test_idle_reset_before_a_late_question(faq: FaqSet, matcher: Matcher) -> None:
    talk = Talk(faq, matcher, idle_reset_s=60)
    talk.ask(FES)
    assert talk.hear(DEPRESSION, after=61) == [
        ("reset",),
        ("show", STATUS, TEXT.settings_reset),
        ("show", PERSON, DEPRESSION),
        say(faq, "depression"),
    ]
