"""Enrolment on real audio: a simulated atypical voice (tools.atypical_voice: articulation
changes, slow with pauses between words, tremor, muffled and quiet) says part of the
prompts into files, `voicefaq enrol --recordings` makes a profile of them, and
`voicefaq ask --audio --profile` uses it. What the recogniser writes differs from CPU to
CPU, so nothing here depends on its exact words; tests/test_enrol_replay.py holds the
figures, on recorded transcripts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from tools.atypical_voice import SCANNING, WEAK, render
from voice.assistant import Assistant
from voice.audio.decode import SAMPLE_RATE, Audio
from voice.audio.templates import CommandTemplates, features
from voice.cli import main
from voice.conversation.commands import parse_command
from voice.conversation.events import CommandName
from voice.core.config import default_answers_dir
from voice.core.faq import load_set
from voice.core.personal import enrol_prompts
from voice.lang import DEFAULT_LANGUAGE
from voice.profiles import PersonalRecognizer, load

pytestmark = pytest.mark.whisper

SAID = (
    "command-stop",
    "command-yes",
    "command-first",
    "question-leg-stiffness",
    "question-fatigue",
    "question-afo",
)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("recordings")
    for prompt in enrol_prompts(load_set(default_answers_dir())):
        if prompt.id in SAID:
            sf.write(
                folder / f"{prompt.id}.wav", render(prompt.text, SCANNING), SAMPLE_RATE, subtype="PCM_16"
            )
    # A file that is no audio, named like a prompt: skipped with the reason, not the end.
    (folder / "command-help.wav").write_text("not audio")
    # Silence: nothing was said.
    sf.write(folder / "command-no.flac", np.zeros(SAMPLE_RATE), SAMPLE_RATE)
    return folder


@pytest.fixture(scope="module")
def enrolled(recordings: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    profiles = tmp_path_factory.mktemp("profiles")
    with pytest.MonkeyPatch.context() as patch:
        import io
        import sys

        out, err = io.StringIO(), io.StringIO()
        patch.setattr(sys, "stdout", out)
        patch.setattr(sys, "stderr", err)
        code = main(
            ["enrol", "--profile", "sim", "--recordings", str(recordings), "--profile-dir", str(profiles)]
        )
    assert code == 0, err.getvalue()
    return profiles, out.getvalue(), err.getvalue()


def test_enrol_from_files_keeps_what_was_heard_and_no_audio(enrolled) -> None:
    profiles, out, _ = enrolled
    folder = profiles / "sim"
    assert sorted(path.name for path in folder.iterdir()) == ["commands.npz", "profile.yaml"]
    data = yaml.safe_load((folder / "profile.yaml").read_text(encoding="utf-8"))
    heard = {prompt["id"] for prompt in data["prompts"]}
    assert heard <= set(SAID) and len(heard) >= len(SAID) - 1  # whisper may hear nothing in one
    assert all(isinstance(prompt["heard"], str) for prompt in data["prompts"])
    assert all(0 <= prompt["longest_pause_s"] < 3 for prompt in data["prompts"])
    assert "profile 'sim'" in out and "voicefaq listen --profile sim" in out


def test_missing_and_unusable_recordings_are_skipped_and_listed(enrolled) -> None:
    profiles, _, err = enrolled
    assert "skipped command-help: " in err and "command-help.wav" in err
    assert "skipped command-no: no speech heard" in err
    assert "skipped question-pt-goals: no recording" in err
    assert "Traceback" not in err
    data = yaml.safe_load((profiles / "sim" / "profile.yaml").read_text(encoding="utf-8"))
    assert {"command-help", "command-no", "question-pt-goals"} <= set(data["skipped"])


def test_ask_with_the_profile(enrolled, recordings: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profiles, _, _ = enrolled
    clip = recordings / "question-fatigue.wav"
    assert (
        main(["ask", "--json", "--audio", str(clip), "--profile", "sim", "--profile-dir", str(profiles)]) == 0
    )
    decided = json.loads(capsys.readouterr().out)
    assert decided["decision"] in {"answer", "confirm", "fallback"} and decided["transcript"]


def test_keep_audio_and_delete(recordings: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "enrol",
            "--profile",
            "kept",
            "--recordings",
            str(recordings),
            "--profile-dir",
            str(tmp_path),
            "--keep-audio",
        ]
    )
    assert code == 0
    kept = sorted(path.name for path in (tmp_path / "kept" / "audio").iterdir())
    assert kept and set(kept) <= {f"{name}.wav" for name in SAID}
    assert main(["profile", "delete", "kept", "--profile-dir", str(tmp_path)]) == 0
    assert not (tmp_path / "kept").exists()
    capsys.readouterr()


def test_enrol_with_no_usable_recording_says_how_to_name_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["enrol", "--profile", "empty", "--recordings", str(tmp_path), "--profile-dir", str(tmp_path)])
        == 1
    )
    assert "name each file after its prompt's id" in capsys.readouterr().err
    assert not (tmp_path / "empty").exists()


# ---------------------------------------------------------------- commands by their sound


@pytest.fixture(scope="module")
def weak_commands() -> CommandTemplates:
    """The held-out simulated voice's commands, as enrolment keeps them."""
    heard = {name: features(_said(text, 0)) for name, text in DEFAULT_LANGUAGE.enrolment.commands.items()}
    return CommandTemplates({name: sound for name, sound in heard.items() if sound is not None})


