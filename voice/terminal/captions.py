"""Captions in the terminal: everything heard and said, as large plain text.

People with low vision read these from across a room or a wheelchair's distance. On a
terminal that understands DEC double-size lines (xterm, GNOME Terminal, Konsole, the
Linux console ignores them harmlessly) each caption line is printed at double height
and width; elsewhere (pipes, logs, `--captions plain`) it is plain wrapped text.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
import threading
from enum import StrEnum
from typing import TextIO

from voice.conversation.events import Role

_TOP_HALF, _BOTTOM_HALF = "\x1b#3", "\x1b#4"
_BOLD, _RESET = "\x1b[1m", "\x1b[0m"
_MAX_PLAIN_WIDTH = 100

LABELS = {Role.PERSON: "You said", Role.ASSISTANT: "Assistant", Role.STATUS: ""}


class CaptionStyle(StrEnum):
    LARGE = "large"
    PLAIN = "plain"
    AUTO = "auto"
    """Large on an interactive terminal, plain when the output is a pipe or a file."""


def caption_lines(role: Role, text: str, width: int) -> list[str]:
    """The caption's text wrapped to `width` characters, its label on the first line."""
    label = LABELS[role]
    body = " ".join(text.split())
    if role is Role.STATUS:
        body = f"({body})"
    wrapped = textwrap.wrap(f"{label}: {body}" if label else body, max(20, width)) or [""]
    return wrapped


def large(lines: list[str], bold: bool) -> str:
    """DEC double-height, double-width rendering: every line is drawn as a top and a bottom half."""
    start, end = (_BOLD, _RESET) if bold else ("", "")
    return "".join(f"{half}{start}{line}{end}\n" for line in lines for half in (_TOP_HALF, _BOTTOM_HALF))


class Captions:
    """Writes captions to a terminal or stream; safe to call from several threads."""

    def __init__(self, out: TextIO | None = None, style: CaptionStyle = CaptionStyle.AUTO) -> None:
        self._out = out or sys.stdout
        interactive = self._out.isatty() and os.environ.get("TERM", "dumb") != "dumb"
        self.large = style is CaptionStyle.LARGE or (style is CaptionStyle.AUTO and interactive)
        self._lock = threading.Lock()

    def _width(self) -> int:
        columns = shutil.get_terminal_size((80, 24)).columns
        # Double-width characters take two columns each.
        return columns // 2 - 1 if self.large else min(columns - 1, _MAX_PLAIN_WIDTH)

    def show(self, role: Role, text: str) -> None:
        lines = caption_lines(role, text, self._width())
        rendered = large(lines, bold=role is Role.ASSISTANT) if self.large else "\n".join(lines) + "\n"
        with self._lock:
            self._out.write("\n" + rendered)
            self._out.flush()
