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

from tools.atypical_voice import SCANNING, render
from voice.audio.decode import SAMPLE_RATE
from voice.cli import main
from voice.core.config import default_answers_dir
from voice.core.faq import load_set
from voice.core.personal import enrol_prompts

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
    assert sorted(path.name for path in folder.iterdir()) == ["profile.yaml"]
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
