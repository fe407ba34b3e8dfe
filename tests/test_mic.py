"""The microphone, exercised through PulseAudio virtual devices (no sound card here)."""

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from tests.conftest import scaled
from tests.virtual_audio import VirtualMicrophone, virtual_audio
from voice.audio.decode import SAMPLE_RATE, read
from voice.audio.mic import Microphone, devices, find_input
from voice.audio.vad import Endpointer, EndpointKind
from voice.cli import main
from voice.errors import AudioDeviceError


@pytest.fixture(scope="module")
def mic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualMicrophone]:
    with virtual_audio(tmp_path_factory.mktemp("pulse")) as microphone:
        yield microphone


@pytest.fixture(scope="module")
def question_pcm(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is needed: apt-get install espeak-ng"
    wav = tmp_path_factory.mktemp("q") / "q.wav"
    subprocess.run(
        [
            espeak,
            "-v",
            "en-us+m3",
            "-s",
            "140",
            "-w",
            str(wav),
            "what can a physical therapist do if I keep falling",
        ],
        check=True,
    )
    return read(wav).pcm16()


def test_lists_the_virtual_devices(mic: VirtualMicrophone) -> None:
    found = devices()
    assert any(d.input_channels > 0 for d in found)
    assert find_input("pulse").name == "pulse"
    assert find_input(str(find_input("pulse").index)).name == "pulse"


def test_unknown_device_names_the_alternatives(mic: VirtualMicrophone) -> None:
    with pytest.raises(
        AudioDeviceError, match=r"no input device matches 'studio mic'; input devices: .*pulse"
    ):
        find_input("studio mic")


def test_captures_a_spoken_question(mic: VirtualMicrophone, question_pcm: bytes) -> None:
    endpointer = Endpointer()
    spoken = len(question_pcm) / 2 / SAMPLE_RATE
    utterance, heard_s = b"", 0.0
    with Microphone("pulse") as microphone:
        mic.say(question_pcm)  # the stream is open: nothing said is lost, however slow the machine
        for block in microphone.blocks(timeout=scaled(5)):
            events = endpointer.feed(block)
            ended = [e for e in events if e.kind is EndpointKind.SPEECH_ENDED]
            if ended:
                utterance = ended[0].pcm16
                break
            heard_s += len(block) / 2 / SAMPLE_RATE
            assert heard_s < spoken + 30, "no end of speech in 30 s of audio after the question"
    seconds = len(utterance) / 2 / SAMPLE_RATE
    assert spoken < seconds < spoken + 3
    heard = np.frombuffer(utterance, dtype="<i2")
    assert np.abs(heard).max() > 1000  # real signal came through, not silence


def test_devices_command(mic: VirtualMicrophone, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices"]) == 0
    assert "pulse" in capsys.readouterr().out
    assert main(["devices", "--json"]) == 0
    assert any(d["name"] == "pulse" for d in json.loads(capsys.readouterr().out))


@pytest.mark.whisper
def test_ask_from_the_microphone(
    mic: VirtualMicrophone, question_pcm: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    command = ["ask", "--mic", "--device", "pulse", "--engine", "whisper", "--json", "--end-silence", "1.0"]
    exit_codes: list[int] = []
    # `ask --mic` loads whisper before it opens the microphone: the question is said once it
    # has, and the command runs on a thread so that a question never heard fails, not hangs.
    asking = threading.Thread(target=lambda: exit_codes.append(main(command)), daemon=True)
    asking.start()
    mic.wait_for_listener()
    mic.say(question_pcm)
    asking.join(scaled(60))
    assert exit_codes == [0], "voicefaq ask --mic did not answer"
    result = json.loads(capsys.readouterr().out)
    assert result["engine"] == "whisper" and result["audio"] == "microphone"
    assert result["decision"] == "answer" and result["entry_id"] == "tripping-falling"


def test_missing_device_from_the_command_line(
    mic: VirtualMicrophone, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "--mic", "--device", "no such mic", "--engine", "whisper"]) == 1
    err = capsys.readouterr().err
    assert "no input device matches 'no such mic'" in err and "Traceback" not in err
