"""The staff review log: questions the assistant could not answer with confidence.

Questions that ended in fallback or confirm are kept as text only (never audio), so
that staff can add phrasings or entries. One SQLite file in WAL mode: one transaction
per question, readable by `voicefaq review` while the service writes. Grouping puts
different wordings of the same question together, biggest groups first.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rapidfuzz import fuzz, process

from voice.core.matcher import Candidate, Decision, Match
from voice.core.normalize import Normalizer
from voice.errors import VoiceError
from voice.lang import DEFAULT_LANGUAGE, Language

SCHEMA_VERSION = 1
"""PRAGMA user_version of the file; a newer one is refused rather than misread."""
SOURCES = ("typed", "spoken", "listen")
KEPT_DECISIONS = (Decision.FALLBACK, Decision.CONFIRM)
GROUP_SIMILARITY = 80.0
"""rapidfuzz token_set_ratio (0..100) of topic words at which two questions are one group."""
MAX_TRANSCRIPT_CHARS = 2_000
"""Longer questions are stored cut: staff need the gist, not pages."""

_SCHEMA = """
CREATE TABLE review (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    source TEXT NOT NULL,
    transcript TEXT NOT NULL,
    decision TEXT NOT NULL,
    candidates TEXT NOT NULL,
    set_id TEXT NOT NULL
);
CREATE INDEX review_time ON review (time);
"""


class ReviewLogError(VoiceError):
    """The review log file is missing, unreadable or not a review log."""


@dataclass(frozen=True, slots=True)
class ReviewEntry:
    """One question kept for review."""

    id: int
    time: str
    """UTC, ISO 8601 ("2026-05-01T09:30:00.123456+00:00")."""
    source: str
    """"typed", "spoken" (an uploaded recording) or "listen" (the kiosk's microphone)."""
    transcript: str
    """What was typed or heard."""
    decision: str
    """"fallback" or "confirm"."""
    candidates: tuple[Candidate, ...]
    """The best entries the matcher found, best first."""
    set_id: str


@dataclass(frozen=True, slots=True)
class ReviewGroup:
    """Similar questions, for staff to answer with one new phrasing or entry."""

    representative: str
    """The most frequent wording (the earliest among equals)."""
    wordings: tuple[str, ...]
    """The other distinct wordings, most frequent first."""
    entries: tuple[ReviewEntry, ...]
    candidates: tuple[Candidate, ...]
    """Entries the matcher came closest to over the group, by best score."""

    @property
    def count(self) -> int:
        return len(self.entries)

    def to_dict(self) -> dict[str, object]:
        return {
            "count": self.count,
            "representative": self.representative,
            "wordings": list(self.wordings),
            "decisions": sorted({entry.decision for entry in self.entries}),
            "first": self.entries[0].time,
            "last": self.entries[-1].time,
            "candidates": [
                {"entry_id": c.entry_id, "question": c.question, "score": c.score} for c in self.candidates
            ],
        }


def default_path() -> Path:
    """$XDG_STATE_HOME/voicefaq/review.sqlite3, else ~/.local/state/voicefaq/review.sqlite3."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "voicefaq" / "review.sqlite3"


class ReviewLog:
    """The log in one SQLite file; one connection shared by threads under a lock."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise ReviewLogError(
                f"no review log at {self.path}; the service writes one there once a question "
                "ends in fallback or confirm (or pass --db PATH)"
            )
        self.read_only = not create
        """Opened to read (`voicefaq review`): nothing is written, not even the journal mode,
        so a log on a read-only disk or backup can be read."""
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._connect(immutable=False)
        except (OSError, sqlite3.Error) as exc:
            raise ReviewLogError(f"cannot open the review log {self.path}: {exc}") from None
        self._lock = threading.Lock()
        self.set_id = ""
        """The answers set questions are asked of, unless add() names one (the service sets it)."""
        try:
            self._prepare(create)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            if self.read_only and _cannot_open(exc):
                # A WAL log on a read-only disk: SQLite cannot make its shared-memory file
                # there. Nobody can write to it either, so reading it as immutable is safe.
                self._open_immutable()
            else:
                raise self._unreadable(exc) from None

    def _connect(self, immutable: bool) -> sqlite3.Connection:
        if not self.read_only:
            # Autocommit mode: every write below is its own explicit transaction.
            return sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        mode = "ro&immutable=1" if immutable else "ro"
        uri = f"{self.path.resolve().as_uri()}?mode={mode}"
        return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)

    def _open_immutable(self) -> None:
        try:
            self._db = self._connect(immutable=True)
            self._prepare(create=False)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise self._unreadable(exc) from None

    def _unreadable(self, exc: sqlite3.DatabaseError) -> ReviewLogError:
        """What to tell staff: a log that cannot be written is not a damaged log."""
        if _read_only_storage(exc):
            return ReviewLogError(
                f"{self.path} cannot be written ({exc}): the disk or file is read-only. The log itself "
                "is fine; give the service a writable place with --review-db PATH, or read this "
                "one with `voicefaq review --db PATH`"
            )
        return ReviewLogError(
            f"{self.path} is not a readable review log ({exc}); move it aside and a new one "
            "is created, or pass another path"
        )

    def _prepare(self, create: bool) -> None:
        db = self._db
        db.execute("PRAGMA busy_timeout = 5000")  # `voicefaq review` and the service share the file
        # WAL: a crash (even SIGKILL) mid-write loses at most the transaction being written,
        # and readers never block the writer. synchronous=NORMAL is durable across a process
        # crash in WAL mode; only a power cut can lose the last few questions, never corrupt
        # the file, which is enough for a review list and spares one fsync per question.
        if not self.read_only:
            if db.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
                raise ReviewLogError(f"{self.path}: SQLite cannot use WAL mode here (a network drive?)")
            db.execute("PRAGMA synchronous = NORMAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ReviewLogError(
                f"{self.path} was written by a newer voicefaq (schema {version}); upgrade voicefaq"
            )
        if version == SCHEMA_VERSION:
            return
        tables = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        if tables:
            raise ReviewLogError(f"{self.path} holds other data, not a voicefaq review log; use another path")
        if not create:
            raise ReviewLogError(f"{self.path} is an empty file, not a review log yet")
        with self._lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def add(
        self, match: Match, transcript: str | None = None, source: str = "typed", set_id: str | None = None
    ) -> bool:
        """Keep `match` when it ended in fallback or confirm; True when it was stored.
        `transcript` defaults to the matched text, `set_id` to the log's `set_id`."""
        if match.decision not in KEPT_DECISIONS:
            return False
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
        text = " ".join((transcript if transcript is not None else match.input).split())
        candidates = [
            {"entry_id": c.entry_id, "question": c.question, "score": round(c.score, 4)}
            for c in match.alternatives
        ]
        row = (
            datetime.now(UTC).isoformat(),
            source,
            text[:MAX_TRANSCRIPT_CHARS],
            match.decision.value,
            json.dumps(candidates, ensure_ascii=False),
            set_id if set_id is not None else self.set_id,
        )
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.execute(
                        "INSERT INTO review (time, source, transcript, decision, candidates, set_id) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        row,
                    )
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise ReviewLogError(f"cannot write to the review log {self.path}: {exc}") from None
        return True

    def entries(self, since: datetime | None = None) -> list[ReviewEntry]:
        """Kept questions, oldest first; only those at or after `since` (UTC if naive)."""
        query = "SELECT id, time, source, transcript, decision, candidates, set_id FROM review"
        params: tuple[str, ...] = ()
        if since is not None:
            since = since if since.tzinfo else since.replace(tzinfo=UTC)
            query += " WHERE time >= ?"
            params = (_in_utc(since, since.isoformat()).isoformat(),)
        try:
            with self._lock:
                rows = self._db.execute(query + " ORDER BY time, id", params).fetchall()
        except sqlite3.Error as exc:
            raise ReviewLogError(f"cannot read the review log {self.path}: {exc}") from None
        return [_entry(row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ReviewLog:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _entry(row: tuple[int, str, str, str, str, str, str]) -> ReviewEntry:
    id_, time, source, transcript, decision, candidates, set_id = row
    try:
        listed = json.loads(candidates)
        found = tuple(Candidate(str(c["entry_id"]), str(c["question"]), float(c["score"])) for c in listed)
    except (ValueError, TypeError, KeyError):
        found = ()  # a hand-edited row: still worth showing its question
    return ReviewEntry(id_, time, source, transcript, decision, found, set_id)


def parse_since(text: str) -> datetime:
    """A date ("2026-05-01") or ISO date and time; naive values are taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ReviewLogError(
            f"cannot read {text!r} as a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM, for example 2026-05-01"
        ) from None
    return _in_utc(moment if moment.tzinfo else moment.replace(tzinfo=UTC), text)


def _in_utc(moment: datetime, text: str) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59-23:59 is past the last moment datetime holds
        raise ReviewLogError(
            f"{text!r} lies outside the dates voicefaq can compare (year 1 to 9999, in UTC); "
            "give a date such as 2026-05-01"
        ) from None


def _primary_code(exc: sqlite3.DatabaseError) -> int:
    """SQLite's primary result code (the extended code's low byte); 0 when none was given."""
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def _cannot_open(exc: sqlite3.DatabaseError) -> bool:
    return _primary_code(exc) == sqlite3.SQLITE_CANTOPEN


def _read_only_storage(exc: sqlite3.DatabaseError) -> bool:
    return _primary_code(exc) in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN)


@functools.lru_cache(maxsize=4)
def _normalizer(language: Language) -> Normalizer:
    return Normalizer(language=language)


def topic(text: str, language: Language = DEFAULT_LANGUAGE) -> str:
    """What a question is about, for grouping: stemmed words without fillers and function
    words of `language` ("um, can I use a walker?" -> "use walker"); all its words when
    none is left."""
    normalizer = _normalizer(language)
    tokens = normalizer.tokens(text)
    return " ".join(normalizer.content(tokens) or tokens)


def group(
    entries: Iterable[ReviewEntry],
    similarity: float = GROUP_SIMILARITY,
    language: Language = DEFAULT_LANGUAGE,
) -> list[ReviewGroup]:
    """Entries grouped by similar wording, largest groups first.

    Greedy: distinct topics (in `language`, the answers set's), most frequent first, each
    joins the first group whose leading topic is at least `similarity` alike
    (token_set_ratio, so added or missing words count little), else starts a group.
    """
    by_topic: dict[str, list[ReviewEntry]] = {}
    for entry in entries:
        by_topic.setdefault(topic(entry.transcript, language), []).append(entry)
    leaders: list[str] = []
    members: list[list[str]] = []
    for key in sorted(by_topic, key=lambda k: (-len(by_topic[k]), by_topic[k][0].id)):
        found = process.extractOne(key, leaders, scorer=fuzz.token_set_ratio, score_cutoff=similarity)
        if key and found is not None:
            members[found[2]].append(key)
        else:
            leaders.append(key)
            members.append([key])
    groups = [_group([entry for key in keys for entry in by_topic[key]]) for keys in members]
    return sorted(groups, key=lambda g: (-g.count, g.entries[0].time))


def _group(entries: list[ReviewEntry]) -> ReviewGroup:
    entries.sort(key=lambda e: (e.time, e.id))
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.transcript] = counts.get(entry.transcript, 0) + 1
    wordings = sorted(counts, key=lambda w: -counts[w])  # stable: earliest first among equals
    best: dict[str, Candidate] = {}
    for entry in entries:
        for candidate in entry.candidates:
            if candidate.entry_id not in best or candidate.score > best[candidate.entry_id].score:
                best[candidate.entry_id] = candidate
    candidates = sorted(best.values(), key=lambda c: -c.score)[:3]
    return ReviewGroup(wordings[0], tuple(wordings[1:]), tuple(entries), tuple(candidates))
