import io

import pytest

from voice.conversation.events import Role, SpeechKind
from voice.terminal.captions import Board, Captions, CaptionStyle, Line, Look, caption_lines, draw, layout

K = SpeechKind
ANSWER = "Yes. Your physical therapist can help you choose a walking aid."
FOLLOW_UP = "To hear more about this, say 'more'. You can also ask: Could a scooter help me?"
DETAILS = "Mobility aids include a cane, a forearm crutch and a rollator."
CONFIRM = "Do you mean pain from crutches?"
FALLBACK = "I'm not sure about that one, so I won't guess."
EMERGENCY = "This sounds like an emergency. Call 911 now."


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


# What the assistant says, in order -> (main caption, its details, the line below it).
@pytest.mark.parametrize(
    ("said", "main", "details", "below"),
    [
        pytest.param([], "", "", "", id="nothing yet"),
        pytest.param([(K.NOTICE, "Hello.")], "", "", "Hello.", id="a greeting: no answer to keep"),
        pytest.param([(K.ANSWER, ANSWER)], ANSWER, "", "", id="an answer"),
        pytest.param(
            [(K.ANSWER, ANSWER), (K.FOLLOW_UP, FOLLOW_UP)], ANSWER, "", FOLLOW_UP, id="its follow-up"
        ),
        pytest.param(
            [(K.ANSWER, ANSWER), (K.FOLLOW_UP, FOLLOW_UP), (K.NOTICE, "You're welcome.")],
            ANSWER,
            "",
            "You're welcome.",
            id="an acknowledgement replaces the follow-up, not the answer",
        ),
        pytest.param(
            [(K.ANSWER, ANSWER), (K.HELP, "You can ask: A? B?")],
            ANSWER,
            "",
            "You can ask: A? B?",
            id="topics",
        ),
        pytest.param(
            [(K.ANSWER, ANSWER), (K.FOLLOW_UP, FOLLOW_UP), (K.DETAILS, DETAILS)],
            ANSWER,
            DETAILS,
            "",
            id="more: the details follow the answer",
        ),
        pytest.param(
            [(K.ANSWER, ANSWER), (K.DETAILS, DETAILS), (K.DETAILS, DETAILS)],
            ANSWER,
            DETAILS,
            "",
            id="more, repeated: shown once",
        ),
        pytest.param(
            [(K.CONFIRM, CONFIRM), (K.DETAILS, DETAILS)], DETAILS, "", "", id="details of no answer"
        ),
        pytest.param(
            [(K.ANSWER, ANSWER), (K.FOLLOW_UP, FOLLOW_UP), (K.ANSWER, ANSWER)],
            ANSWER,
            "",
            "",
            id="repeat: the answer again, alone",
        ),
        pytest.param(
            [(K.ANSWER, ANSWER), (K.CONFIRM, CONFIRM)], CONFIRM, "", "", id="a confirmation replaces it"
        ),
        pytest.param(
            [(K.ANSWER, ANSWER), (K.FALLBACK, FALLBACK)], FALLBACK, "", "", id="a fallback replaces it"
        ),
        pytest.param(
            [(K.ANSWER, ANSWER), (K.FOLLOW_UP, FOLLOW_UP), (K.EMERGENCY, EMERGENCY)],
            EMERGENCY,
            "",
            "",
            id="an emergency replaces answer and follow-up",
        ),
        pytest.param(
            [(K.CONFIRM, CONFIRM), (K.NOTICE, "Which one: the first, or the second?")],
            CONFIRM,
            "",
            "Which one: the first, or the second?",
            id="which one: the question stays",
        ),
        pytest.param(
            [(K.ANSWER, ANSWER), (K.DETAILS, DETAILS), (K.ANSWER, "Another answer.")],
            "Another answer.",
            "",
            "",
            id="a new answer drops the old details",
        ),
    ],
)
def test_the_answer_stays_until_an_answer_a_question_a_fallback_or_an_emergency(
    said: list[tuple[SpeechKind, str]], main: str, details: str, below: str
) -> None:
    board = Board()
    for kind, text in said:
        board = board.spoken(kind, text)
    assert (board.main, board.details, board.prompt) == (main, details, below)


@pytest.mark.parametrize(
    ("shown", "person", "status"),
    [
        (
            [(Role.STATUS, "Not medical advice."), (Role.STATUS, "Ask a question")],
            "",
            ("Not medical advice.", "Ask a question"),
        ),
        ([(Role.STATUS, "a"), (Role.STATUS, "b"), (Role.STATUS, "c")], "", ("b", "c")),
        ([(Role.STATUS, "Ask a question"), (Role.PERSON, "stop")], "stop", ()),
        ([(Role.PERSON, "stop"), (Role.STATUS, "Stopped")], "stop", ("Stopped",)),
    ],
)
def test_what_the_person_said_and_the_status(
    shown: list[tuple[Role, str]], person: str, status: tuple[str, ...]
) -> None:
    board = Board().spoken(K.ANSWER, ANSWER).spoken(K.FOLLOW_UP, FOLLOW_UP)
    for role, text in shown:
        board = board.shown(role, text)
    assert (board.person, board.status) == (person, status)
    assert (board.main, board.prompt) == (ANSWER, FOLLOW_UP), "neither replaces the answer"


