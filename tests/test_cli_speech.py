"""`voicefaq transcribe` and `voicefaq ask --audio` end to end, with the bundled whisper model."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.conftest import JSON_FIELDS
from voice.cli import main

pytestmark = pytest.mark.whisper


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is needed: apt-get install espeak-ng"
    folder = tmp_path_factory.mktemp("clips")
    spoken = {
        "falls": "what can a physical therapist do if I keep falling",
        "emergency": "help I have fallen and I can't get up",
        "parking": "where is the parking garage",
    }
    paths = {}
    for name, text in spoken.items():
        paths[name] = folder / f"{name}.wav"
        subprocess.run([espeak, "-v", "en-us+m3", "-s", "140", "-w", str(paths[name]), text], check=True)
    paths["silence"] = folder / "silence.wav"
    soundfile.write(paths["silence"], np.zeros(32000, dtype=np.float32), 16000)
    paths["broken"] = folder / "broken.wav"
    paths["broken"].write_bytes(b"RIFF....WAVEfmt this is not audio")
    stereo = folder / "falls-48k-stereo.flac"
    samples, rate = soundfile.read(paths["falls"])
    soundfile.write(stereo, np.stack([samples, samples], axis=1), rate)  # FLAC, 2 channels
    paths["flac"] = stereo
    return paths


def test_transcribe_prints_the_words(clips: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["transcribe", str(clips["falls"])]) == 0
    assert "physical therapist" in capsys.readouterr().out.lower()


def test_transcribe_json_has_words_confidences_and_engine(
    clips: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["transcribe", "--json", str(clips["falls"]), str(clips["flac"])]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["audio"] for r in results] == [str(clips["falls"]), str(clips["flac"])]
    for result in results:
        assert result["engine"] == "whisper" and result["audio_s"] > 1
        assert "falling" in result["transcript"].lower()
        assert result["words"] and all(0 <= w["confidence"] <= 1 for w in result["words"])
        assert 0 < result["confidence"] <= 1


def test_ask_audio_jsonl_for_many_files(clips: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    files = [clips[name] for name in ("falls", "emergency", "parking", "silence", "broken")]
    assert main(["ask", "--jsonl", "--audio", *map(str, files)]) == 1  # two files were unusable
    captured = capsys.readouterr()
    results = {Path(r["audio"]).stem: r for r in map(json.loads, captured.out.splitlines())}
    assert JSON_FIELDS | {"transcript", "engine", "audio_s"} <= set(results["falls"])
    assert {"asr_ms", "match_ms"} <= set(results["falls"]["timings_ms"])
    assert results["falls"]["decision"] == "answer" and results["falls"]["entry_id"] == "tripping-falling"
    assert results["emergency"]["decision"] == "emergency"
    assert results["parking"]["decision"] in ("fallback", "confirm")
    assert "no speech heard" in results["silence"]["error"]
    assert "cannot read it as audio" in results["broken"]["error"]
    assert "Traceback" not in captured.err


def test_ask_audio_human_output(clips: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--audio", str(clips["emergency"])]) == 0
    out = capsys.readouterr().out
    assert 'heard "' in out and "(whisper," in out
    assert "decision: emergency" in out and "call 911" in out.lower()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["transcribe"], "give audio files, or --mic"),
        (["ask", "what is an afo", "--audio", "x.wav"], "not both"),
        (["ask", "--audio", "x.wav", "--engine", "espeak"], "invalid choice"),
    ],
)
def test_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_vosk_without_an_english_model_says_what_to_do(
    clips: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("VOICEFAQ_VOSK_MODEL", raising=False)
    assert (
        main(["ask", "--engine", "vosk", "--model", str(tmp_path / "none"), "--audio", str(clips["falls"])])
        == 1
    )
    err = capsys.readouterr().err
    assert err.startswith("voicefaq: error:") and "Traceback" not in err
