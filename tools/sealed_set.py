"""The sealed spoken set: every question of tests/data/sealed.jsonl, spoken once, by voices,
at rates, over noises and with a seed that no other spoken set uses.

    .venv/bin/python -m tools.sealed_set [--out DIR] [--seed N]

A held-out set for before-and-after figures (tools.sealed scores it): never tune on it,
never read its questions or transcripts while tuning. It differs from the dev and fresh
spoken sets (tools.spoken_plan) on purpose:

- question voices and babble talkers that speak in neither of those casts;
- slower speakers (90 to 160 words a minute, two clips in three at 120 or less) and longer
  mid-sentence pauses (1 to 2 s, in two clips in five that can be split);
- noise kinds the dev set never uses, beside babble and pink noise: brown noise, a
  ventilation hum (mains-locked fan harmonics over low airflow noise) and room
  reverberation (a synthetic room response, alone and under babble); and SNRs it never
  uses (15, 3 and 2 dB).

Rendering reuses tools.spoken_audio (espeak-ng, babble, pink noise, mixing, file formats),
so the dev set's plan, audio and recorded transcripts are untouched. Deterministic: every
random draw comes from numpy.random.default_rng(seed) in a fixed order, or from a clip's own
seed, and espeak-ng is deterministic. The WAVs and manifest.jsonl (tools.spoken_set's format,
plus each clip's "condition" and "room_rt60_s") go to tests/artifacts/spoken-sealed/.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from tools import spoken_audio
from tools.quality import DATA, Labelled, load
from tools.spoken_audio import (
    ESPEAK_RATE,
    Signal,
    babble_tracks,
    encode,
    mix,
    noise_for,
    rms,
    speech_for,
    to_format,
)
from tools.spoken_plan import FORMATS, KINDS, Spec, apportion, split_for_pause, spread
from tools.spoken_set import MANIFEST, Clip, clip_from_record, read_manifest, reusable, sha256

SOURCE = DATA / "sealed.jsonl"
OUT = Path(__file__).resolve().parents[1] / "tests" / "artifacts" / "spoken-sealed"
SEED = 7341
"""No other spoken set uses it (the dev set 0; the documented held-out rounds 1, 5, 11, 23)."""
MANIFEST_VERSION = 1
SOURCES = (
    Path(__file__),
    *(Path(__file__).with_name(f"spoken_{name}.py") for name in ("set", "plan", "audio")),
)
"""The code that decides the files' bytes, hashed into the cache key."""

VOICES = (
    "en-029+m3",
    "en-gb-x-gbclan+f3",
    "en-us-nyc+klatt3",
    "en-gb-scotland+m5",
    "en-us+croak",
    "en-gb-x-rp+f2",
    "en-us+m7",
)
"""Question voices: Caribbean, Lancashire, New York, Scottish, US and RP accents; none speaks,
as question or babble, in tools.spoken_plan's dev or fresh cast."""
BABBLE_TALKERS = (
    ("en-gb+m3", 175),
    ("en-us+f5", 160),
    ("en-gb-x-rp+m4", 150),
    ("en-029+f3", 180),
    ("en-us-nyc+m1", 165),
    ("en-gb-scotland+f4", 155),
)
"""(voice, words a minute) of the other talkers: new too, and none a question voice here."""
SPEEDS = (90, 100, 110, 120, 140, 160)
"""Words a minute: slow speakers, as many of our users are, and two normal rates."""
PAUSE_SHARE = 0.4
"""Share of the clips that can be split with a pause mid-sentence."""
PAUSE_S = (1.0, 2.0)
"""Range of a mid-sentence pause, in seconds."""
LEAD_TRAIL_S = (0.3, 1.0)
"""Range of the silence before and after the question, in seconds."""
RT60_S = (0.5, 1.0)
"""Range of a reverberant room's decay time (60 dB), in seconds: a tiled waiting room or
bathroom rather than a furnished living room."""
DRR_DB = (-2.0, 4.0)
"""Range of the direct-to-reverberant energy ratio, in dB: a speaker a metre or two away."""


@dataclass(frozen=True, slots=True)
class Condition:
    name: str
    noise: str
    """"clean", "babble", "pink", "brown" or "hum"."""
    snr_db: float | None
    room: bool
    """Whether the speech is reverberated (before any noise is added)."""
    weight: int


CONDITIONS = (
    Condition("clean", "clean", None, False, 40),
    Condition("reverb", "clean", None, True, 20),
    Condition("babble 15 dB", "babble", 15.0, False, 20),
    Condition("babble 10 dB", "babble", 10.0, False, 20),
    Condition("babble 3 dB", "babble", 3.0, False, 12),
    Condition("pink 15 dB", "pink", 15.0, False, 18),
    Condition("pink 5 dB", "pink", 5.0, False, 18),
    Condition("brown 10 dB", "brown", 10.0, False, 20),
    Condition("brown 2 dB", "brown", 2.0, False, 10),
    Condition("hum 15 dB", "hum", 15.0, False, 18),
    Condition("hum 5 dB", "hum", 5.0, False, 18),
    Condition("reverb + babble 10 dB", "babble", 10.0, True, 16),
)
"""Each kind of question (in scope, out of scope, emergency) is shared out over these in
proportion to the weights, so every condition has some of each."""


