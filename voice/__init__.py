"""voicefaq: an offline, hands-free voice assistant for a clinic's frequently asked questions.

The public API, for programs that embed voicefaq rather than run its commands::

    from voice import Assistant, Decision

    assistant = Assistant()                        # the bundled set, or $VOICEFAQ_ANSWERS
    match = assistant.matcher.match("what is a rollator")
    if match.decision is Decision.ANSWER:
        print(match.say)

Names load on first use, so `import voice` stays cheap and pulls in no engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "Assistant": "voice.assistant",
    "load_set": "voice.core.faq",
    "check_set": "voice.core.faq",
    "FaqSet": "voice.core.faq",
    "Entry": "voice.core.faq",
    "Matcher": "voice.core.matcher",
    "Match": "voice.core.matcher",
    "Decision": "voice.core.matcher",
    "Dialogue": "voice.conversation.dialogue",
    "DialogueConfig": "voice.conversation.dialogue",
    "ENGINES": "voice.asr",
    "Recognizer": "voice.asr",
    "Transcript": "voice.asr",
    "load_recognizer": "voice.asr",
    "VoiceError": "voice.errors",
}
__all__ = [
    "ENGINES",
    "Assistant",
    "Decision",
    "Dialogue",
    "DialogueConfig",
    "Entry",
    "FaqSet",
    "Match",
    "Matcher",
    "Recognizer",
    "Transcript",
    "VoiceError",
    "__version__",
    "check_set",
    "load_recognizer",
    "load_set",
]

if TYPE_CHECKING:
    from voice.asr import ENGINES, Recognizer, Transcript, load_recognizer
    from voice.assistant import Assistant
    from voice.conversation.dialogue import Dialogue, DialogueConfig
    from voice.core.faq import Entry, FaqSet, check_set, load_set
    from voice.core.matcher import Decision, Match, Matcher
    from voice.errors import VoiceError


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'voice' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
