"""Languages as data (voice/lang): the registry, rejecting a set in a language without
data, English driving the code as before, and a language's words really being used."""

from __future__ import annotations

import ast
import dataclasses
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ENTRIES, SET_YAML, write_set
from voice.cli import main
from voice.conversation.commands import Reply, command_phrases, parse_command, parse_reply, split_wake
from voice.conversation.dialogue import Dialogue, DialogueConfig
from voice.conversation.events import CommandName, Heard, Mode, Role, Show, Speak, Started
from voice.core.faq import FaqSet, check_set, load_set
from voice.core.matcher import Matcher
from voice.core.normalize import Normalizer, words
from voice.errors import AnswersFormatError, VoiceError
from voice.lang import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Language,
    UnknownLanguageError,
    available,
    language,
    register,
    unregister,
)
from voice.lang.en import ENGLISH

LANG_DIR = Path(__file__).resolve().parents[1] / "voice" / "lang"

# The registry.


@pytest.mark.parametrize(("code", "expected"), [("en", ENGLISH), ("EN", ENGLISH), (" en ", ENGLISH)])
def test_language_finds_shipped_data(code: str, expected: Language) -> None:
    assert language(code) is expected


def test_registry_lists_what_ships() -> None:
    assert available() == ("en",)
    assert dict(LANGUAGES) == {"en": ENGLISH}
    assert DEFAULT_LANGUAGE is ENGLISH
    with pytest.raises(TypeError):
        LANGUAGES["xx"] = ENGLISH  # type: ignore[index]


