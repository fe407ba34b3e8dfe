"""Everything the assistant says in its own words, in one place to review.

Short, warm and plain: the listeners may be tired or have low vision. Answers,
details and emergency texts are never here; they come from the answers set word
for word. Quotes name what to say ('help'), so that captions show it too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from voice.conversation.events import CommandName, Mode, VoiceSettings
from voice.core.topics import spoken_list

# Status captions.
LISTENING = "Listening…"
STOPPED = "Stopped"
SETTINGS_RESET = "Settings reset"
WAIT_OR_STOP = "I'm still speaking: say 'stop', then ask your question"

SAY_HELP = "Say 'help' to hear the topics."
NOTHING_YET = "I haven't said anything yet. Ask me a question, or say 'help'."
WHAT_QUESTION = "What would you like to ask? Say 'help' to hear the topics."
NOTHING_MORE = "There is nothing more on this topic."
ASK_FIRST = "Ask me a question first, or say 'help' to hear the topics."
NO_EARLIER = "There is no earlier answer to go back to."
ASK_AGAIN = "Sorry. Please ask again in other words."
STILL_NOT_SURE = "Sorry, I still can't tell what you mean. Here are some topics."
WHICH_OF_TWO = "Which one: the first, or the second?"
WHICH_OF_MANY = "Which one? Please say a few of its words."
NOTHING_TO_PICK = "There is nothing to choose from just now. Ask me a question, or say 'help'."
ALL_RIGHT = "All right."
WELCOME = "You're welcome."
GOODBYE = "Goodbye. Take care."


@dataclass(frozen=True, slots=True)
class Adjustment:
    """What "slower", "faster", "louder" and "softer" do and say."""

    change: Callable[[VoiceSettings], VoiceSettings]
    status: str
    """Caption shown when the voice changes."""
    acknowledge: str
    """Said in the new voice when there is nothing to say again."""
    limit: str
    """Said when the voice cannot change further that way."""


ADJUSTMENTS: dict[CommandName, Adjustment] = {
    CommandName.SLOWER: Adjustment(
        VoiceSettings.slower, "Speaking slower", "I'll speak slower.", "This is the slowest I can speak."
    ),
    CommandName.FASTER: Adjustment(
        VoiceSettings.faster, "Speaking faster", "I'll speak faster.", "This is the fastest I can speak."
    ),
    CommandName.LOUDER: Adjustment(
        VoiceSettings.louder, "Speaking louder", "I'll speak louder.", "This is the loudest I can speak."
    ),
    CommandName.SOFTER: Adjustment(
        VoiceSettings.softer,
        "Speaking more softly",
        "I'll speak more softly.",
        "This is the softest I can speak.",
    ),
    CommandName.VOICE: Adjustment(
        VoiceSettings.other_voice, "Another voice", "This is another of my voices.", ""
    ),
}


def greeting(title: str, mode: Mode, wake_phrase: str) -> tuple[str, str]:
    """What is said when a session starts, and the status caption that stays on screen."""
    hints = "Say 'help' to hear the topics, or 'stop' to stop me."
    how, caption = {
        Mode.ALWAYS: (f"Just ask me a question. {hints}", "Ask a question, or say 'help'"),
        Mode.WAKE_PHRASE: (
            f"Say '{wake_phrase}' before each question. {hints}",
            f"Say '{wake_phrase}' to ask a question",
        ),
        Mode.PUSH_TO_TALK: (
            "Press any key, then ask your question, or say 'help' to hear the topics. "
            "Pressing a key also stops me.",
            "Press any key to ask a question",
        ),
    }[mode]
    # "Physical therapy and MS" reads as "about physical therapy and MS"; "MS care" stays.
    topic = title[0].lower() + title[1:] if title[1:2].islower() else title
    return f"Hello. I can answer questions about {topic}. {how}", caption


def topics(questions: Sequence[str], last: bool, prefix: str = "") -> str:
    """One help group: "You can ask: A? B? Or: C? Say 'more topics' for others ..."."""
    ending = (
        "That is all the topics. Say 'help' to start again."
        if last
        else "Say 'more topics' for others, or ask one of these."
    )
    return " ".join(part for part in (prefix, f"You can ask: {spoken_list(questions)}", ending) if part)


def follow_up(questions: Sequence[str], has_details: bool) -> str:
    """After an answer: how to hear more, and related questions ("" when neither)."""
    parts = ["To hear more about this, say 'more'."] if has_details else []
    if questions:
        parts.append(f"You can also ask: {spoken_list(questions)}")
    return " ".join(parts)


def fallback(say: str, words: Sequence[str]) -> str:
    """The set's "not sure" text, with how to hear the topics unless it already says so."""
    return say if "help" in words else f"{say} {SAY_HELP}"