@pytest.mark.parametrize(
    ("last", "kept"),
    [((K.GOODBYE, "Goodbye. Take care."), "Goodbye. Take care."), ((K.FOLLOW_UP, FOLLOW_UP), "")],
)
def test_a_reset_forgets_the_board_but_the_goodbye(last: tuple[SpeechKind, str], kept: str) -> None:
    board = Board().shown(Role.PERSON, "goodbye").spoken(K.ANSWER, ANSWER).spoken(*last).reset()
    assert (board.main, board.person, board.prompt) == ("", "", kept)


def _texts(lines: list[Line], large: bool) -> str:
    return " ".join(line.text for line in lines if line.large is large and line.text)


def test_the_answer_is_large_and_the_follow_up_below_it_smaller() -> None:
    board = (
        Board()
        .shown(Role.PERSON, "what is a rollator")
        .spoken(K.ANSWER, ANSWER)
        .spoken(K.FOLLOW_UP, FOLLOW_UP)
    )
    lines = layout(board, 80, 40)
    assert _texts(lines, large=True) == f"You said: what is a rollator Assistant: {ANSWER}"
    assert _texts(lines, large=False) == FOLLOW_UP
    first_small = next(i for i, line in enumerate(lines) if line.text and not line.large)
    assert lines[first_small - 2].text.endswith("walking aid."), "the follow-up is below the answer"
    assert {line.look for line in lines if line.text and line.text in FOLLOW_UP} == {Look.BOLD}
    assert all(len(line.text) <= 39 for line in lines if line.large), "double width: half the columns"


def test_with_no_answer_to_keep_what_is_said_is_large() -> None:
    lines = layout(Board().spoken(K.NOTICE, "Hello. Ask me a question."), 80, 24)
    assert lines == [Line("Assistant: Hello. Ask me a question.", True, Look.BOLD)]


def test_an_emergency_takes_the_whole_caption_unmistakably() -> None:
    board = Board().spoken(K.ANSWER, ANSWER).spoken(K.FOLLOW_UP, FOLLOW_UP).shown(Role.PERSON, "I fell")
    lines = layout(board.spoken(K.EMERGENCY, EMERGENCY), 80, 24)
    alarm = [line for line in lines if line.look is Look.ALARM]
    assert " ".join(line.text for line in alarm) == f"EMERGENCY: {EMERGENCY}"
    assert all(line.large for line in alarm)
    assert ANSWER[:20] not in _texts(lines, True) and _texts(lines, False) == ""


@pytest.mark.parametrize(
    ("rows", "kept"),
    [
        (24, ["You said", "Assistant", "To hear more", "(Not medical", "(Stopped)"]),
        (20, ["You said", "Assistant", "To hear more", "(Stopped)"]),
        (17, ["You said", "Assistant", "To hear more"]),
        (12, ["Assistant", "To hear more"]),
        (10, ["Assistant"]),
        (4, ["Assistant"]),  # the answer itself is never dropped
    ],
)
def test_on_a_short_screen_the_answer_is_kept_first(rows: int, kept: list[str]) -> None:
    board = (
        Board()
        .shown(Role.PERSON, "can you help me choose a walking aid")
        .spoken(K.ANSWER, ANSWER * 2)
        .spoken(K.FOLLOW_UP, FOLLOW_UP)
        .shown(Role.STATUS, "Not medical advice.")
        .shown(Role.STATUS, "Stopped")
    )
    lines = layout(board, 80, rows)
    blocks = [line.text for i, line in enumerate(lines) if line.text and (i == 0 or not lines[i - 1].text)]
    assert len(blocks) == len(kept) and all(map(str.startswith, blocks, kept)), blocks
    if rows > 8:
        assert sum(line.rows for line in lines) < rows, "the last newline must not scroll the screen"


def test_the_board_is_drawn_in_place() -> None:
    drawn = draw([Line("Hi", True, Look.BOLD), Line("", False), Line("more", False, Look.NORMAL)])
    assert drawn == (
        "\x1b[H"
        "\x1b#3\x1b[1mHi\x1b[0m\x1b[K\n\x1b#4\x1b[1mHi\x1b[0m\x1b[K\n"
        "\x1b#5\x1b[K\n"
        "\x1b#5more\x1b[K\n"
        "\x1b[J"
    )


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


def test_a_large_terminal_redraws_the_answer_with_its_follow_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("LINES", "40")
    stream = io.StringIO()
    captions = Captions(stream, CaptionStyle.LARGE)
    captions.spoken(K.ANSWER, ANSWER)
    captions.spoken(K.FOLLOW_UP, FOLLOW_UP)
    last = stream.getvalue().rsplit("\x1b[H", 1)[1]
    assert "\x1b#3\x1b[1mAssistant: Yes. Your physical therapist can help" in last
    assert f"\x1b#5\x1b[1m{FOLLOW_UP}\x1b[0m" in last
    captions.reset()
    assert stream.getvalue().rsplit("\x1b[H", 1)[1] == "\x1b[J", "a reset clears the board"


def test_a_transcript_keeps_every_caption_in_order() -> None:
    stream = io.StringIO()
    captions = Captions(stream, CaptionStyle.PLAIN)
    captions.spoken(K.ANSWER, "An answer.")
    captions.spoken(K.FOLLOW_UP, "Say 'more'.")
    captions.reset()
    assert stream.getvalue() == "\nAssistant: An answer.\n\nAssistant: Say 'more'.\n"