@dataclass(frozen=True, slots=True)
class SealedSpec:
    """How to render one clip: tools.spoken_plan's Spec plus the room."""

    spec: Spec
    condition: str
    room_rt60_s: float
    """0.0 for no reverberation."""
    room_drr_db: float


# ---------------------------------------------------------------- the plan


def plan(questions: Sequence[Labelled], seed: int = SEED) -> list[SealedSpec]:
    """Every question once, in a random order; draws happen in a fixed order."""
    rng = np.random.default_rng(seed)
    order = [questions[i] for i in rng.permutation(len(questions))]
    n = len(order)
    assigned: list[Condition | None] = [None] * n
    for kind in KINDS:
        members = [i for i, q in enumerate(order) if q.kind == kind]
        counts = apportion(len(members), [c.weight for c in CONDITIONS])
        pool = [c for c, count in zip(CONDITIONS, counts, strict=True) for _ in range(count)]
        for i, j in zip(members, rng.permutation(len(pool)), strict=True):
            assigned[i] = pool[j]
    conditions = [c for c in assigned if c is not None]
    voices = spread(VOICES, n, rng)
    speeds = spread(SPEEDS, n, rng)
    formats = spread(FORMATS, n, rng)
    eligible = [i for i, q in enumerate(order) if split_for_pause(q.text) is not None]
    paused = {int(i) for i in rng.choice(eligible, round(len(eligible) * PAUSE_SHARE), replace=False)}

    specs = []
    for i, question in enumerate(order):
        condition = conditions[i]
        lead_s, trail_s = (round(float(x), 3) for x in rng.uniform(*LEAD_TRAIL_S, 2))
        pause_s = round(float(rng.uniform(*PAUSE_S)), 3)
        talkers = rng.choice(
            len(BABBLE_TALKERS), int(rng.integers(4, len(BABBLE_TALKERS) + 1)), replace=False
        )
        babble = tuple(
            (int(t), round(float(rng.uniform()), 6), round(float(rng.uniform(0.5, 1.0)), 3)) for t in talkers
        )
        rt60 = round(float(rng.uniform(*RT60_S)), 3)
        drr = round(float(rng.uniform(*DRR_DB)), 2)
        spec = Spec(
            name=f"{i:03d}-{question.expect}.wav",
            question=question,
            voice=voices[i],
            speed=speeds[i],
            noise=condition.noise,
            snr_db=condition.snr_db,
            format=formats[i],
            lead_s=lead_s,
            trail_s=trail_s,
            pause_s=pause_s if i in paused else 0.0,
            babble=babble if condition.noise == "babble" else (),
            noise_seed=int(rng.integers(2**63)),
        )
        specs.append(
            SealedSpec(spec, condition.name, rt60 if condition.room else 0.0, drr if condition.room else 0.0)
        )
    return specs


# ---------------------------------------------------------------- the new noises


def _unit(signal: Signal) -> Signal:
    level = rms(signal)
    return signal / level if level else signal


def brown_noise(n: int, rate: int, rng: np.random.Generator) -> Signal:
    """Brown (1/f^2 power) noise of unit RMS: a low rumble, like traffic through a wall or
    a lift motor. Below 20 Hz is left out, as for pink noise."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    audible = freqs >= 20.0
    spectrum[audible] /= freqs[audible]
    spectrum[~audible] = 0
    return _unit(np.fft.irfft(spectrum, n))


def hum_noise(n: int, rate: int, rng: np.random.Generator) -> Signal:
    """A ventilation unit of unit RMS: a fan locked near mains frequency (50 or 60 Hz) with
    eight harmonics, over airflow noise low-passed near 800 Hz, slowly swelling."""
    t = np.arange(n) / rate
    f0 = float(rng.choice([50.0, 60.0])) * float(rng.uniform(0.98, 1.02))
    tones = np.zeros(n)
    for k in range(1, 9):
        tones += (
            float(rng.uniform(0.5, 1.0)) / k**0.8 * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi))
        )
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / rate)
    spectrum *= 1 / (1 + (freqs / 800.0) ** 4)
    spectrum[freqs < 20.0] = 0
    airflow = _unit(np.fft.irfft(spectrum, n)) * 0.7 * rms(tones)
    swell = 1 + 0.15 * np.sin(2 * np.pi * float(rng.uniform(0.1, 0.4)) * t + rng.uniform(0, 2 * np.pi))
    return _unit((tones + airflow) * swell)


def room_response(rt60_s: float, drr_db: float, rate: int, rng: np.random.Generator) -> Signal:
    """A synthetic room impulse response: the direct sound, then after 4 ms a tail of
    exponentially decaying noise (60 dB down after rt60_s), dulled above 4 kHz as air and
    soft furnishings do, at drr_db below the direct sound's energy."""
    length = max(1, round(rt60_s * rate))
    t = np.arange(length) / rate
    tail = rng.standard_normal(length) * np.exp(-6.908 * t / rt60_s)
    tail[: round(0.004 * rate)] = 0
    spectrum = np.fft.rfft(tail)
    spectrum *= 1 / (1 + (np.fft.rfftfreq(length, 1 / rate) / 4000.0) ** 2)
    tail = np.fft.irfft(spectrum, length)
    energy = float(np.sum(np.square(tail)))
    if energy:
        tail *= np.sqrt(10 ** (-drr_db / 10) / energy)
    tail[0] += 1.0
    return tail


