"""A reproducible spoken question set, synthesised from a labelled text set (tests/data/*.jsonl).

    .venv/bin/python -m tools.spoken_set [--out DIR] [--limit N] [--set dev|holdout] [--seed N]
                                         [--cast dev|fresh]

Each selected question is spoken by espeak-ng (several voices, 110-170 words a minute, some
with a pause mid-sentence, as slow speakers make), padded with silence, mixed with
waiting-room babble or pink noise at 20, 10 or 5 dB SNR, and written as WAV at one of
several rates, channel counts and sample formats, so that the decoder is exercised too.
The WAV files and manifest.jsonl go to tests/artifacts/spoken-<set>[-<cast>]/ (ignored by git).

Everything random comes from numpy.random.default_rng(seed) and espeak-ng is
deterministic, so the same seed, source and module give byte-identical files. A build whose
manifest records the same seed, limit, source hash, module hash and espeak-ng version, and
whose files still hash as recorded, is reused rather than regenerated.

manifest.jsonl: the first line is {"build": {...}} (the cache key and the clip count); each
further line is one clip: {"file", "text", "expect", "also", "voice", "speed", "noise",
"snr_db", "pause_s", "sample_rate", "channels", "sample_format", "seconds", "sha256"},
with "file" relative to the manifest's folder.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

from tools.quality import Labelled, load
from voice.audio.decode import Audio, to_mono_16k

T = TypeVar("T")

Signal = npt.NDArray[np.float64]
"""Float samples, full scale 1.0: shape (frames,) for mono, (frames, channels) otherwise."""

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
ARTIFACTS = Path(__file__).resolve().parents[1] / "tests" / "artifacts"
MANIFEST = "manifest.jsonl"
MANIFEST_VERSION = 1
INSTALL_HINT = "install it with: sudo apt-get install espeak-ng sox"

ESPEAK_RATE = 22_050
"""Hertz: what espeak-ng writes; all mixing happens at this rate, before the per-clip resampling."""

VOICES = ("en-us", "en-us+f3", "en-us+m3", "en-gb-x-rp", "en-us+f4", "en-gb-scotland+f2", "en-us+grandpa")
"""Question voices: US and British (RP, Scottish) accents, male and female variants, and an older
voice with a pitch tremor ("flutter"), as some of our users have."""
SPEEDS = (110, 130, 150, 170)
"""Words a minute, slow to normal: many of our users speak slowly."""
BABBLE_TALKERS = (
    ("en-gb+m1", 175),
    ("en-us-nyc+f5", 160),
    ("en-gb-x-gbclan+m4", 145),
    ("en-029+f1", 185),
    ("en-gb-x-gbcwmd+m2", 155),
    ("en-us+m6", 170),
)
"""(voice, words a minute) of the waiting room's other talkers: none is a question voice."""
FRESH_VOICES = (
    "en-us+m2",
    "en-gb+f1",
    "en-us+klatt2",
    "en-gb-x-rp+m7",
    "en-us+grandma",
    "en-gb-x-gbcwmd+f5",
    "en-us-nyc+m4",
)
FRESH_BABBLE_TALKERS = (
    ("en-us+m8", 165),
    ("en-gb+f4", 150),
    ("en-us+klatt", 175),
    ("en-gb-scotland+m2", 160),
    ("en-029+m5", 170),
    ("en-us+f2", 155),
)
"""A second cast, for a held-out check (`--cast fresh`): no voice here speaks in the dev cast,
as question or babble, so a figure measured with it says how the recogniser copes with voices
it was not tuned on. Never tune on it."""
CASTS = {"dev": (VOICES, BABBLE_TALKERS), "fresh": (FRESH_VOICES, FRESH_BABBLE_TALKERS)}
"""Cast name: (question voices, babble talkers)."""
BABBLE_SENTENCES = (
    "The forecast promises sunshine on Tuesday, then thunder and hail by Sunday evening.",
    "My nephew baked a lemon cake with blueberries for the village fete.",
    "The eleven fifteen train to Brighton was cancelled.",
    "Did you watch the football yesterday? Two penalties in the final minute.",
    "Grandmother planted tulips and daffodils beside the garden fence.",
    "They painted the pantry yellow and bought a shiny kettle.",
    "The library is closed on Mondays, but the bakery opens at seven.",
    "Our neighbour's parrot whistles the national anthem each afternoon.",
    "I reckon the quiz host wore a purple jacket yesterday.",
    "Tomatoes are cheaper at the market than at the supermarket.",
    "We drove to the coast and watched the fishing boats sail in.",
    "The postman delivered a parcel of knitting wool.",
)
"""Babble text with no FAQ words in it (checked by the tests), so it cannot steer the matcher."""

