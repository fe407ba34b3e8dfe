"""Entries the matcher cannot tell apart, found the way a person would find them: ask with an
entry's own phrasings, each left out of the set in turn, and see where they go.

Pure. The phrasings are split into FOLDS; for each fold a matcher is built without them and each
is matched. When several of one entry's phrasings go to the same other entry, the two overlap:
people asking for the first will be answered, or asked about, with the second. `voicefaq check`
warns about them. Pairs the set already orders (`narrower:`) are left out: a question naming
the narrower entry's topic goes to it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from voice.core.faq import Entry, FaqSet
from voice.core.matcher import Decision, Matcher
from voice.errors import Problem

FOLDS = 5
MIN_PHRASINGS = 2
MIN_SHARE = 0.2
"""An entry overlaps another when at least this share of its phrasings (and MIN_PHRASINGS)
left out are answered or first offered with the other."""


@dataclass(frozen=True, slots=True)
class Overlap:
    entry: Entry
    taken_by: Entry
    phrasings: tuple[str, ...]
    """The entry's phrasings that went to `taken_by` when left out."""

    def warning(self) -> Problem:
        shown = "; ".join(f"'{p}'" for p in self.phrasings[:3])
        return Problem(
            self.entry.file,
            self.entry.line,
            f"entry '{self.entry.id}' overlaps '{self.taken_by.id}': {len(self.phrasings)} of its "
            f"phrasings, left out, went there ({shown}). Give each entry phrasings in its own "
            f"words, or, if one is part of the other's subject, list it under the broader "
            f"entry's 'narrower:'",
        )


def overlaps(faq_set: FaqSet) -> list[Overlap]:
    """Pairs of entries whose phrasings the matcher confuses, most confused first."""
    by_id = {entry.id: entry for entry in faq_set.entries}
    ordered = {(a.id, b) for a in faq_set.entries for b in a.narrower}
    held = [(entry.id, phrasing) for entry in faq_set.entries for phrasing in entry.phrasings]
    went: dict[tuple[str, str], list[str]] = defaultdict(list)
    for fold in range(FOLDS):
        left_out = set(held[fold::FOLDS])
        entries = tuple(
            replace(entry, phrasings=tuple(p for p in entry.phrasings if (entry.id, p) not in left_out))
            for entry in faq_set.entries
        )
        matcher = Matcher(replace(faq_set, entries=entries))
        for entry_id, phrasing in held[fold::FOLDS]:
            match = matcher.match(phrasing)
            if match.decision is Decision.EMERGENCY or not match.alternatives:
                continue
            first = match.alternatives[0].entry_id
            if first != entry_id and match.decision is not Decision.FALLBACK:
                went[(entry_id, first)].append(phrasing)
    found = []
    for (entry_id, other_id), phrasings in went.items():
        entry = by_id[entry_id]
        share = len(phrasings) / max(1, len(entry.phrasings))
        if len(phrasings) >= MIN_PHRASINGS and share >= MIN_SHARE and (other_id, entry_id) not in ordered:
            if (entry_id, other_id) not in ordered:
                found.append(Overlap(entry, by_id[other_id], tuple(phrasings)))
    return sorted(found, key=lambda o: -len(o.phrasings))
