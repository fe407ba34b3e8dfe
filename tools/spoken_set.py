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
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import soundfile as sf

from tools import spoken_audio
from tools.quality import Labelled, load
from tools.spoken_audio import (  # noqa: F401  (re-exported: the tests and benchmarks import them here)
    ESPEAK_RATE,
    Signal,
    SpokenSetError,
    active_rms,
    babble_tracks,
    mix,
    noise_for,
    pink_noise,
    render,
    rms,
    speech_for,
    spoken,
    to_format,
)
from tools.spoken_plan import (  # noqa: F401  (re-exported, as above)
    BABBLE_SENTENCES,
    CASTS,
    FORMATS,
    KINDS,
    NOISES,
    SPEEDS,
    VOICES,
    Format,
    Spec,
    apportion,
    plan,
    quotas,
    split_for_pause,
)

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
ARTIFACTS = Path(__file__).resolve().parents[1] / "tests" / "artifacts"
MANIFEST = "manifest.jsonl"
MANIFEST_VERSION = 1
SOURCES = tuple(Path(__file__).with_name(f"spoken_{name}.py") for name in ("set", "plan", "audio"))
"""The code that decides the files' bytes, hashed into the cache key."""


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
        "module_sha256": sha256(b"".join(path.read_bytes() for path in SOURCES)),
        "espeak_ng": spoken_audio.espeak_version(),
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