def reverberate(speech: Signal, response: Signal) -> Signal:
    """speech heard in the room: convolved with its response, the decay kept at the end."""
    n = len(speech) + len(response) - 1
    size = 1 << (n - 1).bit_length()
    out = np.fft.irfft(np.fft.rfft(speech, size) * np.fft.rfft(response, size), size)[:n]
    return np.asarray(out, dtype=np.float64)


def render(sealed: SealedSpec, tracks: Sequence[Signal]) -> bytes:
    spec = sealed.spec
    speech = speech_for(spec)
    if sealed.room_rt60_s:
        room_rng = np.random.default_rng([spec.noise_seed, 1])
        speech = reverberate(
            speech, room_response(sealed.room_rt60_s, sealed.room_drr_db, ESPEAK_RATE, room_rng)
        )
    n, rng = len(speech), np.random.default_rng(spec.noise_seed)
    noise: Signal | None
    if spec.noise == "brown":
        noise = brown_noise(n, ESPEAK_RATE, rng)
    elif spec.noise == "hum":
        noise = hum_noise(n, ESPEAK_RATE, rng)
    else:
        noise = noise_for(spec, n, tracks)
    mixed = speech if noise is None or spec.snr_db is None else mix(speech, noise, spec.snr_db, ESPEAK_RATE)
    return encode(to_format(mixed, spec.format), spec.format)


# ---------------------------------------------------------------- build, cache, manifest


def build_key(source: Path = SOURCE, seed: int = SEED) -> dict[str, Any]:
    """Everything the files depend on; a manifest recording the same key can be reused."""
    return {
        "version": MANIFEST_VERSION,
        "set": "sealed",
        "seed": seed,
        "source_sha256": sha256(source.read_bytes()),
        "module_sha256": sha256(b"".join(path.read_bytes() for path in SOURCES)),
        "espeak_ng": spoken_audio.espeak_version(),
    }


def conditions(out_dir: Path = OUT) -> dict[str, str]:
    """Each clip's condition ("hum 5 dB", "reverb"), by file name, as its manifest records it."""
    return {record["file"]: record["condition"] for record in read_manifest(out_dir)[1]}


def build_or_reuse(out_dir: Path = OUT, source: Path = SOURCE, seed: int = SEED) -> tuple[list[Clip], bool]:
    """(clips, whether they were reused from the cache)."""
    key = build_key(source, seed)
    cached = reusable(out_dir, key)
    if cached is not None:
        return cached, True
    specs = plan(load(source), seed)
    tracks = babble_tracks(BABBLE_TALKERS)
    # Two workers: the work is in espeak-ng and numpy, outside the GIL, on a shared machine.
    with ThreadPoolExecutor(max_workers=2) as pool:
        rendered = list(pool.map(lambda sealed: render(sealed, tracks), specs))
    out_dir.mkdir(parents=True, exist_ok=True)
    try:  # Remove the previous build's files, and only those.
        for record in read_manifest(out_dir)[1]:
            (out_dir / Path(record["file"]).name).unlink(missing_ok=True)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    records = []
    for sealed, wav in zip(specs, rendered, strict=True):
        spec, fmt = sealed.spec, sealed.spec.format
        (out_dir / spec.name).write_bytes(wav)
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
                "condition": sealed.condition,
                "room_rt60_s": sealed.room_rt60_s,
            }
        )
    header = {"build": {**key, "source": str(source), "clips": len(records)}}
    temporary = out_dir / f"{MANIFEST}.tmp"
    temporary.write_text("".join(json.dumps(line) + "\n" for line in [header, *records]), encoding="utf-8")
    temporary.replace(out_dir / MANIFEST)
    return [clip_from_record(out_dir, record) for record in records], False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.sealed_set", description="Build the sealed spoken set."
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder for the WAVs (default {OUT})")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        clips, reused = build_or_reuse(args.out, SOURCE, args.seed)
    except spoken_audio.SpokenSetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    by_condition = conditions(args.out)
    counts = {c.name: sum(name == c.name for name in by_condition.values()) for c in CONDITIONS}
    seconds = time.perf_counter() - started
    paused = sum(c.pause_s > 0 for c in clips)
    slow = sum(c.speed <= 120 for c in clips)
    print(
        f"{'reused' if reused else 'wrote'} {len(clips)} clips in {args.out} in {seconds:.1f} s: "
        + ", ".join(f"{count} {name}" for name, count in counts.items())
        + f"; {paused} with a pause, {slow} at 120 wpm or less; "
        + f"{sum(c.seconds for c in clips) / 60:.1f} minutes of audio"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
