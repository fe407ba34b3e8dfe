"""Topics the assistant offers: help groups, spoken lists, and picking one by its words.

Pure. "help" reads the set's questions a few at a time, grouped by the source
section they come from, so that a tired listener hears four questions, not forty.
After "Do you mean walking aids, or pain from crutches?" (or a help group, or
follow-ups) the person may pick one by repeating some of its words ("the crutches
one"); `pick_offered` decides whether the words clearly point at one of the offered
entries, by the words of its topic and its question.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from voice.core.faq import Entry, FaqSet
from voice.core.normalize import Normalizer
from voice.lang import Language


def topic_groups(faq_set: FaqSet, size: int) -> tuple[tuple[Entry, ...], ...]:
    """The set's entries in groups of at most `size`, in source-section order.

    A large section is split evenly (6 with size 4 -> 3 + 3, not 4 + 2); neighbouring
    small sections share a group when they fit together.
    """
    if size < 1:
        raise ValueError(f"a topic group holds at least 1 entry, not {size}")
    order = {section: index for index, section in enumerate(faq_set.source.sections)}
    by_section: dict[str, list[Entry]] = {}
    for entry in sorted(faq_set.entries, key=lambda entry: order.get(entry.section, len(order))):
        by_section.setdefault(entry.section, []).append(entry)
    pieces: list[list[Entry]] = []
    for entries in by_section.values():
        count = math.ceil(len(entries) / size)
        base, extra = divmod(len(entries), count)
        start = 0
        for index in range(count):
            end = start + base + (1 if index < extra else 0)
            pieces.append(entries[start:end])
            start = end
    groups: list[list[Entry]] = []
    for piece in pieces:
        if groups and len(groups[-1]) + len(piece) <= size:
            groups[-1].extend(piece)
        else:
            groups.append(list(piece))
    return tuple(tuple(group) for group in groups)


def spoken_list(questions: Sequence[str], language: Language) -> str:
    """Questions read one after another: "A? B? Or: C?"."""
    stripped = [question.rstrip("?. ") + "?" for question in questions]
    if len(stripped) < 2:
        return "".join(stripped)
    return " ".join(stripped[:-1]) + f" {language.prompts.alternative} " + stripped[-1]


def pick_offered(normalizer: Normalizer, text: str, offered: Sequence[Entry]) -> Entry | None:
    """The offered entry that `text` picks by the words of its topic or question, if
    exactly one.

    Every topic word of `text` must come from the offered entries' topics and questions
    (the words the person just heard), and some must belong to one entry only; otherwise
    the utterance is a new question, for the matcher.
    """
    picking = frozenset(normalizer.stem(word) for word in normalizer.language.picking_words)
    ignored = normalizer.function_words | normalizer.question_words | picking
    said = {token for token in normalizer.tokens(text) if token not in ignored}
    if not said:
        return None
    heard = [set(normalizer.tokens(f"{entry.topic} {entry.question}")) - ignored for entry in offered]
    if not said <= set().union(*heard):
        return None
    pointing = [
        index
        for index, tokens in enumerate(heard)
        if said & tokens - set().union(*(other for position, other in enumerate(heard) if position != index))
    ]
    return offered[pointing[0]] if len(pointing) == 1 else None
