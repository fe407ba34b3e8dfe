"""Captions in the terminal: everything heard and said, as large text.

People with low vision read these from across a room or a wheelchair's distance; some
cannot hear the answer well and read it instead. Two styles:

- **large** (an interactive terminal, or `--captions large`): a caption board redrawn in
  place, as on the kiosk page. The answer stays on screen as the main caption, in DEC
  double-size text (xterm, GNOME Terminal, Konsole; the Linux console ignores it
  harmlessly), while what is said after it (how to hear more, related questions,
  "You're welcome.") is shown below it at normal size, bold. Only a new answer, a
  confirmation question, a fallback or an emergency replaces it; an emergency takes the
  whole caption, in reverse video after "EMERGENCY:".
- **plain** (pipes, logs, `--captions plain`, screen readers): a transcript, one caption
  after another, never redrawn.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
import threading
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TextIO

from voice.conversation.events import Role, SpeechKind

_TOP_HALF, _BOTTOM_HALF, _SINGLE = "\x1b#3", "\x1b#4", "\x1b#5"
_HOME, _ERASE_LINE, _ERASE_BELOW = "\x1b[H", "\x1b[K", "\x1b[J"
_MAX_PLAIN_WIDTH = 100
_MAX_STATUS = 2

LABELS = {Role.PERSON: "You said", Role.ASSISTANT: "Assistant", Role.STATUS: ""}
EMERGENCY_LABEL = "EMERGENCY"

MAIN_KINDS = frozenset({SpeechKind.ANSWER, SpeechKind.CONFIRM, SpeechKind.FALLBACK, SpeechKind.EMERGENCY})
"""What the assistant says that stays as the main caption until the next of these is said.
Details ("more") extend an answer; everything else is shown below the main caption."""


class CaptionStyle(StrEnum):
    LARGE = "large"
    PLAIN = "plain"
    AUTO = "auto"
    """Large on an interactive terminal, plain when the output is a pipe or a file."""


class Look(StrEnum):
    """How one line of the board is drawn."""

    NORMAL = "normal"
    BOLD = "bold"
    ALARM = "alarm"
    """Bold reverse video: an emergency."""


_LOOKS = {Look.NORMAL: ("", ""), Look.BOLD: ("\x1b[1m", "\x1b[0m"), Look.ALARM: ("\x1b[1;7m", "\x1b[0m")}


@dataclass(frozen=True, slots=True)
class Board:
    """What the caption board shows; every caption makes a new Board (pure, no terminal)."""

    main: str = ""
    """The answer, the confirmation question, the fallback or the emergency text; "" for none."""
    main_kind: SpeechKind | None = None
    """One of MAIN_KINDS, or DETAILS for details said with no answer on the board."""
    details: str = ""
    """The longer version ("more") of the answer in `main`, shown after it."""
    prompt: str = ""
    """The last other thing said (follow-ups, topics, acknowledgements): below `main`,
    smaller; in its place, large, while there is no main caption."""
    prompt_kind: SpeechKind | None = None
    person: str = ""
    """What the person said last."""
    status: tuple[str, ...] = ()
    """Status lines since the person last spoke, oldest first (at the start: the set's
    disclaimer, then how to ask)."""

    def spoken(self, kind: SpeechKind, text: str) -> Board:
        """The board once the assistant says `text`."""
        if kind in MAIN_KINDS:
            return replace(self, main=text, main_kind=kind, details="", prompt="", prompt_kind=None)
        if kind is SpeechKind.DETAILS:
            if self.main_kind is SpeechKind.ANSWER:
                return replace(self, details=text, prompt="", prompt_kind=None)
            return replace(self, main=text, main_kind=kind, details="", prompt="", prompt_kind=None)
        return replace(self, prompt=text, prompt_kind=kind)

    def shown(self, role: Role, text: str) -> Board:
        """The board once a caption that is not speech (or not the assistant's) is shown."""
        if role is Role.PERSON:
            return replace(self, person=text, status=())
        if role is Role.STATUS:
            return replace(self, status=(*self.status, text)[-_MAX_STATUS:])
        return self.spoken(SpeechKind.NOTICE, text)

    def reset(self) -> Board:
        """The conversation was forgotten (goodbye, or idle too long): so is the board,
        but for the goodbye being said."""
        if self.prompt_kind is SpeechKind.GOODBYE:
            return Board(prompt=self.prompt, prompt_kind=self.prompt_kind)
        return Board()


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the board, wrapped to fit."""

    text: str
    large: bool
    """Double height and width: two terminal rows, half as many columns."""
    look: Look = Look.NORMAL

    @property
    def rows(self) -> int:
        return 2 if self.large else 1


def _wrap(label: str, text: str, width: int) -> list[str]:
    body = " ".join(text.split())
    return textwrap.wrap(f"{label}: {body}" if label else body, max(20, width)) or [""]


def caption_lines(role: Role, text: str, width: int) -> list[str]:
    """The caption's text wrapped to `width` characters, its label on the first line."""
    return _wrap(LABELS[role], f"({text})" if role is Role.STATUS else text, width)


def layout(board: Board, columns: int, rows: int) -> list[Line]:
    """The board's lines, top to bottom, for a terminal of `columns` x `rows`: what the
    person said, the main caption, what was said after it, the status. The main caption
    is always drawn; where the rest does not fit, the status goes first, then what the
    person said, then what was said after the main caption."""
    wide, narrow = max(20, columns // 2 - 1), max(20, columns - 1)

    def block(label: str, text: str, large: bool, look: Look) -> list[Line]:
        width = wide if large else narrow
        return [Line(line, large, look) for line in _wrap(label, text, width)]

    main: list[Line] = []
    if board.main:
        alarm = board.main_kind is SpeechKind.EMERGENCY
        label = EMERGENCY_LABEL if alarm else LABELS[Role.ASSISTANT]
        main = block(label, board.main, True, Look.ALARM if alarm else Look.BOLD)
        if board.details:
            main += block("", board.details, True, Look.BOLD)
    prompt: list[Line] = []
    if board.prompt:
        prompt = (
            block("", board.prompt, False, Look.BOLD)
            if main
            else block(LABELS[Role.ASSISTANT], board.prompt, True, Look.BOLD)
        )
    person = block(LABELS[Role.PERSON], board.person, True, Look.NORMAL) if board.person else []
    status = [block("", f"({text})", True, Look.NORMAL) for text in board.status]
    # In the order drawn, each with when it is dropped (never, for the main caption).
    parts = [
        (person, len(status)),
        (main, None),
        (prompt, len(status) + 1),
        *((part, i) for i, part in enumerate(status)),
    ]
    blank = Line("", False)
    for dropped in range(len(status) + 3):
        kept = [part for part, drop in parts if part and (drop is None or drop >= dropped)]
        lines = [line for i, part in enumerate(kept) for line in ([blank] if i else []) + part]
        if sum(line.rows for line in lines) < rows:  # the last line's newline needs a row too
            break
    return lines


def draw(lines: list[Line]) -> str:
    """The escape sequences that redraw the board in place, from the top left corner."""
    drawn = [_HOME]
    for line in lines:
        start, end = _LOOKS[line.look]
        halves = (_TOP_HALF, _BOTTOM_HALF) if line.large else (_SINGLE,)
        drawn += [f"{half}{start}{line.text}{end}{_ERASE_LINE}\n" for half in halves]
    drawn.append(_ERASE_BELOW)
    return "".join(drawn)


class Captions:
    """Writes captions to a terminal or stream; safe to call from several threads."""

    def __init__(self, out: TextIO | None = None, style: CaptionStyle = CaptionStyle.AUTO) -> None:
        self._out = out or sys.stdout
        interactive = self._out.isatty() and os.environ.get("TERM", "dumb") != "dumb"
        self.large = style is CaptionStyle.LARGE or (style is CaptionStyle.AUTO and interactive)
        self.board = Board()
        """What the large board shows (kept in plain style too)."""
        self._lock = threading.Lock()

    def show(self, role: Role, text: str) -> None:
        """A caption: what the person said, or a status line."""
        with self._lock:
            self._update(self.board.shown(role, text), role, text)

    def spoken(self, kind: SpeechKind, text: str) -> None:
        """What the assistant says, and why (the Speak action's kind)."""
        with self._lock:
            self._update(self.board.spoken(kind, text), Role.ASSISTANT, text)

    def reset(self) -> None:
        """The conversation was reset: the large board forgets it; a transcript keeps it."""
        with self._lock:
            self.board = self.board.reset()
            if self.large:
                self._write(self._draw())

    def _update(self, board: Board, role: Role, text: str) -> None:
        self.board = board
        if self.large:
            self._write(self._draw())
        else:
            width = min(shutil.get_terminal_size((80, 24)).columns - 1, _MAX_PLAIN_WIDTH)
            self._write("\n" + "\n".join(caption_lines(role, text, width)) + "\n")

    def _draw(self) -> str:
        columns, rows = shutil.get_terminal_size((80, 24))
        return draw(layout(self.board, columns, rows))

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()
