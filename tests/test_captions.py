import io

import pytest

from voice.conversation.events import Role
from voice.terminal.captions import Captions, CaptionStyle, caption_lines, large


@pytest.mark.parametrize(
    ("role", "text", "first_line"),
    [
        (Role.PERSON, "how  often should I\nexercise", "You said: how often should I exercise"),
        (Role.ASSISTANT, "Most people benefit.", "Assistant: Most people benefit."),
        (Role.STATUS, "Listening…", "(Listening…)"),
    ],
)
def test_caption_lines_are_labelled(role: Role, text: str, first_line: str) -> None:
    assert caption_lines(role, text, 60)[0] == first_line


def test_long_captions_wrap_to_the_width() -> None:
    lines = caption_lines(Role.ASSISTANT, "word " * 40, 30)
    assert len(lines) > 5 and all(len(line) <= 30 for line in lines)


def test_large_captions_are_double_height() -> None:
    rendered = large(["Hello there"], bold=False)
    assert rendered == "\x1b#3Hello there\n\x1b#4Hello there\n"
    assert "\x1b[1m" in large(["Hello"], bold=True)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "style", "expect_large"),
    [
        (io.StringIO(), CaptionStyle.AUTO, False),  # a pipe or a log: plain text
        (_Terminal(), CaptionStyle.AUTO, True),
        (_Terminal(), CaptionStyle.PLAIN, False),
        (io.StringIO(), CaptionStyle.LARGE, True),
    ],
)
def test_style(
    stream: io.StringIO, style: CaptionStyle, expect_large: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    captions = Captions(stream, style)
    captions.show(Role.PERSON, "is heat bad for me")
    assert ("\x1b#3" in stream.getvalue()) is expect_large
    assert "You said: is heat bad for me" in stream.getvalue()
