"""Word maps in an answers set: synonyms (set.yaml) and how recognisers mishear the set's
words (heard.yaml, made by `python -m tools.heard_map`). Both map what people say, or what a
recogniser writes, to the word the set uses; they are read and checked the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from voice.core.yamlfile import Checker, Document, read_yaml


def read_word_map(
    doc: Document, meta: dict[str, Any], check: Checker, key: str
) -> dict[str, tuple[str, ...]]:
    """`key:` in `meta`: each canonical word with the phrases that stand for it."""
    raw = check.mapping(doc, meta.get(key, {}), (key,), f"'{key}'")
    mapped: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    for canonical in raw:
        variants = check.texts(doc, raw, (key,), canonical, minimum=1)
        for variant in variants:
            folded = variant.lower()
            if folded in owner and owner[folded] != canonical:
                check.problems.append(
                    doc.problem(
                        (key, canonical),
                        f"'{variant}' is listed under both '{owner[folded]}' and '{canonical}'",
                    )
                )
            owner[folded] = canonical
        mapped[canonical] = variants
    return mapped


def read_heard(path: Path, check: Checker) -> dict[str, tuple[str, ...]]:
    """heard.yaml's `heard_as:` map; empty when the set has no such file."""
    if not path.is_file():
        return {}
    doc = read_yaml(path, check.problems)
    if doc is None:
        return {}
    return read_word_map(doc, check.mapping(doc, doc.data, (), path.name), check, "heard_as")
