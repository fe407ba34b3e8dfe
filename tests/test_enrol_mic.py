"""`voicefaq enrol --profile NAME` hands-free, on PulseAudio virtual devices: each prompt is
read aloud and shown, the person says it into the (virtual) microphone, and "again",
"skip" and "stop" do what they say."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import scaled
from tests.virtual_audio import VirtualMicrophone, virtual_audio
from tools.spoken_audio import spoken
from voice.audio.decode import SAMPLE_RATE

pytestmark = pytest.mark.whisper

END_SILENCE_S = 1.0


@pytest.fixture(scope="module")
def mic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualMicrophone]:
    with virtual_audio(tmp_path_factory.mktemp("pulse")) as microphone:
        yield microphone


class Enrolling:
    """`voicefaq enrol` in a child process; its captions collected as they come."""

    def __init__(self, profiles: Path) -> None:
        command = [sys.executable, "-m", "voice", "enrol", "--profile", "mic", "--profile-dir", str(profiles)]
        command += ["--device", "pulse", "--output-device", "pulse", "--end-silence", str(END_SILENCE_S)]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.seen = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.decode("utf-8", "replace"))

    def wait_for(self, pattern: str, seconds: float = 90) -> None:
        """Until the captions after the last match match `pattern`."""
        deadline = time.monotonic() + scaled(seconds)
        while time.monotonic() < deadline:
            try:
                self.output.append(self.lines.get(timeout=0.1))
            except queue.Empty:
                if self.process.poll() is not None and self.lines.empty():
                    break
            text = " ".join(" ".join(self.output[self.seen :]).split())
            if re.search(pattern, text, re.IGNORECASE):
                self.seen = len(self.output)
                return
        self.close()
        pytest.fail(f"no caption matching {pattern!r}; captions were:\n{''.join(self.output)}")

    def finish(self) -> int:
        try:
            return self.process.wait(timeout=scaled(60))
        finally:
            self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._reader.join(timeout=5)
        assert self.process.stdout is not None
        self.process.stdout.close()


def _said(text: str) -> bytes:
    return spoken(text, voice="en-gb", speed=130).pcm16() + b"\0\0" * int((END_SILENCE_S + 1) * SAMPLE_RATE)


def test_enrol_hands_free_with_again_skip_and_stop(mic: VirtualMicrophone, tmp_path: Path) -> None:
    enrolling = Enrolling(tmp_path)
    try:
        enrolling.wait_for(r"Assistant: I will show and read 56 short phrases")
        # Each prompt is read, then shown as the status line once the speaker is done.
        enrolling.wait_for(r"Assistant: Please say: stop .*\(stop\)")
        mic.say(_said("stop"))  # the prompt is "stop" itself: recorded, not the end
        enrolling.wait_for(r"You said: stop.* Please say: repeat .*\(repeat\)")
        mic.say(_said("again"))
        enrolling.wait_for(r"You said: again.* Please say: repeat .*\(repeat\)")
        mic.say(_said("repeat"))
        enrolling.wait_for(r"Please say: tell me more .*\(tell me more\)")
        mic.say(_said("skip this one"))  # a lone "skip" whisper writes as "keep" or "scoop" too
        enrolling.wait_for(r"Please say: help .*\(help\)")
        mic.say(_said("stop"))
        enrolling.wait_for(r"Thank you. I kept 2 of your recordings in the profile mic")
        assert enrolling.finish() == 0
    finally:
        enrolling.close()
    output = "".join(enrolling.output)
    assert "Traceback" not in output
    profile = yaml.safe_load((tmp_path / "mic" / "profile.yaml").read_text(encoding="utf-8"))
    assert [prompt["id"] for prompt in profile["prompts"]] == ["command-stop", "command-repeat"]
    assert "command-more" in profile["skipped"] and "question-fatigue" in profile["skipped"]
    assert sorted(path.name for path in (tmp_path / "mic").iterdir()) == ["commands.npz", "profile.yaml"]
