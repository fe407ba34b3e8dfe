"""The Vosk engine: offline Kaldi recognition, biased to the FAQ's words.

Each utterance is first decoded with a grammar made of the FAQ vocabulary, which makes
a small model far more accurate on the words that matter ("spasticity", "rollator").
Speech outside that vocabulary comes out as the model's unknown word; when most of an
utterance does, or nothing comes out, the same audio is decoded again with the open
vocabulary, so an off-topic question is still heard as what it was.

Audio is fed to Kaldi in fixed blocks whatever the caller's chunk size, because Kaldi's
online adaptation and endpointing run per call: fed as it comes, 320-byte pieces and
one whole file give different words. Vosk is still not bit-reproducible within one
process (the same audio decoded twice can differ by a near-tie word, depending on
what was decoded before), so equal input is what this module can promise.
"""

from __future__ import annotations

import atexit
import json
import threading
import time
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from voice.asr import RecognizerOptions, Transcript, Word
from voice.asr.models import DEFAULT_DOWNLOAD
from voice.audio.decode import MAX_SECONDS, SAMPLE_RATE, Audio
from voice.errors import ModelNotFoundError
from voice.lang import DEFAULT_CODE
from voice.lang import language as language_data

BLOCK_SECONDS = 0.1
"""Seconds of audio per call into Kaldi: small enough for live partials, large enough to be cheap."""
UNKNOWN_WORDS = ("[unk]", "<unk>", "<UNK>")
"""How models spell the unknown word: "[unk]" in the English models, "<UNK>" in some others."""

# Files Kaldi reads without checking their size first: an empty disambig_tid.int crashes the
# process when a recogniser is made, an empty ivector/splice.conf aborts it while loading, and
# an empty conf/model.conf decodes with unbounded beams (it never finishes). Checked up front.
_NOT_EMPTY = (
    "am/final.mdl",
    "conf/model.conf",
    "conf/mfcc.conf",
    "graph/HCLG.fst",
    "graph/HCLr.fst",
    "graph/Gr.fst",
    "graph/disambig_tid.int",
    "graph/words.txt",
    "graph/phones/word_boundary.int",
    "ivector/final.ie",
    "ivector/final.dubm",
    "ivector/final.mat",
    "ivector/global_cmvn.stats",
    "ivector/splice.conf",
)

_models: dict[Path, Any] = {}
"""Loaded vosk.Model per resolved folder: loading costs seconds and hundreds of MB, so once per process."""
_models_lock = threading.Lock()
# Free them before interpreter teardown: later, vosk.Model.__del__ finds its C library already
# gone and prints an "Exception ignored" traceback on every exit.
atexit.register(_models.clear)


@cache
def _vosk() -> ModuleType:
    """The vosk module, imported on first use so that voicefaq imports without libvosk."""
    try:
        import vosk
    except (ImportError, OSError) as exc:  # OSError: the wheel is there but libvosk.so is not loadable
        raise ModelNotFoundError(
            f"the Vosk engine is not installed ({exc}); run `.venv/bin/pip install vosk`, "
            "or use --engine whisper"
        ) from exc
    vosk.SetLogLevel(-1)  # Kaldi's per-utterance LOG lines would drown the conversation
    module: ModuleType = vosk
    return module


def _reinstall_hint(path: Path) -> str:
    return (
        f"delete {path} and install the model again (`voicefaq models download {DEFAULT_DOWNLOAD}` "
        "for the default English one), or pass --model PATH to another model"
    )


def check_model_files(path: Path) -> None:
    """Raise ModelNotFoundError unless `path` holds the files Kaldi needs, none of them empty.

    Kaldi reports most damage as an exception, but some (see _NOT_EMPTY) kill the process
    instead; a damaged file that is not empty can still do so, which only a new copy fixes."""
    if not path.exists():
        raise ModelNotFoundError(
            f"the Vosk model folder {path} does not exist; run `voicefaq models download "
            f"{DEFAULT_DOWNLOAD}`, or pass --model PATH to an unpacked model folder"
        )
    if not path.is_dir():
        raise ModelNotFoundError(f"{path} is a file; a Vosk model is a folder (unzip the download first)")
    missing = [name for name in ("am/final.mdl", "conf/model.conf") if not (path / name).is_file()]
    graph = path / "graph"
    if not (graph / "HCLG.fst").is_file() and not (graph / "HCLr.fst").is_file():
        missing.append("graph/HCLG.fst (or graph/HCLr.fst with graph/Gr.fst)")
    elif (graph / "HCLr.fst").is_file():
        missing += [
            f"graph/{name}" for name in ("Gr.fst", "disambig_tid.int") if not (graph / name).is_file()
        ]
    empty = [name for name in _NOT_EMPTY if (path / name).is_file() and (path / name).stat().st_size == 0]
    if missing or empty:
        problems = [f"{name} is missing" for name in missing] + [f"{name} is empty" for name in empty]
        raise ModelNotFoundError(
            f"the Vosk model in {path} is incomplete or damaged ({'; '.join(problems)}); "
            + _reinstall_hint(path)
        )