@pytest.mark.parametrize("code", ["fr", "de", "en-us", "english", "xx"])
def test_unknown_language_names_the_code_and_the_shipped_ones(code: str) -> None:
    with pytest.raises(UnknownLanguageError) as caught:
        language(code)
    assert str(caught.value) == f"language {code!r} has no language data in voicefaq (shipped: en)"
    assert isinstance(caught.value, VoiceError) and isinstance(caught.value, LookupError)
    assert caught.value.code == code
    copy = pickle.loads(pickle.dumps(caught.value))  # crosses to the speech engine's child process
    assert (type(copy), copy.code, str(copy)) == (UnknownLanguageError, code, str(caught.value))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"code": ""}, "a language code"),
        ({"code": "EN"}, "a language code"),
        ({"wake_phrase": " "}, "needs a wake phrase"),
        ({"voices": ()}, "needs at least one voice"),
    ],
)
def test_language_rejects_incomplete_data(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(ENGLISH, **change)  # type: ignore[arg-type]


def test_register_refuses_a_second_language_with_the_same_code() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register(dataclasses.replace(ENGLISH))
    assert register(ENGLISH) is ENGLISH  # the same object again is harmless


def test_language_data_is_read_only() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ENGLISH.wake_phrase = "hello"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ENGLISH.commands["stop"] = ("halt",)  # type: ignore[index]
    with pytest.raises(TypeError):
        ENGLISH.prompts.adjustments["slower"] = ENGLISH.prompts.adjustments["faster"]  # type: ignore[index]


def test_english_covers_every_command_reply_mode_and_adjustment() -> None:
    assert set(ENGLISH.commands) == {str(name) for name in CommandName}
    assert set(ENGLISH.replies) == {str(name) for name in Reply}
    assert set(ENGLISH.prompts.how_to_ask) == {str(mode) for mode in Mode}
    assert set(ENGLISH.prompts.adjustments) == {"slower", "faster", "louder", "softer", "voice"}


@pytest.mark.parametrize("path", sorted(LANG_DIR.glob("*.py")), ids=lambda path: path.name)
def test_language_modules_import_only_the_standard_library_and_voice_errors(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or name in (
                "voice.errors",
                "voice.lang",
                "voice.lang.en",
            ), name


# Answers sets in a language without data.


@pytest.fixture
def french_set(tmp_path: Path) -> Path:
    return write_set(tmp_path / "french", {**SET_YAML, "language": "fr"})


def _line(directory: Path) -> int:
    """The line of set.yaml that names the language."""
    lines = (directory / "set.yaml").read_text().splitlines()
    return next(number for number, line in enumerate(lines, start=1) if line.startswith("language:"))


def test_check_set_reports_a_language_without_data(french_set: Path) -> None:
    faq_set, problems = check_set(french_set)
    assert faq_set is not None and faq_set.language == "fr"
    [problem] = problems
    assert (problem.file, problem.line) == (french_set / "set.yaml", _line(french_set))
    assert problem.message.startswith("language 'fr' has no language data in voicefaq (shipped: en); ")
    assert "voice/lang/fr.py" in problem.message


def test_load_set_refuses_a_language_without_data(french_set: Path) -> None:
    with pytest.raises(AnswersFormatError) as caught:
        load_set(french_set)
    assert f"set.yaml:{_line(french_set)}: language 'fr' has no language data in voicefaq" in str(
        caught.value
    )


def test_voicefaq_check_refuses_a_language_without_data(
    french_set: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(french_set)]) == 1
    err = capsys.readouterr().err
    where = f"{french_set / 'set.yaml'}:{_line(french_set)}"
    assert f"{where}: language 'fr' has no language data in voicefaq (shipped: en);" in err
    assert "1 problem" in err


@pytest.mark.parametrize(("named", "code"), [(None, "en"), ("en", "en"), ("EN", "en")])
def test_sets_in_english_load(tmp_path: Path, named: str | None, code: str) -> None:
    set_yaml = {**SET_YAML, **({"language": named} if named else {})}
    faq_set = load_set(write_set(tmp_path / "set", set_yaml))
    assert (faq_set.language, faq_set.language_data) == (code, ENGLISH)


# English drives the code exactly as the constants did.


@pytest.mark.parametrize(
    "text",
    ["Um, I can't walk twenty one steps", "what's a rollator, nine oh one", "Could you tell me about FES?"],
)
def test_english_is_the_default_everywhere(text: str) -> None:
    assert words(text) == words(text, ENGLISH)
    assert Normalizer().analyse(text) == Normalizer(language=ENGLISH).analyse(text)
    assert parse_command(text) is parse_command(text, ENGLISH)
    assert (
        split_wake(f"hey helper {text}")
        == split_wake(f"hey helper {text}", None, ENGLISH)
        == text.rstrip("?")
    )


def test_the_bundled_set_is_english() -> None:
    from voice.core.config import default_answers_dir

    faq_set = load_set(default_answers_dir())
    assert faq_set.language_data is ENGLISH
    assert Matcher(faq_set).normalizer.language is ENGLISH


# A language's own words are the ones used.

TEST_LANGUAGE = dataclasses.replace(
    ENGLISH,
    code="xx",
    name="Test",
    commands={**ENGLISH.commands, "stop": ("halt", "cease")},
    replies={**ENGLISH.replies, "thanks": ("much obliged",)},
    wake_phrase="ok robot",
    wake_greetings=frozenset({"ok", "okay"}),
    fillers=("erm",),
    prompts=dataclasses.replace(ENGLISH.prompts, stopped="Halted", welcome="Not at all."),
)


@pytest.fixture
def test_language() -> Iterator[Language]:
    register(TEST_LANGUAGE)
    yield TEST_LANGUAGE
    unregister(TEST_LANGUAGE.code)


@pytest.mark.parametrize(
    ("text", "in_english", "in_test_language"),
    [
        ("halt", None, CommandName.STOP),
        ("please cease", None, CommandName.STOP),
        ("stop", CommandName.STOP, None),
        ("repeat", CommandName.REPEAT, CommandName.REPEAT),
    ],
)
def test_commands_come_from_the_language(
    text: str, in_english: CommandName | None, in_test_language: CommandName | None
) -> None:
    assert parse_command(text) is in_english
    assert parse_command(text, TEST_LANGUAGE) is in_test_language


def test_wake_phrase_replies_and_phrases_come_from_the_language() -> None:
    assert split_wake("ok robot where is the gym", language=TEST_LANGUAGE) == "where is the gym"
    assert split_wake("hey helper where is the gym", language=TEST_LANGUAGE) is None
    assert split_wake("ok robot where is the gym") is None
    assert parse_reply("much obliged", TEST_LANGUAGE) is Reply.THANKS
    assert parse_reply("much obliged") is None
    phrases = command_phrases(TEST_LANGUAGE)
    assert (
        "halt" in phrases and "ok robot" in phrases and "stop" not in phrases and "hey helper" not in phrases
    )


def test_a_set_in_a_registered_language_uses_its_words(tmp_path: Path, test_language: Language) -> None:
    faq_set: FaqSet = load_set(write_set(tmp_path / "xx", {**SET_YAML, "language": "xx"}, ENTRIES))
    assert faq_set.language_data is test_language
    matcher = Matcher(faq_set)
    assert matcher.normalizer.language is test_language
    assert matcher.normalizer.words("um erm walker") == ["um", "walker"]  # its fillers, not English's

    dialogue = Dialogue(faq_set, matcher, DialogueConfig(mode=Mode.WAKE_PHRASE))
    greeting = next(a for a in dialogue.handle(Started(0.0)) if isinstance(a, Speak))
    assert "Say 'ok robot' before each question." in greeting.text
    assert dialogue.wake_phrase == "ok robot"
    assert Show(Role.STATUS, "Halted") in dialogue.handle(Heard("ok robot halt", 1.0))
    said = [a.text for a in dialogue.handle(Heard("ok robot much obliged", 2.0)) if isinstance(a, Speak)]
    assert said == ["Not at all."]
    # English's command is no command here: a question the set cannot answer.
    assert Show(Role.STATUS, "Halted") not in dialogue.handle(Heard("ok robot stop", 3.0))
