"""Everything the assistant says in its own words, put together from the language's texts.

Short, warm and plain: the listeners may be tired or have low vision. The texts
themselves are the language's (voice.lang, `Language.prompts`), in one place to review.
Answers, details and emergency texts are never here; they come from the answers set
word for word. Quotes name what to say ('help'), so that captions show it too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from voice.conversation.events import CommandName, Mode, VoiceSettings
from voice.core.topics import spoken_list
from voice.lang import Language

ADJUSTMENTS: dict[CommandName, Callable[[VoiceSettings, Language], VoiceSettings]] = {
    CommandName.SLOWER: lambda settings, _: settings.slower(),
    CommandName.FASTER: lambda settings, _: settings.faster(),
    CommandName.LOUDER: lambda settings, _: settings.louder(),
    CommandName.SOFTER: lambda settings, _: settings.softer(),
    CommandName.VOICE: lambda settings, language: settings.other_voice(language.voices),
}
"""What "slower", "faster", "louder", "softer" and "change voice" do; what they say is
the language's `prompts.adjustments`."""


def greeting(language: Language, title: str, mode: Mode, wake_phrase: str) -> tuple[str, str]:
    """What is said when a session starts, and the status caption that stays on screen."""
    texts = language.prompts
    how, caption = (
        text.format(hints=texts.greeting_hints, wake_phrase=wake_phrase)
        for text in texts.how_to_ask[mode.value]
    )
    # "Physical therapy and MS" reads as "about physical therapy and MS"; "MS care" stays.
    topic = title[0].lower() + title[1:] if title[1:2].islower() else title
    return texts.greeting.format(topic=topic, how=how), caption


def topics(language: Language, questions: Sequence[str], last: bool, prefix: str = "") -> str:
    """One help group: "You can ask: A? B? Or: C? Say 'more topics' for others ..."."""
    texts = language.prompts
    ending = texts.topics_last if last else texts.topics_more
    listed = texts.topics.format(questions=spoken_list(questions, language))
    return " ".join(part for part in (prefix, listed, ending) if part)


def follow_up(language: Language, questions: Sequence[str], has_details: bool) -> str:
    """After an answer: how to hear more, and related questions ("" when neither)."""
    texts = language.prompts
    parts = [texts.more_details] if has_details else []
    if questions:
        parts.append(texts.also_ask.format(questions=spoken_list(questions, language)))
    return " ".join(parts)


def fallback(language: Language, say: str, words: Sequence[str]) -> str:
    """The set's "not sure" text, with how to hear the topics unless it already says so."""
    texts = language.prompts
    return say if texts.help_word in words else f"{say} {texts.say_help}"
