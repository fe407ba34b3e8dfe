"""Reading a YAML file so that every problem can name its file and line.

Pure apart from reading the file: `read_yaml` gives a `Document` that remembers the
line of every value, and a `Checker` pulls typed values out of it, collecting a
Problem for each one that is missing or of the wrong kind. voice.core.faq reads
answers sets with them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from voice.errors import Problem

MAX_FILE_BYTES = 2_000_000

YamlPath = tuple[str | int, ...]
"""Keys and list indexes from the document's root to a value."""


class Document:
    """A parsed YAML file that remembers the line of every value."""

    def __init__(self, file: Path, data: Any, lines: dict[YamlPath, int]) -> None:
        self.file = file
        self.data = data
        self.lines = lines

    def line(self, path: YamlPath) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def problem(self, path: YamlPath, message: str) -> Problem:
        return Problem(self.file, self.line(path), message)


# libyaml when PyYAML was built with it: composing is most of the load time.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_scalars = yaml.constructor.SafeConstructor()


MAX_DEPTH = 32
"""Nesting of mappings and lists an answers file may have (it needs four)."""


class _Walk:
    """One walk from a composed YAML node to plain values, refusing what would make a small
    file cost without bound: aliases (nine levels of nine aliases of the same list expand to
    387 million values) and nesting beyond MAX_DEPTH."""

    def __init__(self, file: Path, lines: dict[YamlPath, int], problems: list[Problem]) -> None:
        self.file = file
        self.lines = lines
        self.problems = problems
        self._seen: set[int] = set()

    def plain(self, node: yaml.Node, path: YamlPath) -> Any:
        line = node.start_mark.line + 1
        if id(node) in self._seen:  # composed once, reached again: an alias (*name)
            self.problems.append(
                Problem(
                    self.file,
                    line,
                    "anchors and aliases (&name, *name) are not allowed in answers files; "
                    "write the value out where it is needed",
                )
            )
            return None
        if len(path) > MAX_DEPTH:
            self.problems.append(
                Problem(
                    self.file, line, f"nested more than {MAX_DEPTH} levels deep; an answers file needs a few"
                )
            )
            return None
        self._seen.add(id(node))
        self.lines[path] = line
        if isinstance(node, yaml.MappingNode):
            mapping: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in mapping:
                    self.problems.append(
                        Problem(
                            self.file,
                            key_node.start_mark.line + 1,
                            f"key '{key}' appears twice in the same mapping",
                        )
                    )
                mapping[key] = self.plain(value_node, (*path, key))
            return mapping
        if isinstance(node, yaml.SequenceNode):
            return [self.plain(item, (*path, index)) for index, item in enumerate(node.value)]
        return _scalars.construct_object(node)  # typed scalar: str, int, float, ...


def read_yaml(file: Path, problems: list[Problem]) -> Document | None:
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            problems.append(
                Problem(
                    file,
                    0,
                    f"file is {size:,} bytes; the limit is "
                    f"{MAX_FILE_BYTES:,}. Split it into several entry files.",
                )
            )
            return None
        text = file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(
            Problem(file, 0, f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8")
        )
        return None
    except OSError as exc:
        problems.append(Problem(file, 0, f"cannot read the file: {exc.strerror}"))
        return None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(file, mark.line + 1 if mark else 0, f"not valid YAML: {reason}"))
        return None
    lines: dict[YamlPath, int] = {}
    data = _Walk(file, lines, problems).plain(node, ()) if node is not None else None
    return Document(file, data, lines)


class Checker:
    """Collects problems while pulling typed values out of a document."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems

    def text(
        self, doc: Document, mapping: dict[str, Any], path: YamlPath, key: str, required: bool = True
    ) -> str | None:
        value = mapping.get(key)
        if value is None:
            if required:
                self.problems.append(doc.problem(path, f"'{key}' is missing"))
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.problems.append(doc.problem((*path, key), f"'{key}' must be text"))
            return None
        value = " ".join(value.split())
        if not value:
            self.problems.append(doc.problem((*path, key), f"'{key}' is empty"))
            return None
        return value

    def texts(
        self, doc: Document, mapping: dict[str, Any], path: YamlPath, key: str, minimum: int = 0
    ) -> tuple[str, ...]:
        value = mapping.get(key, [])
        if not isinstance(value, list):
            self.problems.append(doc.problem((*path, key), f"'{key}' must be a list"))
            return ()
        out: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, (str, int, float)) or not str(item).strip():
                self.problems.append(
                    doc.problem((*path, key, index), f"'{key}' item {index + 1} must be non-empty text")
                )
                continue
            out.append(" ".join(str(item).split()))
        if len(out) < minimum:
            self.problems.append(
                doc.problem((*path, key), f"'{key}' needs at least {minimum} items, has {len(out)}")
            )
        return tuple(out)

    def mapping(self, doc: Document, value: Any, path: YamlPath, what: str) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        self.problems.append(doc.problem(path, f"{what} must be a mapping of keys to values"))
        return {}
