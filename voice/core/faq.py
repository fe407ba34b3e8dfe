"""Loading and validating an answers set (a directory of YAML files).

Pure apart from reading the files: returns typed, frozen data or raises
AnswersFormatError listing every problem with its file and line. The format is
documented in docs/answers-format.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voice.core.config import MatcherConfig
from voice.core.normalize import Normalizer
from voice.core.setchecks import check_across_entries, check_topics
from voice.core.wordmaps import read_heard, read_word_map
from voice.core.yamlfile import MAX_FILE_BYTES, Checker, Document, YamlPath, read_yaml
from voice.errors import AnswersFormatError, Problem
from voice.lang import DEFAULT_CODE, DEFAULT_LANGUAGE, Language, UnknownLanguageError, language

__all__ = [
    "MAX_FILE_BYTES",
    "Emergency",
    "Entry",
    "FaqSet",
    "Source",
    "check_set",
    "load_set",
    "trigger_parts",
]

SET_FILE = "set.yaml"
HEARD_FILE = "heard.yaml"
"""How recognisers mishear the set's words (`heard_as:`), made by `python -m tools.heard_map`."""
MIN_PHRASINGS = 6
DEFAULT_ANSWER_WORDS = 50
DEFAULT_DETAILS_WORDS = 150
MAX_QUESTION_WORDS = 20
MAX_TOPIC_WORDS = 6
"""A topic is named in "Do you mean ...?" and may be said back: a few words (4 or fewer read best)."""
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_ENTRY_KEYS = frozenset(
    {
        "id",
        "question",
        "topic",
        "section",
        "answer",
        "details",
        "phrasings",
        "keywords",
        "related",
        "narrower",
        "enrol",
    }
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One FAQ entry: what the assistant says and the ways people ask for it."""

    id: str
    question: str
    """Canonical question: read in the topics after "help" and in follow-ups."""
    topic: str
    """A short name for what the entry is about ("walking aids"), read in "Do you mean
    walking aids?" and said back to pick it; the question (without its question mark)
    when the set gives none."""
    section: str
    """The source section the answer comes from."""
    answer: str
    """Short spoken answer."""
    details: str | None
    """Read when the person asks for more; None when there is nothing more."""
    phrasings: tuple[str, ...]
    keywords: tuple[str, ...]
    related: tuple[str, ...]
    """Ids of entries offered as follow-ups."""
    file: Path
    line: int
    narrower: tuple[str, ...] = ()
    """Ids of entries about a part of this entry's subject ("passive exercise" within "active
    and passive exercise"): a question naming one of their topics goes to it, not here."""
    enrol: str | None = None
    """A short everyday question a person says when enrolling their voice (voicefaq enrol);
    None: the question."""

    @property
    def enrol_prompt(self) -> str:
        return self.enrol or self.question


@dataclass(frozen=True, slots=True)
class Emergency:
    """A kind of emergency: the words that signal it and what to say at once."""

    id: str
    say: str
    triggers: tuple[str, ...]
    """Word groups joined by " + ", alternatives separated by "|"; optionally led by
    "alone:" and ended by " unless " and words (trigger_parts)."""


ALONE = "alone:"
"""Leads a trigger that counts only when nothing else is said (docs/answers-format.md)."""
UNLESS = " unless "
"""Comes before the words that, heard anywhere, stop a trigger counting."""


def trigger_parts(trigger: str) -> tuple[bool, list[list[str]], list[str]]:
    """(whether it is said alone, its groups' alternatives, the words that stop it)."""
    text = trigger.strip()
    alone = text.startswith(ALONE)
    main, unless, vetoes = text.removeprefix(ALONE).partition(UNLESS)
    return alone, [group.split("|") for group in main.split("+")], vetoes.split("|") if unless else []


def trigger_words(emergencies: Iterable[Emergency]) -> frozenset[str]:
    """Every word any trigger of `emergencies` names, its "unless" words too."""
    found: set[str] = set()
    for emergency in emergencies:
        for trigger in emergency.triggers:
            _, groups, vetoes = trigger_parts(trigger)
            for text in (*(alternative for group in groups for alternative in group), *vetoes):
                found.update(text.lower().split())
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class Source:
    title: str
    author: str
    last_reviewed: str
    sections: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FaqSet:
    """A validated answers set."""

    id: str
    title: str
    directory: Path
    source: Source
    disclaimer: str
    fallback: str
    emergencies: tuple[Emergency, ...]
    entries: tuple[Entry, ...]
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fillers: tuple[str, ...] = ()
    matching: dict[str, float] = field(default_factory=dict)
    """Overrides of the matcher's thresholds (see voice.core.config.MatcherConfig)."""
    speech_prompt: str | None = None
    """A short text in the words people use with this set, to prime speech recognition."""
    warnings: tuple[Problem, ...] = ()
    """What `voicefaq check` warns about but loading accepts (an entry without a topic)."""
    heard_as: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """heard.yaml: what recognisers write for the set's words ("row later" for rollator),
    read like synonyms but never given to a recogniser as words to expect."""
    language: str = DEFAULT_CODE
    """The code of the language the set is written in (set.yaml `language:`); its words
    are `language_data`."""
    base: FaqSet | None = None
    """For a set personalised to one person's voice (voice.core.personal), the set as its
    files have it: emergencies are looked for in both readings, so a profile hides none."""
    personal_phrasings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """For a set personalised to one voice, the person's enrolled questions as heard, by
    entry id (already among the entries' phrasings; voice.core.personal.PersonalMatcher)."""
    language_override: Language | None = None
    """The language's words with one person's own forms of the commands
    (voice.conversation.commands.personal_language); None: the registered language's."""

    def entry(self, entry_id: str) -> Entry:
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        raise KeyError(entry_id)

    @property
    def language_data(self) -> Language:
        """The words of the set's language (voice.lang): what the matcher, the commands,
        the prompts and the speech engines use with this set."""
        if self.language_override is not None:
            return self.language_override
        return language(self.language)

    def normalizer(self) -> Normalizer:
        merged = {
            key: (*self.synonyms.get(key, ()), *self.heard_as.get(key, ()))
            for key in {**self.synonyms, **self.heard_as}
        }
        return Normalizer(merged, self.fillers, self.language_data)


def _word_count(text: str) -> int:
    return len(text.split())


def _entry_files(directory: Path) -> list[Path]:
    return sorted(path for path in directory.glob("*.yaml") if path.name not in (SET_FILE, HEARD_FILE))


def _iter_entries(doc: Document, check: Checker) -> Iterator[tuple[YamlPath, dict[str, Any]]]:
    data = check.mapping(doc, doc.data, (), "an entries file")
    raw = data.get("entries")
    if not isinstance(raw, list):
        check.problems.append(doc.problem((), "needs a top-level 'entries:' list"))
        return
    for index, item in enumerate(raw):
        path: YamlPath = ("entries", index)
        yield path, check.mapping(doc, item, path, f"entry {index + 1}")


def load_set(directory: str | Path) -> FaqSet:
    """Load and validate the answers set in `directory`; raise AnswersFormatError if invalid."""
    faq_set, problems = check_set(directory)
    if problems or faq_set is None:
        raise AnswersFormatError(problems)
    return faq_set


def check_set(directory: str | Path) -> tuple[FaqSet | None, list[Problem]]:
    """Validate the answers set in `directory`: the set (None if unusable) and its problems."""
    directory = Path(directory)
    problems: list[Problem] = []
    set_path = directory / SET_FILE
    if not directory.is_dir():
        return None, [
            Problem(
                directory,
                0,
                "no such directory; pass the folder that holds "
                f"{SET_FILE} (for example answers/ms-physical-therapy)",
            )
        ]
    if not set_path.is_file():
        return None, [
            Problem(
                set_path, 0, f"missing; every answers set needs a {SET_FILE} (see docs/answers-format.md)"
            )
        ]
    check = Checker(problems)
    set_doc = read_yaml(set_path, problems)
    if set_doc is None:
        return None, problems
    meta = check.mapping(set_doc, set_doc.data, (), SET_FILE)
    language_code, words = _read_language(set_doc, meta, check)
    source_raw = check.mapping(set_doc, meta.get("source", {}), ("source",), "'source'")
    source = Source(
        title=check.text(set_doc, source_raw, ("source",), "title") or "",
        author=check.text(set_doc, source_raw, ("source",), "author") or "",
        last_reviewed=check.text(set_doc, source_raw, ("source",), "last_reviewed") or "",
        sections=check.texts(set_doc, source_raw, ("source",), "sections", minimum=1),
    )
    synonyms = read_word_map(set_doc, meta, check, "synonyms")
    heard_as = read_heard(directory / HEARD_FILE, check)
    emergencies = _read_emergencies(set_doc, meta, check)
    matching = _read_matching(set_doc, meta, check)
    limits = check.mapping(set_doc, meta.get("limits", {}), ("limits",), "'limits'")
    answer_words = int(limits.get("answer_words", DEFAULT_ANSWER_WORDS))
    details_words = int(limits.get("details_words", DEFAULT_DETAILS_WORDS))

    files = _entry_files(directory)
    if not files:
        problems.append(
            Problem(
                directory,
                0,
                "no entry files; add entries.yaml with an 'entries:' list (see docs/answers-format.md)",
            )
        )
    entries: list[Entry] = []
    untitled: set[str] = set()  # ids of the entries the set gives no topic
    for file in files:
        doc = read_yaml(file, problems)
        if doc is None:
            continue
        for path, raw in _iter_entries(doc, check):
            entry = _read_entry(doc, path, raw, check, source.sections, answer_words, details_words)
            if entry is not None:
                entries.append(entry)
                if raw.get("topic") is None:
                    untitled.add(entry.id)

    normalizer = Normalizer(synonyms, check.texts(set_doc, meta, (), "fillers"), words or DEFAULT_LANGUAGE)
    check_across_entries(entries, normalizer, problems)
    warnings = check_topics(entries, untitled, normalizer, problems)
    set_id = check.text(set_doc, meta, (), "id")
    if set_id is not None and not _ID.match(set_id):
        problems.append(
            set_doc.problem(("id",), f"set id '{set_id}' must be lowercase words joined by hyphens")
        )
    faq_set = FaqSet(
        id=set_id or directory.name,
        title=check.text(set_doc, meta, (), "title") or "",
        directory=directory,
        source=source,
        disclaimer=check.text(set_doc, meta, (), "disclaimer") or "",
        fallback=check.text(set_doc, meta, (), "fallback") or "",
        emergencies=emergencies,
        entries=tuple(entries),
        synonyms=synonyms,
        fillers=check.texts(set_doc, meta, (), "fillers"),
        matching=matching,
        speech_prompt=check.text(set_doc, meta, (), "speech_prompt", required=False),
        language=language_code,
        warnings=tuple(warnings),
        heard_as=heard_as,
    )
    return faq_set, problems


def _read_language(doc: Document, meta: dict[str, Any], check: Checker) -> tuple[str, Language | None]:
    """The code of the set's language and its data (the default language when set.yaml
    names none); None for the data when voicefaq has none for the language named."""
    code = check.text(doc, meta, (), "language", required=False)
    if code is None:  # not named, or not text (a problem says so)
        return DEFAULT_CODE, DEFAULT_LANGUAGE if meta.get("language") is None else None
    try:
        found = language(code)
    except UnknownLanguageError as exc:
        check.problems.append(
            doc.problem(
                ("language",),
                f"{exc}; write the set in one of those and name it in 'language:', or add the words of "
                f"'{code}' as voice/lang/{code}.py (like voice/lang/en.py) and register it",
            )
        )
        return code, None
    return found.code, found


def _read_emergencies(doc: Document, meta: dict[str, Any], check: Checker) -> tuple[Emergency, ...]:
    raw = meta.get("emergencies")
    if not isinstance(raw, list) or not raw:
        check.problems.append(
            doc.problem(
                ("emergencies",),
                "'emergencies' must list at least one emergency with an id, what to say, and its triggers",
            )
        )
        return ()
    emergencies: list[Emergency] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        path: YamlPath = ("emergencies", index)
        mapping = check.mapping(doc, item, path, f"emergency {index + 1}")
        emergency_id = check.text(doc, mapping, path, "id")
        say = check.text(doc, mapping, path, "say")
        triggers = check.texts(doc, mapping, path, "triggers", minimum=1)
        for number, trigger in enumerate(triggers):
            _, groups, vetoes = trigger_parts(trigger)
            if any(
                not alternative.strip() for alternatives in (*groups, vetoes) for alternative in alternatives
            ):
                check.problems.append(
                    doc.problem((*path, "triggers", number), f"trigger '{trigger}' has an empty alternative")
                )
        if emergency_id in seen:
            check.problems.append(doc.problem((*path, "id"), f"emergency id '{emergency_id}' is used twice"))
        if emergency_id and say and triggers:
            seen.add(emergency_id)
            emergencies.append(Emergency(emergency_id, say, triggers))
    return tuple(emergencies)


def _read_matching(doc: Document, meta: dict[str, Any], check: Checker) -> dict[str, float]:
    raw = check.mapping(doc, meta.get("matching", {}), ("matching",), "'matching'")
    known = MatcherConfig.field_names()
    matching: dict[str, float] = {}
    for key, value in raw.items():
        if key not in known:
            check.problems.append(
                doc.problem(
                    ("matching", key), f"unknown matching setting '{key}'; known: {', '.join(sorted(known))}"
                )
            )
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            check.problems.append(doc.problem(("matching", key), f"'{key}' must be a number"))
        else:
            matching[key] = float(value)
    return matching


def _read_entry(
    doc: Document,
    path: YamlPath,
    raw: dict[str, Any],
    check: Checker,
    sections: tuple[str, ...],
    answer_words: int,
    details_words: int,
) -> Entry | None:
    before = len(check.problems)
    entry_id = check.text(doc, raw, path, "id")
    if entry_id is not None and not _ID.match(entry_id):
        check.problems.append(
            doc.problem(
                (*path, "id"),
                f"id '{entry_id}' must be lowercase words joined by hyphens, like 'blood-clots'",
            )
        )
    label = f"entry '{entry_id}'" if entry_id else "this entry"
    question = check.text(doc, raw, path, "question")
    topic = check.text(doc, raw, path, "topic", required=False)
    section = check.text(doc, raw, path, "section")
    answer = check.text(doc, raw, path, "answer")
    details = check.text(doc, raw, path, "details", required=False)
    phrasings = check.texts(doc, raw, path, "phrasings", minimum=MIN_PHRASINGS)
    keywords = check.texts(doc, raw, path, "keywords", minimum=1)
    related = check.texts(doc, raw, path, "related")
    narrower = check.texts(doc, raw, path, "narrower")
    enrol = check.text(doc, raw, path, "enrol", required=False)
    unknown = sorted(set(raw) - _ENTRY_KEYS)
    if unknown:
        check.problems.append(doc.problem(path, f"{label} has unknown keys: {', '.join(unknown)}"))
    if section is not None and sections and section not in sections:
        check.problems.append(
            doc.problem(
                (*path, "section"),
                f"{label}: section '{section}' is not one of the source sections listed in set.yaml",
            )
        )
    if question is not None and _word_count(question) > MAX_QUESTION_WORDS:
        check.problems.append(
            doc.problem(
                (*path, "question"),
                f"{label}: question has "
                f"{_word_count(question)} words; keep it under "
                f"{MAX_QUESTION_WORDS} so it can be read in a confirmation",
            )
        )
    if topic is not None and _word_count(topic) > MAX_TOPIC_WORDS:
        check.problems.append(
            doc.problem(
                (*path, "topic"),
                f"{label}: topic has {_word_count(topic)} words; keep it to {MAX_TOPIC_WORDS} or fewer "
                "(a short name a person could say back, like 'walking aids')",
            )
        )
    if answer is not None and _word_count(answer) > answer_words:
        check.problems.append(
            doc.problem(
                (*path, "answer"),
                f"{label}: answer has "
                f"{_word_count(answer)} words, too long to speak; keep it "
                f"to {answer_words} and move the rest to 'details'",
            )
        )
    if details is not None and _word_count(details) > details_words:
        check.problems.append(
            doc.problem(
                (*path, "details"),
                f"{label}: details have {_word_count(details)} words; the limit is {details_words}",
            )
        )
    if len(check.problems) > before or None in (entry_id, question, section, answer):
        return None
    assert entry_id and question and section and answer
    named = (question, topic or question_as_topic(question), section)
    return Entry(
        entry_id,
        *named,
        answer,
        details,
        phrasings,
        keywords,
        related,
        doc.file,
        doc.line(path),
        narrower,
        enrol,
    )


def question_as_topic(question: str) -> str:
    """ "Should I use a cane?" -> "should I use a cane", to follow "Do you mean"."""
    topic = question.rstrip("?.! ")
    return topic[0].lower() + topic[1:] if topic[1:2].islower() else topic