NOISES = ("clean", "babble", "pink")
NOISE_WEIGHTS = (2, 3, 3)
"""1/4 clean, 3/8 babble, 3/8 pink."""
SNRS_DB = (20.0, 10.0, 5.0)
KINDS = ("in_scope", "fallback", "emergency")
DEFAULT_QUOTA = (100, 30, 20)
"""Clips per kind in the default set; --limit scales these proportionally."""
PAUSE_SHARE = 1 / 3
"""Share of clips, within each noise kind, with a pause mid-sentence."""
PEAK = 0.99
"""Largest absolute sample value written; louder mixes are scaled down, never clipped."""
SECOND_CHANNEL_GAIN = 0.85
"""Stereo clips carry the mix on the left and a quieter copy on the right, so that a downmix
differs from either channel."""


@dataclass(frozen=True, slots=True)
class Format:
    sample_rate: int
    """Hertz."""
    channels: int
    subtype: str
    """soundfile subtype: PCM_16, PCM_24, PCM_32, FLOAT or PCM_U8."""


FORMATS = (
    Format(16_000, 1, "PCM_16"),
    Format(16_000, 1, "PCM_16"),
    Format(16_000, 1, "PCM_16"),
    Format(8_000, 1, "PCM_16"),
    Format(22_050, 1, "PCM_16"),
    Format(44_100, 1, "PCM_16"),
    Format(44_100, 1, "PCM_16"),
    Format(48_000, 1, "PCM_16"),
    Format(48_000, 2, "PCM_16"),
    Format(44_100, 2, "PCM_24"),
    Format(16_000, 1, "PCM_24"),
    Format(48_000, 1, "PCM_32"),
    Format(22_050, 1, "FLOAT"),
    Format(16_000, 2, "FLOAT"),
    Format(8_000, 1, "PCM_U8"),
    Format(22_050, 1, "PCM_U8"),
)
"""Drawn evenly: mostly 16-bit mono, some stereo and some 8, 24, 32-bit and float files."""


@dataclass(frozen=True, slots=True)
class Clip:
    path: Path
    text: str
    """The question as written in the text set (and as spoken)."""
    expect: str
    """An entry id, "fallback" or "emergency", copied from the text set."""
    also: tuple[str, ...]
    voice: str
    """espeak-ng voice, with its +variant."""
    speed: int
    """Words a minute."""
    noise: str
    """"clean", "babble" or "pink"."""
    snr_db: float | None
    """Speech (active RMS) to noise (RMS) ratio in decibels; None when clean."""
    sample_rate: int
    """Hertz."""
    channels: int
    sample_format: str
    """soundfile subtype."""
    pause_s: float = 0.0
    """Seconds of silence inserted mid-sentence; 0.0 for none."""
    seconds: float = 0.0
    """Duration of the file."""


@dataclass(frozen=True, slots=True)
class Spec:
    """How to render one clip; every random choice is made here, before any audio exists."""

    name: str
    question: Labelled
    voice: str
    speed: int
    noise: str
    snr_db: float | None
    format: Format
    lead_s: float
    trail_s: float
    pause_s: float
    babble: tuple[tuple[int, float, float], ...]
    """(talker index, start as a fraction of its track, gain) per babble talker."""
    noise_seed: int


class SpokenSetError(Exception):
    """A missing tool or a failed synthesis; the message says how to fix it."""


