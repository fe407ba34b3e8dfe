"""A typed question as clean text: the one check every front end applies before matching."""

from __future__ import annotations

import unicodedata

from voice.errors import InputTextError

MAX_QUESTION_CHARS = 10_000
"""Characters of one typed question (the CLI, the kiosk API's default limit)."""


def question_text(raw: str | bytes, limit: int = MAX_QUESTION_CHARS) -> str:
    """The question as clean text, or InputTextError saying what is wrong with it."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputTextError(
                f"the question is not UTF-8 text (bad byte at position {exc.start}); send UTF-8"
            ) from None
    if len(raw) > limit:  # before any work on it
        raise InputTextError(f"the question is {len(raw):,} characters long; the limit is {limit:,}")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError as exc:  # argv bytes Python could not decode
        raise InputTextError(
            f"the question is not UTF-8 text (bad character at position {exc.start}); send UTF-8"
        ) from None
    text = " ".join(_visible(raw).split())
    if not text:
        raise InputTextError("the question is empty; say or type a question")
    return text


_INVISIBLE = {"Cc": " ", "Cf": ""}
"""Control characters (NUL, tabs) read as spaces; format characters (zero-width spaces,
direction marks) as nothing, since they may sit inside a word ("roll\u200bator")."""


def _visible(text: str) -> str:
    """The question without invisible characters: one made only of them is empty, not a
    question to answer and keep for review."""
    return "".join(_INVISIBLE.get(unicodedata.category(char), char) for char in text)
