"""The spoken question set: selection, mixing, formats, manifest, reproducibility, cache.

A 12-clip build of the dev set is made once per module (about a second); no speech
recognition is involved.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from tools import spoken_set
from tools.quality import DATA, load
from tools.spoken_set import (
    BABBLE_SENTENCES,
    ESPEAK_RATE,
    FORMATS,
    NOISES,
    SPEEDS,
    VOICES,
    Clip,
    Format,
    Signal,
    SpokenSetError,
    active_rms,
    apportion,
    babble_tracks,
    build,
    build_or_reuse,
    load_manifest,
    mix,
    noise_for,
    pink_noise,
    plan,
    quotas,
    rms,
    speech_for,
    split_for_pause,
    to_format,
)
from voice.core.config import default_answers_dir

LIMIT = 12
DEV = DATA / "dev.jsonl"


@dataclass(frozen=True, slots=True)
class Built:
    out_dir: Path
    clips: list[Clip]
    seconds: float
    """Wall time of the first (uncached) build."""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    assert shutil.which("espeak-ng"), "espeak-ng is needed for the spoken set: apt-get install espeak-ng sox"
    out_dir = tmp_path_factory.mktemp("spoken") / "a"
    started = time.perf_counter()
    clips, reused = build_or_reuse(out_dir, DEV, limit=LIMIT, seed=0)
    assert not reused
    return Built(out_dir, clips, time.perf_counter() - started)


def _frame_rms(samples: Signal, rate: int, frame_s: float = 0.02) -> Signal:
    frame = int(rate * frame_s)
    frames = samples[: len(samples) // frame * frame].reshape(-1, frame)
    energy: Signal = np.sqrt(np.mean(np.square(frames), axis=1))
    return energy


def _snr_db(speech: Signal, noise: Signal, rate: int) -> float:
    return 20 * float(np.log10(active_rms(speech, rate) / rms(noise)))


# ---------------------------------------------------------------- plan (no audio)


def test_default_plan_is_stratified_and_spread() -> None:
    questions = load(DEV)
    specs = plan(questions)
    kinds = Counter(spec.question.kind for spec in specs)
    assert kinds == {"in_scope": 100, "fallback": 30, "emergency": 20}
    entry_ids = {q.expect for q in questions if q.kind == "in_scope"}
    assert {spec.question.expect for spec in specs if spec.question.kind == "in_scope"} == entry_ids
    assert Counter(spec.noise for spec in specs) == {"clean": 38, "babble": 56, "pink": 56}
    for noise in ("babble", "pink"):
        snrs = Counter(spec.snr_db for spec in specs if spec.noise == noise)
        assert set(snrs) == {20.0, 10.0, 5.0} and max(snrs.values()) - min(snrs.values()) <= 1
    assert all(spec.snr_db is None for spec in specs if spec.noise == "clean")
    for values, used in (
        (VOICES, [s.voice for s in specs]),
        (SPEEDS, [s.speed for s in specs]),
        (FORMATS, [s.format for s in specs]),
    ):
        counts = Counter(used)
        assert set(counts) == set(values)
    assert sum(spec.format.subtype == "PCM_16" for spec in specs) > len(specs) / 2
    assert 0 < sum(spec.format.channels == 2 for spec in specs) < len(specs) / 4
    for noise in NOISES:  # every noise kind has clips with and without a pause
        assert {spec.pause_s > 0 for spec in specs if spec.noise == noise} == {True, False}
    for spec in specs:
        assert 0.3 <= spec.lead_s <= 0.8 and 0.3 <= spec.trail_s <= 0.8
        assert spec.pause_s == 0 or 0.6 <= spec.pause_s <= 1.0
    assert len({spec.name for spec in specs}) == len(specs)


def test_the_fresh_cast_shares_no_voice_with_the_dev_cast() -> None:
    dev_voices, dev_talkers = spoken_set.CASTS["dev"]
    fresh_voices, fresh_talkers = spoken_set.CASTS["fresh"]
    dev = set(dev_voices) | {voice for voice, _ in dev_talkers}
    fresh = set(fresh_voices) | {voice for voice, _ in fresh_talkers}
    assert not dev & fresh
    specs = plan(load(DATA / "holdout.jsonl"), cast="fresh", seed=11)
    assert {spec.voice for spec in specs} == set(fresh_voices)
    assert {index for spec in specs for index, _, _ in spec.babble} <= set(range(len(fresh_talkers)))
    assert plan(load(DEV), limit=20, cast="fresh") != plan(load(DEV), limit=20)


def test_plan_is_deterministic_and_depends_on_seed() -> None:
    questions = load(DEV)
    assert plan(questions, seed=3) == plan(questions, seed=3)
    assert plan(questions, seed=3) != plan(questions, seed=4)


@pytest.mark.parametrize("limit", [1, 5, 12, 40, 75])
def test_limit_scales_the_quota_down(limit: int) -> None:
    kinds = Counter(spec.question.kind for spec in plan(load(DEV), limit=limit))
    assert sum(kinds.values()) == limit
    for kind, share in (("in_scope", 100 / 150), ("fallback", 30 / 150), ("emergency", 20 / 150)):
        assert abs(kinds[kind] - limit * share) < 1


def test_quotas_hand_a_short_kind_s_share_on() -> None:
    assert apportion(150, (100, 30, 20)) == [100, 30, 20]
    assert quotas(None, [300, 60, 5]) == [115, 30, 5]  # 15 emergencies missing: more in scope
    assert quotas(None, [50, 10, 5]) == [50, 10, 5]  # fewer questions than the quota: all of them
    assert quotas(12, [300, 60, 30]) == [8, 2, 2]


@pytest.mark.parametrize(
    ("text", "halves"),
    [
        ("i cant breed, help me", ("i cant breed,", "help me")),
        ("why do i keep falling down", ("why do i", "keep falling down")),
        ("stiff legs", None),
    ],
)
def test_pause_splits_at_a_comma_or_the_middle(text: str, halves: tuple[str, str] | None) -> None:
    assert split_for_pause(text) == halves


def test_babble_says_no_faq_words() -> None:
    faq_text = " ".join(path.read_text(encoding="utf-8") for path in default_answers_dir().rglob("*.yaml"))
    faq_text += " ".join(q.text for name in ("dev.jsonl", "holdout.jsonl") for q in load(DATA / name))
    faq_words = set(re.findall(r"[a-z]+", faq_text.lower()))
    # Function words carry no topic; everything else said in the waiting room must be off-topic.
    function_words = set("a an and are at but by did each for i in is my of on our".split())
    function_words |= set("than the then they to was we with you".split())
    babble_words = set(re.findall(r"[a-z]+", " ".join(BABBLE_SENTENCES).lower())) - function_words - {"s"}
    assert babble_words & faq_words == set()


# ---------------------------------------------------------------- mixing


def test_mix_hits_the_target_snr_on_synthetic_signals() -> None:
    rate = 16_000
    rng = np.random.default_rng(1)
    t = np.arange(rate) / rate
    # A tone burst between silences: the SNR must be on the burst's level, not the whole clip's.
    speech = np.concatenate([np.zeros(rate), 0.4 * np.sin(2 * np.pi * 440 * t), np.zeros(rate)])
    noise = rng.standard_normal(len(speech)) * 3.0
    for snr in (20.0, 10.0, 5.0, 0.0):
        added = mix(speech, noise, snr, rate) - speech
        measured = 20 * np.log10(rms(speech[rate : 2 * rate]) / rms(added))
        assert measured == pytest.approx(snr, abs=0.5)


def test_mix_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="samples"):
        mix(np.zeros(10), np.zeros(11), 10.0, 16_000)


def test_pink_noise_is_pink_and_reproducible() -> None:
    rate = 16_000
    noise = pink_noise(rate * 4, rate, np.random.default_rng(7))
    assert np.array_equal(noise, pink_noise(rate * 4, rate, np.random.default_rng(7)))
    assert rms(noise) == pytest.approx(1.0)
    power = np.abs(np.fft.rfft(noise)) ** 2
    freqs = np.fft.rfftfreq(len(noise), 1 / rate)

    def band(low: float) -> float:  # power per octave is flat for 1/f noise
        return float(power[(freqs >= low) & (freqs < 2 * low)].sum())

    assert band(250) / band(2000) == pytest.approx(1.0, rel=0.3)


def test_loud_mixes_are_scaled_down_not_clipped() -> None:
    loud = np.sin(np.linspace(0, 200, 22_050)) * 1.7
    for fmt in (Format(16_000, 1, "PCM_16"), Format(48_000, 2, "FLOAT")):
        out = to_format(loud, fmt)
        assert np.max(np.abs(out)) == pytest.approx(0.99)
    quiet = to_format(loud * 0.1, Format(ESPEAK_RATE, 1, "PCM_16"))
    assert np.array_equal(quiet, loud * 0.1)


def test_noisy_clips_are_at_their_snr(built: Built) -> None:
    """Each noisy file, fitted as a*speech + b*noise (both re-rendered and resampled alike), gives
    the declared SNR: resampling, stereo, peak scaling and quantisation leave it intact."""
    specs = plan(load(DEV), limit=LIMIT, seed=0)
    tracks = babble_tracks()
    noisy = [(spec, clip) for spec, clip in zip(specs, built.clips, strict=True) if clip.snr_db is not None]
    assert {clip.noise for _, clip in noisy} == {"babble", "pink"}
    for spec, clip in noisy:
        speech = speech_for(spec)
        noise = noise_for(spec, len(speech), tracks)
        assert noise is not None and clip.snr_db is not None
        samples, rate = sf.read(clip.path, always_2d=True)
        parts = np.stack(
            [
                soxr.resample(x, ESPEAK_RATE, rate, quality="HQ") if rate != ESPEAK_RATE else x
                for x in (speech, noise)
            ],
            axis=1,
        )
        (a, b), *_ = np.linalg.lstsq(parts[: len(samples)], samples[:, 0], rcond=None)
        assert _snr_db(a * speech, b * noise, ESPEAK_RATE) == pytest.approx(clip.snr_db, abs=0.5), (
            clip.path.name
        )


# ---------------------------------------------------------------- the built set


def test_manifest_matches_the_files(built: Built) -> None:
    assert load_manifest(built.out_dir) == built.clips
    assert len(built.clips) == LIMIT
    assert sorted(p.name for p in built.out_dir.glob("*.wav")) == sorted(c.path.name for c in built.clips)
    _, records = spoken_set.read_manifest(built.out_dir)
    for record, clip in zip(records, built.clips, strict=True):
        assert hashlib.sha256(clip.path.read_bytes()).hexdigest() == record["sha256"]


def test_every_clip_decodes_at_its_declared_format(built: Built) -> None:
    assert len({(c.sample_rate, c.channels, c.sample_format) for c in built.clips}) >= 5
    for clip in built.clips:
        info = sf.info(clip.path)
        assert (info.format, info.samplerate, info.channels, info.subtype) == (
            "WAV",
            clip.sample_rate,
            clip.channels,
            clip.sample_format,
        )
        samples, _ = sf.read(clip.path, always_2d=True)
        assert samples.shape == (info.frames, clip.channels)
        assert np.max(np.abs(samples)) <= 0.9922  # 0.99, rounded up to the nearest 8-bit step
        assert rms(samples[:, 0]) > 0.01


def test_durations_are_plausible(built: Built) -> None:
    for clip in built.clips:
        assert 0.5 < clip.seconds < 30
        assert clip.seconds == pytest.approx(sf.info(clip.path).duration, abs=0.001)


def test_labels_come_through_unchanged(built: Built) -> None:
    labels = {(q.text, q.expect, q.also) for q in load(DEV)}
    for clip in built.clips:
        assert (clip.text, clip.expect, clip.also) in labels
    assert {"emergency", "fallback"} <= {clip.expect for clip in built.clips}


def test_a_paused_clip_has_a_silent_stretch_mid_sentence(built: Built) -> None:
    paused = [clip for clip in built.clips if clip.pause_s > 0 and clip.noise == "clean"]
    assert paused, "the plan gives every noise kind some pauses"
    for clip in paused:
        samples, rate = sf.read(clip.path, always_2d=True)
        energy = _frame_rms(samples[:, 0], rate)
        loud = energy > 0.1 * np.max(energy)
        speaking = np.flatnonzero(loud)
        inside = ~loud[speaking[0] : speaking[-1]]  # quiet frames between the first and last word
        longest, run = 0, 0
        for quiet in inside:
            run = run + 1 if quiet else 0
            longest = max(longest, run)
        assert longest * 0.02 >= 0.5, clip.path.name


def test_a_second_build_reuses_the_files_and_a_fresh_one_is_identical(built: Built, tmp_path: Path) -> None:
    mtimes = {p.name: p.stat().st_mtime_ns for p in built.out_dir.iterdir()}
    started = time.perf_counter()
    clips, reused = build_or_reuse(built.out_dir, DEV, limit=LIMIT, seed=0)
    assert reused and clips == built.clips
    assert time.perf_counter() - started < built.seconds
    assert {p.name: p.stat().st_mtime_ns for p in built.out_dir.iterdir()} == mtimes

    again = build(tmp_path / "b", DEV, limit=LIMIT, seed=0)
    assert [c.path.read_bytes() for c in again] == [c.path.read_bytes() for c in built.clips]
    manifest = spoken_set.MANIFEST
    assert (tmp_path / "b" / manifest).read_bytes() == (built.out_dir / manifest).read_bytes()


def test_a_tampered_file_or_another_seed_rebuilds(built: Built, tmp_path: Path) -> None:
    out_dir = tmp_path / "copy"
    shutil.copytree(built.out_dir, out_dir)
    victim = out_dir / built.clips[0].path.name
    victim.write_bytes(victim.read_bytes()[:-2] + b"\x00\x01")
    _, reused = build_or_reuse(out_dir, DEV, limit=LIMIT, seed=0)
    assert not reused and victim.read_bytes() == built.clips[0].path.read_bytes()

    clips, reused = build_or_reuse(out_dir, DEV, limit=LIMIT, seed=1)
    assert not reused
    # The seed-0 files that seed 1 did not write again are gone; nothing else is left behind.
    assert sorted(p.name for p in out_dir.glob("*.wav")) == sorted(c.path.name for c in clips)


def test_missing_espeak_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SpokenSetError, match="apt-get install espeak-ng sox"):
        build(tmp_path / "out", DEV, limit=2)
    assert spoken_set.main(["--out", str(tmp_path / "out"), "--limit", "2"]) == 1
    assert "apt-get install espeak-ng sox" in capsys.readouterr().err


def test_command_line_builds_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert spoken_set.main(["--set", "holdout", "--out", str(tmp_path), "--limit", "3"]) == 0
    assert "wrote 3 clips" in capsys.readouterr().out
    assert spoken_set.main(["--set", "holdout", "--out", str(tmp_path), "--limit", "3"]) == 0
    assert "reused 3 clips" in capsys.readouterr().out
    assert {clip.text for clip in load_manifest(tmp_path)} <= {q.text for q in load(DATA / "holdout.jsonl")}