# ---------------------------------------------------------------- planning (pure, no audio)


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Split total in proportion to weights (largest remainder; ties go to the earlier weight)."""
    exact = [total * w / sum(weights) for w in weights]
    counts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def quotas(limit: int | None, available: Sequence[int]) -> list[int]:
    """Clips per kind (KINDS order): the default quota scaled to limit, capped by what exists.

    Kinds with too few questions hand their share on, in-scope first, so the total holds.
    """
    total = min(sum(DEFAULT_QUOTA) if limit is None else limit, sum(available))
    counts = [min(want, have) for want, have in zip(apportion(total, DEFAULT_QUOTA), available, strict=True)]
    for i, have in enumerate(available):
        extra = min(total - sum(counts), have - counts[i])
        counts[i] += extra
    return counts


def spread(values: Sequence[T], n: int, rng: np.random.Generator) -> list[T]:
    """n values used as evenly as possible (whole cycles, then a random subset), in random order."""
    cycles, rest = divmod(n, len(values))
    picked = list(values) * cycles + [values[i] for i in sorted(rng.choice(len(values), rest, replace=False))]
    return [picked[i] for i in rng.permutation(n)]


def select(questions: Sequence[Labelled], limit: int | None, rng: np.random.Generator) -> list[Labelled]:
    """A stratified sample: in-scope questions round-robin over entry ids, then fallbacks, emergencies."""
    by_kind: dict[str, list[Labelled]] = {kind: [] for kind in KINDS}
    for question in questions:
        by_kind[question.kind].append(question)
    counts = quotas(limit, [len(by_kind[kind]) for kind in KINDS])

    # One question from every entry id before a second from any, so a small set still
    # covers as many entries as it can.
    by_entry: dict[str, list[Labelled]] = {}
    for question in by_kind["in_scope"]:
        by_entry.setdefault(question.expect, []).append(question)
    queues = [[rows[i] for i in rng.permutation(len(rows))] for _, rows in sorted(by_entry.items())]
    in_scope: list[Labelled] = []
    for depth in range(max((len(q) for q in queues), default=0)):
        for i in rng.permutation(len(queues)):
            if depth < len(queues[i]):
                in_scope.append(queues[i][depth])
    chosen = in_scope[: counts[0]]
    for kind, count in zip(KINDS[1:], counts[1:], strict=True):
        rows = by_kind[kind]
        chosen += [rows[i] for i in sorted(rng.choice(len(rows), count, replace=False))]
    return [chosen[i] for i in rng.permutation(len(chosen))]


def split_for_pause(text: str) -> tuple[str, str] | None:
    """The question cut where a slow speaker might pause: at the comma nearest the middle, else
    between the middle words. None for questions under three words."""
    middle = len(text) / 2
    commas = [i for i, c in enumerate(text) if c == "," and text[:i].strip() and text[i + 1 :].strip()]
    if commas:
        cut = min(commas, key=lambda i: abs(i - middle))
        return text[: cut + 1].strip(), text[cut + 1 :].strip()
    words = text.split()
    if len(words) < 3:
        return None
    half = len(words) // 2
    return " ".join(words[:half]), " ".join(words[half:])


def plan(
    questions: Sequence[Labelled], limit: int | None = None, seed: int = 0, cast: str = "dev"
) -> list[Spec]:
    """Every clip's recipe. Draws happen in a fixed order so the plan depends only on the inputs."""
    question_voices, talkers_cast = CASTS[cast]
    rng = np.random.default_rng(seed)
    chosen = select(questions, limit, rng)
    n = len(chosen)
    counts = apportion(n, NOISE_WEIGHTS)
    noises = spread([kind for kind, count in zip(NOISES, counts, strict=True) for _ in range(count)], n, rng)
    snrs: list[float | None] = [None] * n
    paused = [False] * n
    for kind in NOISES:
        group = [i for i in range(n) if noises[i] == kind]
        if kind != "clean":
            for i, snr in zip(group, spread(SNRS_DB, len(group), rng), strict=True):
                snrs[i] = snr
        # Pauses are shared out within each noise kind so every kind, clean included, has some.
        eligible = [i for i in group if split_for_pause(chosen[i].text) is not None]
        count = min(len(eligible), max(1, round(len(group) * PAUSE_SHARE)) if group else 0)
        for i in rng.choice(eligible, count, replace=False) if count else ():
            paused[int(i)] = True
    voices = spread(question_voices, n, rng)
    speeds = spread(SPEEDS, n, rng)
    formats = spread(FORMATS, n, rng)

    specs = []
    for i, question in enumerate(chosen):
        lead_s, trail_s = (round(float(x), 3) for x in rng.uniform(0.3, 0.8, 2))
        pause_s = round(float(rng.uniform(0.6, 1.0)), 3) if paused[i] else 0.0
        talkers = rng.choice(len(talkers_cast), int(rng.integers(4, len(talkers_cast) + 1)), replace=False)
        babble = tuple(
            (int(t), round(float(rng.uniform()), 6), round(float(rng.uniform(0.5, 1.0)), 3)) for t in talkers
        )
        specs.append(
            Spec(
                name=f"{i:03d}-{question.expect}.wav",
                question=question,
                voice=voices[i],
                speed=speeds[i],
                noise=noises[i],
                snr_db=snrs[i],
                format=formats[i],
                lead_s=lead_s,
                trail_s=trail_s,
                pause_s=pause_s,
                babble=babble if noises[i] == "babble" else (),
                noise_seed=int(rng.integers(2**63)),
            )
        )
    return specs


