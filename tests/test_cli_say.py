"""`voicefaq say` and the spoken reply of `voicefaq ask --out`, end to end: what is written or
played is listened to again with the bundled whisper model."""

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile

from tests.conftest import understood
from tests.virtual_audio import VirtualMicrophone, record_speaker, virtual_audio
from voice.asr import Recognizer, load_recognizer
from voice.audio.decode import read
from voice.cli import main
from voice.speech.tts import ESPEAK_RATE


@pytest.fixture(scope="module")
def whisper() -> Recognizer:
    return load_recognizer("whisper")


def _heard(whisper: Recognizer, path: Path) -> str:
    return whisper.transcribe(read(path)).text.lower()


@pytest.fixture(scope="module")
def questions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is needed: apt-get install espeak-ng"
    folder = tmp_path_factory.mktemp("questions")
    spoken = {
        "falls": "what can a physical therapist do if I keep falling",
        "emergency": "help I have fallen and I can't get up",
    }
    paths = {}
    for name, text in spoken.items():
        paths[name] = folder / f"{name}.wav"
        subprocess.run([espeak, "-v", "en-us+m3", "-s", "140", "-w", str(paths[name]), text], check=True)
    return paths


@pytest.mark.whisper
def test_say_out_writes_speech_that_can_beunderstood(
    tmp_path: Path, whisper: Recognizer, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "hello.wav"
    words = ["Your", "physical", "therapist", "can", "help", "you", "choose", "a", "walker."]
    assert main(["say", "--out", str(out), "--rate", "140", "--voice", "en-us", *words]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    info = soundfile.info(out)
    assert (info.samplerate, info.channels, info.subtype) == (ESPEAK_RATE, 1, "PCM_16")
    heard = _heard(whisper, out)
    assert understood(" ".join(words), heard), heard


def test_say_lists_voices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["say", "--voices"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "languages", "name"]
    assert any(line.split()[:2] == ["gmw/en-us", "en-us"] for line in lines)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["say", "--rate", "500", "hi"], "rate must be 80 to 260 words a minute, not 500"),
        (["say", "--volume", "0", "hi"], "volume must be 0.2 to 1.0, not 0.0"),
        (["say", "--volume", "loud", "hi"], "invalid float value: 'loud'"),
        (["say"], "give the text to speak"),
        (["say", "--out", "reply.mp3", "hi"], "must end in .wav"),
        (["say", "--voices", "hi"], "--voices lists the voices"),
        (["ask", "--out", "reply.wav"], "--out needs the question as arguments"),
        (["ask", "--jsonl", "--out", "reply.wav"], "--out needs the question as arguments"),
        (["ask", "--out", "reply.ogg", "where do I park"], "must end in .wav"),
    ],
)
def test_bad_values_exit_2_with_a_message(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_unknown_voice_exits_1_with_the_alternatives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["say", "--voice", "no-such-voice", "--out", str(tmp_path / "x.wav"), "hello"]) == 1
    err = capsys.readouterr().err
    assert "unknown voice 'no-such-voice'; voices include" in err and "Traceback" not in err
    assert not (tmp_path / "x.wav").exists()


def test_unwritable_out_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["say", "--out", str(tmp_path / "missing" / "x.wav"), "hello"]) == 1
    assert "does not exist" in capsys.readouterr().err


@pytest.fixture(scope="module")
def virtual(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualMicrophone]:
    with virtual_audio(tmp_path_factory.mktemp("pulse")) as microphone:
        yield microphone


@pytest.mark.whisper
def test_say_speaks_on_the_speaker(virtual: VirtualMicrophone, whisper: Recognizer) -> None:
    with record_speaker() as recording:
        text = "Your physical therapist can help. Ask about a walker."
        assert main(["say", "--device", "pulse", "--voice", "en-us", text]) == 0
        recording.settle()  # everything played has reached the recording
    heard = whisper.transcribe(recording.audio()).text.lower()
    assert understood(text, heard), heard


def test_say_to_a_missing_speaker_suggests_out(
    virtual: VirtualMicrophone, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["say", "--device", "no such speaker", "hello"]) == 1
    err = capsys.readouterr().err
    assert "no output device matches 'no such speaker'" in err and "--out FILE.wav" in err


@pytest.mark.whisper
def test_ask_typed_out_writes_the_reply(
    tmp_path: Path, whisper: Recognizer, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reply.wav"
    assert main(["ask", "--json", "--out", str(out), "I fell and I can't get up"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["decision"] == "emergency" and result["reply_wav"] == str(out)
    assert "tts_ms" in result["timings_ms"]
    heard = _heard(whisper, out)
    assert "emergency" in heard and ("911" in heard or "nine one one" in heard)


@pytest.mark.whisper
def test_ask_audio_out_speaks_the_answer(
    questions: dict[str, Path], tmp_path: Path, whisper: Recognizer, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "answer.wav"
    assert main(["ask", "--audio", str(questions["falls"]), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "decision: answer" in printed and f"reply:    {out}" in printed
    heard = _heard(whisper, out)  # tripping-falling: "The first step is finding the cause. ..."
    assert "first step" in heard and "cause" in heard and "balance" in heard


@pytest.mark.whisper
def test_ask_several_audio_files_write_replies_into_a_folder(
    questions: dict[str, Path], tmp_path: Path, whisper: Recognizer, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(questions["falls"]), str(questions["emergency"])]
    assert main(["ask", "--jsonl", "--audio", *files, "--out", str(tmp_path)]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["reply_wav"] for r in results] == [
        str(tmp_path / "falls.reply.wav"),
        str(tmp_path / "emergency.reply.wav"),
    ]
    for result in results:  # each file holds what was decided: answer, confirmation or emergency text
        said = set(re.findall(r"[a-z]{4,}", result["answer"].lower()))
        heard = set(re.findall(r"[a-z]{4,}", _heard(whisper, Path(result["reply_wav"]))))
        assert len(said & heard) >= 0.6 * len(said)


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("reply.wav", "with several --audio files, --out must name an existing folder"),
        ("missing-folder", "with several --audio files, --out must name an existing folder"),
    ],
)
def test_several_audio_files_need_a_folder(
    questions: dict[str, Path], tmp_path: Path, out: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(questions["falls"]), str(questions["emergency"])]
    with pytest.raises(SystemExit) as exit_info:
        main(["ask", "--audio", *files, "--out", str(tmp_path / out)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "<input stem>.reply.wav" in err


def test_replies_that_would_overwrite_each_other_or_a_question_are_refused(
    questions: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    twin = tmp_path / "twin"
    twin.mkdir()
    shutil.copy(questions["falls"], twin / "falls.wav")
    with pytest.raises(SystemExit):
        main(["ask", "--audio", str(questions["falls"]), str(twin / "falls.wav"), "--out", str(tmp_path)])
    assert "several --audio files are named falls" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["ask", "--audio", str(questions["falls"]), "--out", str(questions["falls"])])
    assert "would overwrite a question recording" in capsys.readouterr().err
