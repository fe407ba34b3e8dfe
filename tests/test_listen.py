"""`voicefaq listen` end to end, on PulseAudio virtual devices (no sound card here).

A question made by espeak-ng goes into the virtual microphone; the reply is recorded
from the virtual speaker's monitor, transcribed, and must hold the right answer;
"stop" said during a long answer must cut it short.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator

import numpy as np
import pytest

from tests.conftest import scaled
from tests.virtual_audio import (
    CaptionedProgram,
    SpeakerRecording,
    VirtualMicrophone,
    record_speaker,
    virtual_audio,
)
from tools.spoken_set import spoken
from voice.audio.decode import SAMPLE_RATE, Audio
from voice.cli import main

pytestmark = pytest.mark.whisper

END_SILENCE_S = 1.0
RATE = 200
"""Words a minute the assistant speaks at: the tests wait for what it says in real time, and
at 200 (default 150) the greeting and the reply take a quarter less. whisper still reads
the reply's checked words at 150-220, in three voices (tripping-falling's answer)."""
QUIET_RMS = 0.005


@pytest.fixture(scope="module")
def mic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualMicrophone]:
    with virtual_audio(tmp_path_factory.mktemp("pulse")) as microphone:
        yield microphone


@pytest.fixture(scope="module")
def recognizer():  # type: ignore[no-untyped-def]
    from voice.asr import load_recognizer

    return load_recognizer("whisper")


def _spoken(text: str) -> bytes:
    return spoken(text, voice="en-us+m3").pcm16()


def _silence(seconds: float) -> bytes:
    return b"\0\0" * int(seconds * SAMPLE_RATE)


class Listening(CaptionedProgram):
    """`voicefaq listen` in a child process; its captions collected line by line."""

    def __init__(self, *extra: str) -> None:
        command = [sys.executable, "-m", "voice", "listen", "--engine", "whisper", "--captions", "plain"]
        command += ["--device", "pulse", "--output-device", "pulse", "--end-silence", str(END_SILENCE_S)]
        command += ["--rate", str(RATE)]
        super().__init__([*command, *extra])


def _wait_until_spoken(recording: SpeakerRecording, since: int = 0, seconds: float = 60) -> None:
    """Until the speaker has played some speech after byte `since` of the recording, then
    fallen quiet; fails after `scaled(seconds)`."""
    deadline = time.monotonic() + scaled(seconds)
    while _voiced_seconds(recording.audio().samples[since // 2 :]) < 0.5:
        if time.monotonic() > deadline:
            pytest.fail("the speaker played nothing")
        time.sleep(0.1)
    _wait_until_quiet(recording, seconds=seconds)


def _wait_until_quiet(recording: SpeakerRecording, quiet_s: float = 1.0, seconds: float = 60) -> None:
    """Until the speaker has played nothing for `quiet_s`; fails after `scaled(seconds)`."""
    deadline = time.monotonic() + scaled(seconds)
    while time.monotonic() < deadline:
        tail = recording.audio().samples[-int(quiet_s * SAMPLE_RATE) :]
        if len(tail) == int(quiet_s * SAMPLE_RATE) and float(np.sqrt(np.mean(tail**2))) < QUIET_RMS:
            return
        time.sleep(0.1)
    pytest.fail("the speaker never went quiet")


def _wait_until_playing(recording: SpeakerRecording, seconds: float = 60) -> None:
    """Until the last second the speaker played holds some speech; fails after `scaled(seconds)`."""
    deadline = time.monotonic() + scaled(seconds)
    while _voiced_seconds(recording.audio().samples[-SAMPLE_RATE:]) < 0.3:
        if time.monotonic() > deadline:
            pytest.fail("the speaker played nothing")
        time.sleep(0.05)


def _voiced_seconds(samples: np.ndarray) -> float:
    blocks = samples[: len(samples) // 320 * 320].reshape(-1, 320)  # 20 ms
    return float((np.sqrt((blocks**2).mean(axis=1)) > QUIET_RMS).sum()) * 0.02


def test_a_spoken_question_is_answered_aloud(mic: VirtualMicrophone, recognizer) -> None:  # type: ignore[no-untyped-def]
    question = _spoken("what can a physical therapist do if I keep falling")
    with record_speaker() as speaker:
        listening = Listening()
        try:
            listening.wait_for(r"Assistant: Hello")
            _wait_until_spoken(speaker)
            start = len(speaker.pcm16())
            mic.say(question + _silence(END_SILENCE_S + 1))
            captions = listening.wait_for(r"Assistant: The first step is finding the cause.*You can also ask")
            _wait_until_spoken(speaker, since=start)
            reply = Audio(speaker.audio().samples[start // 2 :], SAMPLE_RATE, 1)
        finally:
            assert listening.stop() == 0
    # Not the exact words (they differ from CPU to CPU): the words whisper heard in this
    # question in six voices and speeds tried, and the entry answered (the caption waited for).
    said = re.search(r"You said: (.*?) Assistant:", captions)
    assert said and "physical therapist" in said.group(1).lower() and "falling" in said.group(1).lower()
    heard = recognizer.transcribe(reply).text.lower()
    # Words whisper reads reliably in the recorded reply; a glitch in the virtual speaker
    # under load once turned one "balance" into "melons".
    for words in ("finding the cause", "muscles", "coordination"):
        assert words in heard, heard


def test_stop_cuts_a_long_answer_short(mic: VirtualMicrophone) -> None:
    question = _spoken("what can a physical therapist do if I keep falling")
    stop = _spoken("stop")
    with record_speaker() as speaker:
        listening = Listening()
        try:
            listening.wait_for(r"Assistant: Hello")
            _wait_until_spoken(speaker)
            mic.say(question + _silence(END_SILENCE_S + 0.5))
            listening.wait_for(r"Assistant: The first step")
            _wait_until_playing(speaker)
            start = len(speaker.pcm16())
            said_at = time.monotonic()
            mic.say(stop + _silence(END_SILENCE_S + 2))
            listening.wait_for(r"You said: stop")
            stopped_after = time.monotonic() - said_at
            _wait_until_quiet(speaker)
            quiet_at = len(speaker.pcm16())
            speaker.wait_for_more(2.0)  # of what the speaker plays: nothing may resume
            after_stop = speaker.audio().samples[start // 2 :]
            after_quiet = speaker.audio().samples[quiet_at // 2 :]
        finally:
            assert listening.stop() == 0
    # The reply takes about 17 s to say at RATE (the answer alone 11 s); it ended within a
    # sentence of "stop". On a busy machine whisper hears "stop" later, so the bounds
    # stretch, never to the whole reply.
    assert stopped_after < scaled(8, cap=12), stopped_after
    assert _voiced_seconds(after_stop) < scaled(7, cap=10), _voiced_seconds(after_stop)
    assert _voiced_seconds(after_quiet) == 0


def test_push_to_talk_hears_a_question_only_after_a_key(mic: VirtualMicrophone) -> None:
    question = _spoken("what can a physical therapist do if I keep falling")
    with record_speaker() as speaker:
        listening = Listening("--mode", "push")
        try:
            listening.wait_for(r"Assistant: Hello.*press")
            _wait_until_spoken(speaker)
            mic.say(question + _silence(END_SILENCE_S + 0.5))
            assert mic.spoken.wait(scaled(30)), "the virtual microphone never played the question"
            # Time enough to have answered, had it been heard: there is no event to wait for
            # when nothing should happen, so this one wait is scaled to the machine's speed.
            time.sleep(scaled(3))
            listening.press_key()
            listening.wait_for(r"Listening")
            mic.say(question + _silence(END_SILENCE_S + 0.5))
            captions = listening.wait_for(r"Assistant: The first step is finding the cause")
        finally:
            assert listening.stop() == 0
    assert captions.count("You said:") == 1


def test_no_microphone_names_the_alternatives(
    mic: VirtualMicrophone, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["listen", "--device", "no such microphone"]) == 1
    err = capsys.readouterr().err
    assert "no input device matches 'no such microphone'" in err
    for alternative in ("voicefaq ask", "--audio", "voicefaq serve"):
        assert alternative in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--rate", "500"], "rate must be"),
        (["--end-silence", "0"], "must be positive"),
        (["--mode", "shout"], "invalid choice"),
        (["--record-dir", "/no/such/folder"], "not a folder"),
    ],
)
def test_bad_options_are_usage_errors(
    options: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["listen", *options])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
