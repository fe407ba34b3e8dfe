"""`voicefaq enrol --profile NAME` hands-free, on PulseAudio virtual devices: each prompt is
read aloud and shown, the person says it into the (virtual) microphone, and "again",
"skip" and "stop" do what they say."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.virtual_audio import CaptionedProgram, VirtualMicrophone, virtual_audio
from tools.spoken_audio import spoken
from voice.audio.decode import SAMPLE_RATE

pytestmark = pytest.mark.whisper

END_SILENCE_S = 1.0


@pytest.fixture(scope="module")
def mic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualMicrophone]:
    with virtual_audio(tmp_path_factory.mktemp("pulse")) as microphone:
        yield microphone


class Enrolling(CaptionedProgram):
    """`voicefaq enrol` in a child process; each wait looks at the captions after the last."""

    def __init__(self, profiles: Path) -> None:
        command = [sys.executable, "-m", "voice", "enrol", "--profile", "mic", "--profile-dir", str(profiles)]
        command += ["--device", "pulse", "--output-device", "pulse", "--end-silence", str(END_SILENCE_S)]
        super().__init__(command)
        self.seen = 0

    def next(self, pattern: str) -> None:
        self.wait_for(pattern, seconds=90, since=self.seen)
        self.seen = len(self.output)


def _said(text: str) -> bytes:
    return spoken(text, voice="en-gb", speed=130).pcm16() + b"\0\0" * int((END_SILENCE_S + 1) * SAMPLE_RATE)


def test_enrol_hands_free_with_again_skip_and_stop(mic: VirtualMicrophone, tmp_path: Path) -> None:
    enrolling = Enrolling(tmp_path)
    finished = False
    try:
        enrolling.next(r"Assistant: I will show and read 56 short phrases")
        # Each prompt is read, then shown as the status line once the speaker is done.
        enrolling.next(r"Assistant: Please say: stop .*\(stop\)")
        mic.say(_said("stop"))  # the prompt is "stop" itself: recorded, not the end
        enrolling.next(r"You said: stop.* Please say: repeat .*\(repeat\)")
        mic.say(_said("again"))
        enrolling.next(r"You said: again.* Please say: repeat .*\(repeat\)")
        mic.say(_said("repeat"))
        enrolling.next(r"Please say: tell me more .*\(tell me more\)")
        mic.say(_said("skip this one"))  # a lone "skip" whisper writes as "keep" or "scoop" too
        enrolling.next(r"Please say: help .*\(help\)")
        mic.say(_said("stop"))
        enrolling.next(r"Thank you. I kept 2 of your recordings in the profile mic")
        finished = True
    finally:
        status = enrolling.stop(terminate=not finished)
    assert status == 0
    output = "".join(enrolling.output)
    assert "Traceback" not in output
    profile = yaml.safe_load((tmp_path / "mic" / "profile.yaml").read_text(encoding="utf-8"))
    assert [prompt["id"] for prompt in profile["prompts"]] == ["command-stop", "command-repeat"]
    assert "command-more" in profile["skipped"] and "question-fatigue" in profile["skipped"]
    assert sorted(path.name for path in (tmp_path / "mic").iterdir()) == ["commands.npz", "profile.yaml"]
