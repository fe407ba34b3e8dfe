"""Checks of an answers set that look across its entries: ids, related and narrower entries,
phrasings and topics that two entries share. Used by voice.core.faq while loading."""

from __future__ import annotations

from typing import TYPE_CHECKING

from voice.core.normalize import Normalizer
from voice.errors import Problem

if TYPE_CHECKING:
    from voice.core.faq import Entry


def check_topics(
    entries: list[Entry], untitled: set[str], normalizer: Normalizer, problems: list[Problem]
) -> list[Problem]:
    """Problems for two entries with the same topic (by its words, as the matcher reads
    them); warnings, returned, for entries without one."""
    owners: dict[tuple[str, ...], Entry] = {}
    for entry in entries:
        if entry.id in untitled:
            continue
        words = sorted(set(normalizer.tokens(entry.topic)) - normalizer.function_words)
        key = tuple(words) or tuple(entry.topic.lower().split())
        owner = owners.setdefault(key, entry)
        if owner is not entry:
            problems.append(
                Problem(
                    entry.file,
                    entry.line,
                    f"entry '{entry.id}': topic '{entry.topic}' is also the topic of '{owner.id}' "
                    f"({owner.file}:{owner.line}); give each entry a topic of its own, so that "
                    '"Do you mean ...?" tells them apart',
                )
            )
    return [
        Problem(
            entry.file,
            entry.line,
            f"entry '{entry.id}' has no 'topic'; \"Do you mean ...?\" reads its whole question. "
            "Add a short name a person could say back (at most 4 words, like 'walking aids')",
        )
        for entry in entries
        if entry.id in untitled
    ]


def check_across_entries(entries: list[Entry], normalizer: Normalizer, problems: list[Problem]) -> None:
    by_id: dict[str, Entry] = {}
    for entry in entries:
        if entry.id in by_id:
            first = by_id[entry.id]
            problems.append(
                Problem(
                    entry.file,
                    entry.line,
                    f"duplicate id '{entry.id}' (first used at {first.file}:{first.line})",
                )
            )
        else:
            by_id[entry.id] = entry
    phrasing_owner: dict[tuple[str, ...], Entry] = {}
    for entry in entries:
        for field_name, ids in (("related", entry.related), ("narrower", entry.narrower)):
            for other in ids:
                mutual = field_name == "narrower" and other in by_id and entry.id in by_id[other].narrower
                wrong = (
                    f"{field_name} id '{other}' is not an entry in this set"
                    if other not in by_id
                    else f"lists itself as {field_name}"
                    if other == entry.id
                    else f"'{other}' lists it as narrower too; one must be the broader"
                    if mutual
                    else None
                )
                if wrong:
                    problems.append(Problem(entry.file, entry.line, f"entry '{entry.id}': {wrong}"))
        for phrasing in (entry.question, *entry.phrasings):
            key = normalizer.tokens(phrasing)
            owner = phrasing_owner.get(key)
            if owner is not None and owner.id != entry.id:
                problems.append(
                    Problem(
                        entry.file,
                        entry.line,
                        f"entry '{entry.id}': phrasing "
                        f"'{phrasing}' is also a phrasing of '{owner.id}' "
                        f"({owner.file}:{owner.line}); keep it in one entry",
                    )
                )
            phrasing_owner.setdefault(key, entry)