# ---------------------------------------------------------------- speech and noise


def espeak_path() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise SpokenSetError(f"espeak-ng is not installed; {INSTALL_HINT}")
    return path


def espeak_version() -> str:
    result = subprocess.run([espeak_path(), "--version"], capture_output=True, text=True, check=False)
    return result.stdout.strip()


def synthesize(text: str, voice: str, speed: int) -> Signal:
    """Mono float samples at ESPEAK_RATE, with espeak-ng's own leading and trailing silence trimmed."""
    # The text goes in on stdin so that nothing in it can be read as an option.
    result = subprocess.run(
        [espeak_path(), "-v", voice, "-s", str(speed), "--stdout"],
        input=text.encode("utf-8"),
        capture_output=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0 or not result.stdout:
        error = result.stderr.decode("utf-8", "replace").strip()
        raise SpokenSetError(f"espeak-ng -v {voice} failed on {text!r}: {error or 'no output'}")
    return trim(parse_espeak_wav(result.stdout))


def spoken(text: str, voice: str = "en-us", speed: int = 140) -> Audio:
    """`text` said once by espeak-ng, as 16 kHz Audio: for tests that need one clean question."""
    return Audio(to_mono_16k(synthesize(text, voice, speed), ESPEAK_RATE), ESPEAK_RATE, 1)


def parse_espeak_wav(raw: bytes) -> Signal:
    """espeak-ng --stdout writes a streaming WAV whose sizes are placeholders, which libsndfile
    refuses; walk the chunks by hand and take everything after "data"."""
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise SpokenSetError("espeak-ng did not write WAV")
    pos, rate, channels, bits = 12, 0, 0, 0
    while pos + 8 <= len(raw):
        chunk, size = raw[pos : pos + 4], int.from_bytes(raw[pos + 4 : pos + 8], "little")
        if chunk == b"fmt ":
            channels = int.from_bytes(raw[pos + 10 : pos + 12], "little")
            rate = int.from_bytes(raw[pos + 12 : pos + 16], "little")
            bits = int.from_bytes(raw[pos + 22 : pos + 24], "little")
        elif chunk == b"data":
            if (rate, channels, bits) != (ESPEAK_RATE, 1, 16):
                raise SpokenSetError(f"espeak-ng wrote {rate} Hz, {channels} channels, {bits} bits")
            data = raw[pos + 8 :]
            return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float64) / 32768.0
        pos += 8 + size + (size & 1)
    raise SpokenSetError("espeak-ng wrote WAV without data")


