"""What the recognisers are told about an answers set: the words people use with it, and
a short text that primes an engine taking a prompt rather than a grammar.

Derived from the set alone (no engine is imported here), so every front end and tool
biases recognition the same way through `voice.assistant.Assistant`.
"""

from __future__ import annotations

from collections.abc import Iterable

from voice.conversation.commands import command_phrases
from voice.core.faq import FaqSet
from voice.core.normalize import words
from voice.lang import DEFAULT_LANGUAGE

_KEY_TERM_LENGTH = 4  # shorter words ("leg", "arm") are common enough that engines know them
_PROMPT_TERMS = 20  # longer term lists made whisper tiny.en worse, not better


def speech_vocabulary(faq_set: FaqSet | None, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The words people use with this set: its questions, phrasings, keywords and
    synonyms, plus the voice commands. Engines are biased towards these."""
    language = faq_set.language_data if faq_set is not None else DEFAULT_LANGUAGE
    texts: list[str] = [*command_phrases(language), *extra]
    if faq_set is not None:
        for entry in faq_set.entries:
            texts += [entry.question, *entry.phrasings, *entry.keywords]
        for canonical, variants in faq_set.synonyms.items():
            texts += [canonical, *variants]
    seen: dict[str, None] = {}
    for text in texts:
        for word in words(text, language):
            if word.isalpha():
                seen.setdefault(word, None)
    return tuple(seen)


def key_terms(faq_set: FaqSet | None) -> tuple[str, ...]:
    """The set's specific words, rarest first (used by the fewest entries' keywords and
    synonyms), to prime an engine that takes a prompt rather than a grammar."""
    if faq_set is None:
        return ()
    language = faq_set.language_data
    users: dict[str, set[str]] = {}
    for entry in faq_set.entries:
        for keyword in entry.keywords:
            for word in words(keyword, language):
                users.setdefault(word, set()).add(entry.id)
    for canonical, variants in faq_set.synonyms.items():
        for term in (canonical, *variants):
            for word in words(term, language):
                users.setdefault(word, set()).add(f"synonym:{canonical}")
    specific = [word for word in users if word.isalpha() and len(word) >= _KEY_TERM_LENGTH]
    return tuple(sorted(specific, key=lambda word: (len(users[word]), -len(word), word)))


def speech_prompt(faq_set: FaqSet | None, most_terms: int = _PROMPT_TERMS) -> str:
    """The text that primes a prompt-taking engine: the set's own `speech_prompt`, else
    its title followed by its most specific terms."""
    if faq_set is None:
        return ""
    if faq_set.speech_prompt:
        return faq_set.speech_prompt
    return f"{faq_set.title}: {', '.join(key_terms(faq_set)[:most_terms])}."