def _said(text: str, take: int) -> Audio:
    return Audio(render(text, WEAK, take).astype(np.float32), SAMPLE_RATE, 1)


@pytest.mark.parametrize("take", [1, 2])
def test_a_command_said_again_is_known_by_its_sound(weak_commands: CommandTemplates, take: int) -> None:
    assert len(weak_commands.templates) == len(DEFAULT_LANGUAGE.enrolment.commands)
    known = {
        name: weak_commands.command(_said(text, take))
        for name, text in DEFAULT_LANGUAGE.enrolment.commands.items()
    }
    assert sum(found == name for name, found in known.items()) >= len(known) - 2
    assert all(found in (None, name) for name, found in known.items())  # never another command


@pytest.mark.parametrize(
    "text", ["my back hurts", "thank you", "exercise", "blood clots", "hey helper", "what is an AFO"]
)
def test_other_short_utterances_are_no_command(weak_commands: CommandTemplates, text: str) -> None:
    assert weak_commands.command(_said(text, 1)) is None


def test_templates_round_trip_and_a_damaged_file_is_refused(
    weak_commands: CommandTemplates, tmp_path: Path
) -> None:
    path = tmp_path / "commands.npz"
    weak_commands.save(path)
    loaded = CommandTemplates.load(path)
    assert loaded.templates.keys() == weak_commands.templates.keys()
    said = [_said(text, 1) for text in ("yes", "slower", "goodbye")]
    assert [loaded.command(audio) for audio in said] == [weak_commands.command(audio) for audio in said]
    assert any(loaded.command(audio) for audio in said)
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises((ValueError, OSError)):
        CommandTemplates.load(path)


def test_the_profile_keeps_the_commands_sounds_and_uses_them(enrolled, recordings: Path) -> None:
    profiles, _, _ = enrolled
    profile = load("sim", profiles)
    assert profile.templates is not None and {"stop", "yes"} <= set(profile.templates.templates)
    wiring = Assistant(profile=profile)
    try:
        recognizer = wiring.recognizer()
        assert isinstance(recognizer, PersonalRecognizer)
        again = Audio(render("stop", SCANNING, 2).astype(np.float32), SAMPLE_RATE, 1)
        assert parse_command(recognizer.transcribe(again).text) is CommandName.STOP
        question = Audio(render("what helps with fatigue", SCANNING, 1).astype(np.float32), SAMPLE_RATE, 1)
        assert parse_command(recognizer.transcribe(question).text) is None
    finally:
        wiring.close()