def trim(signal: Signal, threshold: float = 2e-3, margin_s: float = 0.02) -> Signal:
    """Drop silence at both ends (keeping a short margin for soft onsets), so that the silence
    and pauses a clip declares are the silence it has."""
    loud = np.flatnonzero(np.abs(signal) > threshold)
    if not len(loud):
        return signal[:0]
    margin = int(margin_s * ESPEAK_RATE)
    return signal[max(0, loud[0] - margin) : loud[-1] + margin + 1]


def rms(signal: Signal) -> float:
    return float(np.sqrt(np.mean(np.square(signal)))) if len(signal) else 0.0


def active_rms(speech: Signal, rate: int, floor_db: float = -40.0) -> float:
    """RMS over the 20 ms frames within floor_db of the loudest: the level of the speech itself,
    not diluted by the silence around and inside it."""
    frame = max(1, rate // 50)
    frames = speech[: len(speech) // frame * frame].reshape(-1, frame)
    if not len(frames):
        return rms(speech)
    energy = np.mean(np.square(frames), axis=1)
    active = frames[energy >= energy.max() * 10 ** (floor_db / 10)]
    return rms(active.ravel())


def mix(speech: Signal, noise: Signal, snr_db: float, rate: int) -> Signal:
    """speech + noise, the noise scaled so that active speech RMS / noise RMS is snr_db."""
    if len(noise) != len(speech):
        raise ValueError(f"speech has {len(speech)} samples, noise {len(noise)}")
    gain = active_rms(speech, rate) / (rms(noise) * 10 ** (snr_db / 20))
    return speech + gain * noise


def pink_noise(n: int, rate: int, rng: np.random.Generator) -> Signal:
    """Pink (1/f power) noise of unit RMS, shaped from white noise in the frequency domain.

    Below 40 Hz is left out: there 1/f would put most of the power where no microphone or
    recogniser listens, and the nominal SNR would overstate how hard the clip is.
    """
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    audible = freqs >= 40.0
    spectrum[audible] /= np.sqrt(freqs[audible])
    spectrum[~audible] = 0
    pink = np.fft.irfft(spectrum, n)
    level = rms(pink)
    return pink / level if level else pink


def babble_tracks(talkers: Sequence[tuple[str, int]] = BABBLE_TALKERS) -> list[Signal]:
    """One long track per babble talker, each starting at a different sentence, so no two talkers
    say the same thing at the same time."""
    texts = [
        " ".join(BABBLE_SENTENCES[(i * 2 + j) % len(BABBLE_SENTENCES)] for j in range(len(BABBLE_SENTENCES)))
        for i in range(len(talkers))
    ]
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        return list(pool.map(synthesize, texts, *zip(*talkers, strict=True)))


def babble(n: int, tracks: Sequence[Signal], talkers: Sequence[tuple[int, float, float]]) -> Signal:
    """Several talkers at once, each from its own start (wrapping round), at its own gain."""
    out = np.zeros(n)
    for index, start, gain in talkers:
        track = tracks[index]
        offset = int(start * len(track))
        out += gain * np.take(track, np.arange(offset, offset + n), mode="wrap")
    return out


def speech_for(spec: Spec) -> Signal:
    """The question with silence before and after, and the pause if the spec has one."""

    def silence(seconds: float) -> Signal:
        return np.zeros(round(seconds * ESPEAK_RATE))

    halves = split_for_pause(spec.question.text) if spec.pause_s else None
    if halves is None:
        parts = [synthesize(spec.question.text, spec.voice, spec.speed)]
    else:
        first, second = (synthesize(half, spec.voice, spec.speed) for half in halves)
        parts = [first, silence(spec.pause_s), second]
    return np.concatenate([silence(spec.lead_s), *parts, silence(spec.trail_s)])


def noise_for(spec: Spec, n: int, tracks: Sequence[Signal]) -> Signal | None:
    if spec.noise == "pink":
        return pink_noise(n, ESPEAK_RATE, np.random.default_rng(spec.noise_seed))
    if spec.noise == "babble":
        return babble(n, tracks, spec.babble)
    return None


def to_format(signal: Signal, fmt: Format) -> Signal:
    """Resampled (soxr HQ), made stereo where asked, and scaled down if it would clip."""
    out = signal
    if fmt.sample_rate != ESPEAK_RATE:
        out = np.asarray(soxr.resample(signal, ESPEAK_RATE, fmt.sample_rate, quality="HQ"), dtype=np.float64)
    if fmt.channels == 2:
        out = np.stack([out, SECOND_CHANNEL_GAIN * out], axis=1)
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    return out * (PEAK / peak) if peak > PEAK else out


def encode(signal: Signal, fmt: Format) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, signal, fmt.sample_rate, subtype=fmt.subtype, format="WAV")
    return zero_peak_timestamp(buffer.getvalue())


def zero_peak_timestamp(wav: bytes) -> bytes:
    """libsndfile stamps float WAVs' PEAK chunk with the current time; zero it so that two builds
    give the same bytes."""
    out = bytearray(wav)
    pos = 12
    while pos + 8 <= len(out):
        size = int.from_bytes(out[pos + 4 : pos + 8], "little")
        if out[pos : pos + 4] == b"PEAK":
            out[pos + 12 : pos + 16] = bytes(4)
        pos += 8 + size + (size & 1)
    return bytes(out)


def render(spec: Spec, tracks: Sequence[Signal]) -> bytes:
    speech = speech_for(spec)
    noise = noise_for(spec, len(speech), tracks)
    mixed = speech if noise is None or spec.snr_db is None else mix(speech, noise, spec.snr_db, ESPEAK_RATE)
    return encode(to_format(mixed, spec.format), spec.format)


# ---------------------------------------------------------------- build, cache, manifest


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_key(source: Path, limit: int | None, seed: int, cast: str = "dev") -> dict[str, Any]:
    """Everything the files depend on; a manifest recording the same key can be reused."""
    return {
        "version": MANIFEST_VERSION,
        "seed": seed,
        "limit": limit,
        "cast": cast,
        "source_sha256": sha256(source.read_bytes()),
        "module_sha256": sha256(Path(__file__).read_bytes()),
        "espeak_ng": espeak_version(),
    }


def clip_from_record(out_dir: Path, record: dict[str, Any]) -> Clip:
    return Clip(
        path=out_dir / record["file"],
        text=record["text"],
        expect=record["expect"],
        also=tuple(record["also"]),
        voice=record["voice"],
        speed=record["speed"],
        noise=record["noise"],
        snr_db=record["snr_db"],
        sample_rate=record["sample_rate"],
        channels=record["channels"],
        sample_format=record["sample_format"],
        pause_s=record["pause_s"],
        seconds=record["seconds"],
    )


def read_manifest(out_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(build key, clip records); raises OSError or ValueError when it is missing or malformed."""
    lines = (out_dir / MANIFEST).read_text(encoding="utf-8").splitlines()
    if not lines:
        raise ValueError("empty manifest")
    header = json.loads(lines[0])
    if not isinstance(header, dict) or "build" not in header:
        raise ValueError("manifest has no build line")
    return header["build"], [json.loads(line) for line in lines[1:] if line.strip()]


def load_manifest(out_dir: Path) -> list[Clip]:
    """The clips a previous build recorded in out_dir."""
    return [clip_from_record(out_dir, record) for record in read_manifest(out_dir)[1]]


def reusable(out_dir: Path, key: dict[str, Any]) -> list[Clip] | None:
    """The cached clips, if out_dir holds a build with this key whose files are intact."""
    try:
        build_info, records = read_manifest(out_dir)
        if {k: build_info.get(k) for k in key} != key or build_info.get("clips") != len(records):
            return None
        for record in records:
            if sha256((out_dir / record["file"]).read_bytes()) != record["sha256"]:
                return None
        return [clip_from_record(out_dir, record) for record in records]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def build_or_reuse(
    out_dir: Path, source: Path, limit: int | None = None, seed: int = 0, cast: str = "dev"
) -> tuple[list[Clip], bool]:
    """(clips, whether they were reused from the cache)."""
    key = build_key(source, limit, seed, cast)
    cached = reusable(out_dir, key)
    if cached is not None:
        return cached, True

    specs = plan(load(source), limit, seed, cast)
    talkers = CASTS[cast][1]
    tracks = babble_tracks(talkers) if any(spec.noise == "babble" for spec in specs) else []
    # Threads suffice: the work is in espeak-ng processes and numpy, both outside the GIL.
    # Each spec carries its own seed, so the order in which they finish changes nothing.
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        rendered = list(pool.map(lambda spec: render(spec, tracks), specs))

    out_dir.mkdir(parents=True, exist_ok=True)
    try:  # Remove the previous build's files, and only those: out_dir may hold other things.
        for record in read_manifest(out_dir)[1]:
            (out_dir / Path(record["file"]).name).unlink(missing_ok=True)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    records = []
    for spec, wav in zip(specs, rendered, strict=True):
        (out_dir / spec.name).write_bytes(wav)
        fmt = spec.format
        records.append(
            {
                "file": spec.name,
                "text": spec.question.text,
                "expect": spec.question.expect,
                "also": list(spec.question.also),
                "voice": spec.voice,
                "speed": spec.speed,
                "noise": spec.noise,
                "snr_db": spec.snr_db,
                "pause_s": spec.pause_s,
                "sample_rate": fmt.sample_rate,
                "channels": fmt.channels,
                "sample_format": fmt.subtype,
                "seconds": round(sf.info(io.BytesIO(wav)).duration, 3),
                "sha256": sha256(wav),
            }
        )
    # The manifest goes last, through a rename, so an interrupted build is never taken for a cache.
    header = {"build": {**key, "source": str(source), "clips": len(records)}}
    temporary = out_dir / f"{MANIFEST}.tmp"
    temporary.write_text("".join(json.dumps(line) + "\n" for line in [header, *records]), encoding="utf-8")
    temporary.replace(out_dir / MANIFEST)
    return [clip_from_record(out_dir, record) for record in records], False


def build(
    out_dir: Path, source: Path, limit: int | None = None, seed: int = 0, cast: str = "dev"
) -> list[Clip]:
    """Write (or reuse) the spoken set for source into out_dir and return its clips."""
    return build_or_reuse(out_dir, source, limit, seed, cast)[0]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.spoken_set", description="Build the spoken question set from a text set."
    )
    parser.add_argument("--set", choices=("dev", "holdout"), default="dev", help="text set to speak")
    parser.add_argument(
        "--out", type=Path, help="folder for the WAVs (default tests/artifacts/spoken-<set>[-<cast>])"
    )
    parser.add_argument(
        "--limit", type=int, help="number of clips (default 150: 100 in scope, 30 out, 20 emergencies)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--cast",
        choices=sorted(CASTS),
        default="dev",
        help="voices: dev (the tuned-on ones) or fresh (others, for a held-out check)",
    )
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    suffix = "" if args.cast == "dev" else f"-{args.cast}"
    out_dir = args.out or ARTIFACTS / f"spoken-{args.set}{suffix}"
    started = time.perf_counter()
    try:
        clips, reused = build_or_reuse(out_dir, DATA / f"{args.set}.jsonl", args.limit, args.seed, args.cast)
    except SpokenSetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - started
    kinds = {kind: sum(Labelled(c.text, c.expect).kind == kind for c in clips) for kind in KINDS}
    noises = {noise: sum(c.noise == noise for c in clips) for noise in NOISES}
    print(
        f"{'reused' if reused else 'wrote'} {len(clips)} clips in {out_dir} in {seconds:.1f} s: "
        + ", ".join(f"{count} {name}" for name, count in {**kinds, **noises}.items())
        + f", {sum(c.pause_s > 0 for c in clips)} with a pause; "
        + f"{sum(c.seconds for c in clips) / 60:.1f} minutes of audio"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