def load_model(path: Path) -> Any:
    """The vosk.Model for `path`, loaded once per process."""
    key = Path(path).expanduser().resolve()
    with _models_lock:
        model = _models.get(key)
        if model is None:
            check_model_files(key)
            vosk = _vosk()
            try:
                model = vosk.Model(str(key))
            except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
                raise ModelNotFoundError(
                    f"Vosk could not load the model in {key} (its files are damaged or from an "
                    f"incompatible version); {_reinstall_hint(key)}"
                ) from exc
            _models[key] = model
    return model


def is_marker(token: str) -> bool:
    """Kaldi's non-word tokens: [unk], <UNK>, <SPOKEN_NOISE>, [noise]; never part of a transcript."""
    return len(token) > 2 and (token[0], token[-1]) in (("[", "]"), ("<", ">"))


def usable_words(model: Any, vocabulary: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(words the model knows, words it does not), in first-seen order. Vosk drops unknown
    grammar words itself, but with a warning per word per utterance."""
    known: dict[str, None] = {}
    unknown: dict[str, None] = {}
    for item in vocabulary:
        for word in item.split():
            if word in known or word in unknown:
                continue
            if is_marker(word) or word[0] in "!#":  # silence and disambiguation symbols
                unknown[word] = None
            elif model.vosk_model_find_word(word) != -1:
                known[word] = None
            elif word.lower() != word and model.vosk_model_find_word(word.lower()) != -1:
                known[word.lower()] = None
            else:
                unknown[word] = None
    return tuple(known), tuple(unknown)


class VoskRecognizer:
    """Vosk behind the Recognizer protocol. Safe to share between threads for transcribe();
    each stream() belongs to one thread."""

    name = "vosk"

    def __init__(
        self,
        model_path: Path,
        vocabulary: tuple[str, ...] = (),
        sample_rate: int = SAMPLE_RATE,
        language: str = DEFAULT_CODE,
    ) -> None:
        if not 8000 <= sample_rate <= 48000:
            raise ValueError(f"sample_rate {sample_rate} Hz is outside Vosk's 8000..48000")
        self.language = language_data(language).code
        """The answers set's language (voice.lang). Vosk hears the language its model was
        trained on (models.language_of reads it from the folder name); this records which
        one the vocabulary is in."""
        self.model_path = Path(model_path)
        self.sample_rate = sample_rate
        """Hertz of the 16-bit mono PCM fed to stream(); transcribe() takes Audio at SAMPLE_RATE."""
        self._model = load_model(self.model_path)
        self.unknown_word = next(
            (w for w in UNKNOWN_WORDS if self._model.vosk_model_find_word(w) != -1), None
        )
        """The model's unknown word, or None when it has none (then only an empty result falls back)."""
        # Only graphs built for runtime composition (HCLr.fst + Gr.fst) accept a grammar; Vosk
        # ignores one given to a static HCLG.fst, so don't pretend.
        self.supports_grammar = (self.model_path / "graph" / "HCLr.fst").is_file()
        self.vocabulary, self.dropped_words = usable_words(self._model, vocabulary)
        """vocabulary: the words the grammar is made of; dropped_words: those the model does not know."""
        self.grammar: str | None = None
        """The JSON word list given to Vosk, or None for open vocabulary only."""
        if self.vocabulary and self.supports_grammar:
            entries = [*self.vocabulary, *([self.unknown_word] if self.unknown_word else [])]
            self.grammar = json.dumps(entries, ensure_ascii=False)
        self.last_used_grammar: bool | None = None
        """Whether the last utterance recognised (by transcribe() or any stream) kept the grammar
        result; False when open vocabulary was used, None before the first."""
        # A model that loads but cannot decode (no ivector/) fails here rather than mid-dialogue.
        self.kaldi_recognizer(self.grammar, sample_rate)

    def kaldi_recognizer(self, grammar: str | None, sample_rate: int) -> Any:
        """A fresh vosk.KaldiRecognizer: streams make one per utterance, and one more for the
        open-vocabulary pass, so word times start at 0 and nothing carries over."""
        vosk = _vosk()
        try:
            if grammar is None:
                recognizer = vosk.KaldiRecognizer(self._model, float(sample_rate))
            else:
                recognizer = vosk.KaldiRecognizer(self._model, float(sample_rate), grammar)
        except Exception as exc:  # a bare Exception("Failed to create a recognizer")
            raise ModelNotFoundError(
                f"Vosk loaded the model in {self.model_path} but cannot decode with it (a file such "
                f"as ivector/ is missing or damaged); {_reinstall_hint(self.model_path)}"
            ) from exc
        recognizer.SetWords(True)
        return recognizer

    def stream(self) -> VoskStream:
        return VoskStream(self, self.sample_rate)

    def transcribe(self, audio: Audio) -> Transcript:
        stream = VoskStream(self, SAMPLE_RATE)
        stream.feed(audio.pcm16(), partials=False)
        return stream.finish()


class VoskStream:
    """One utterance at a time from one recogniser; implements RecognizerStream."""

    def __init__(self, owner: VoskRecognizer, sample_rate: int) -> None:
        self._owner = owner
        self.sample_rate = sample_rate
        self._block_bytes = int(sample_rate * BLOCK_SECONDS) * 2
        self._keep_bytes = int(sample_rate * MAX_SECONDS) * 2
        self.last_used_grammar: bool | None = None
        """Whether the last finish() kept the grammar result; False when open vocabulary was used."""
        self._start()

    def _start(self) -> None:
        self._kaldi: Any = None  # made on first audio: a fresh one per utterance restarts word times at 0
        self._pcm = bytearray()
        """Audio received and not yet dropped; the open-vocabulary pass replays it."""
        self._fed = 0
        """Bytes of _pcm already given to Kaldi."""
        self._replayable = True
        self._samples = 0
        self._segments: list[dict[str, Any]] = []
        self._partial = ""
        self._busy_s = 0.0

    def accept(self, pcm16: bytes) -> str | None:
        return self.feed(pcm16, partials=True)

    def feed(self, pcm16: bytes, partials: bool) -> str | None:
        """Take audio of any length (odd ones too: a half sample waits for its other byte)
        and decode every whole block; returns the partial text when `partials` and it changed."""
        self._pcm += pcm16
        started = time.perf_counter()
        fed_any = False
        while len(self._pcm) - self._fed >= self._block_bytes:
            self._decode(self._fed + self._block_bytes)
            fed_any = True
        text = None
        if partials and fed_any:
            partial = json.loads(self._kaldi.PartialResult()).get("partial", "")
            joined = " ".join([*(r.get("text", "") for r in self._segments), partial])
            current = " ".join(token for token in joined.split() if not is_marker(token))
            if current != self._partial:
                self._partial = text = current
        self._busy_s += time.perf_counter() - started
        self._trim()
        return text

    def _decode(self, end: int) -> None:
        if self._kaldi is None:
            self._kaldi = self._owner.kaldi_recognizer(self._owner.grammar, self.sample_rate)
        block = bytes(self._pcm[self._fed : end])
        if self._kaldi.AcceptWaveform(block):  # an endpoint: Kaldi closed a segment
            self._segments.append(json.loads(self._kaldi.Result()))
        self._samples += len(block) // 2
        self._fed = end

    def _trim(self) -> None:
        """Drop decoded audio that will not be replayed: all of it without a grammar, and past
        MAX_SECONDS on a stream that is never finished (giving up the open-vocabulary pass),
        so that memory stays bounded."""
        if not self._fed:
            return
        if self._owner.grammar is None or len(self._pcm) > self._keep_bytes:
            self._replayable = self._owner.grammar is None
            del self._pcm[: self._fed]
            self._fed = 0

    def finish(self) -> Transcript:
        started = time.perf_counter()
        grammar = self._owner.grammar
        tail = (len(self._pcm) - self._fed) // 2 * 2  # a lone last byte is half a sample: dropped
        if tail:
            self._decode(self._fed + tail)
        results = self._segments
        if self._kaldi is not None:
            results = [*results, json.loads(self._kaldi.FinalResult())]
        used_grammar = grammar is not None
        if used_grammar and self._kaldi is not None and self._replayable and grammar_failed(results):
            results = self._open_vocabulary()
            used_grammar = False
        audio_s = self._samples / self.sample_rate
        busy_ms = (self._busy_s + time.perf_counter() - started) * 1000
        self.last_used_grammar = self._owner.last_used_grammar = used_grammar
        self._start()  # ready for the next utterance, sharing nothing with this one
        words = tuple(_words(results))
        return Transcript(" ".join(w.text for w in words), words, "vosk", audio_s, busy_ms)

    def _open_vocabulary(self) -> list[dict[str, Any]]:
        """Decode the utterance's audio again without the grammar, in the same blocks."""
        kaldi = self._owner.kaldi_recognizer(None, self.sample_rate)
        results = []
        end = len(self._pcm) // 2 * 2
        for start in range(0, end, self._block_bytes):
            if kaldi.AcceptWaveform(bytes(self._pcm[start : min(start + self._block_bytes, end)])):
                results.append(json.loads(kaldi.Result()))
        return [*results, json.loads(kaldi.FinalResult())]

    def reset(self) -> None:
        self._start()


def grammar_failed(results: list[dict[str, Any]]) -> bool:
    """Whether the grammar failed this utterance: no words, or more than half of them markers."""
    tokens = [token for result in results for token in result.get("text", "").split()]
    markers = sum(is_marker(token) for token in tokens)
    return not tokens or markers * 2 > len(tokens)


def _words(results: list[dict[str, Any]]) -> Iterable[Word]:
    for result in results:
        for item in result.get("result", []):
            if not is_marker(item["word"]):
                confidence = min(1.0, max(0.0, float(item.get("conf", 1.0))))
                yield Word(item["word"], float(item["start"]), float(item["end"]), confidence)


def open_recognizer(options: RecognizerOptions) -> VoskRecognizer:
    """The registry's loader (voice.asr.ENGINES): the Vosk model found for `options`,
    restricted to the answers set's words."""
    from voice.asr import models

    return VoskRecognizer(
        models.require_vosk_model(options.model_path), options.vocabulary, language=options.language
    )
