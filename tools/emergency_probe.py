"""The spoken emergency probe: calls for help, and questions that sound like them, heard once.

    .venv/bin/python -m tools.emergency_probe record   # espeak-ng + whisper -> HEARD (10 to 20 minutes)
    .venv/bin/python -m tools.emergency_probe check    # replay HEARD: the table, each miss and false alarm
    .venv/bin/python -m tools.emergency_probe bless    # after an intended change: rewrite GOLDEN

SOURCE (tests/data/emergency-probe.jsonl) holds generic calls for help that name no symptom
("please help me", "somebody help", "it's an emergency", "help, help", with fillers and
slurred spellings), labelled "emergency", and questions with alarming or helping words in them
("can the therapist help me get up off the floor safely", "what counts as an emergency with
MS"), labelled with their entry or "fallback". Every line is spoken four times by the dev
cast's voices (tools.spoken_plan.VOICES; never the fresh cast) at 110 to 170 words a minute:
clean, and over babble or pink noise at 20, 10 and 5 dB SNR. whisper hears each clip as
`voicefaq ask --audio` does (tools.transcripts.hear), and HEARD records it in the format of
tests/fixtures/spoken-dev-heard.jsonl, so tests/test_emergency_probe.py replays it with no
recogniser. GOLDEN (tests/fixtures/emergency-probe-decisions.jsonl) holds, per clip, the
emergency taken from it (or null): the test compares every clip with it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from tools import spoken_audio
from tools.quality import DATA, Labelled, describe, load, table
from tools.spoken_plan import BABBLE_TALKERS, SNRS_DB, SPEEDS, VOICES, Format, Spec, spread
from tools.transcripts import FIXTURES, ROOT, Heard, differences, read_heard, replay, reports
from voice.core.matcher import Decision, Match, Matcher

SOURCE = DATA / "emergency-probe.jsonl"
HEARD = FIXTURES / "emergency-probe-heard.jsonl"
ARTIFACTS = ROOT / "tests" / "artifacts"
"""The clips go to ARTIFACTS/<the recording's name> (ignored by git)."""
GOLDEN = FIXTURES / "emergency-probe-decisions.jsonl"
RECORD = "python -m tools.emergency_probe record"
BLESS = "python -m tools.emergency_probe bless"
SEED = 11
FORMAT = Format(16_000, 1, "PCM_16")
SNRS: tuple[float | None, ...] = (None, *SNRS_DB)
"""Each line is spoken once clean and once at each SNR."""
SOURCES = tuple(
    Path(__file__).with_name(f"{name}.py") for name in ("emergency_probe", "spoken_plan", "spoken_audio")
)


def plan(questions: Sequence[Labelled], seed: int = SEED) -> list[Spec]:
    """Every clip's recipe: each question at every SNR, voices, speeds and noise kinds spread
    evenly and drawn from `seed` in a fixed order."""
    rng = np.random.default_rng(seed)
    n = len(questions) * len(SNRS)
    voices = spread(VOICES, n, rng)
    speeds = spread(SPEEDS, n, rng)
    noises = spread(("babble", "pink"), n, rng)
    specs = []
    for i in range(n):
        question, snr = questions[i // len(SNRS)], SNRS[i % len(SNRS)]
        lead_s, trail_s = (round(float(x), 3) for x in rng.uniform(0.3, 0.8, 2))
        talkers = rng.choice(
            len(BABBLE_TALKERS), int(rng.integers(4, len(BABBLE_TALKERS) + 1)), replace=False
        )
        babble = tuple(
            (int(t), round(float(rng.uniform()), 6), round(float(rng.uniform(0.5, 1.0)), 3)) for t in talkers
        )
        noise = "clean" if snr is None else noises[i]
        specs.append(
            Spec(
                name=f"{i:03d}-{'emergency' if question.kind == 'emergency' else 'question'}.wav",
                question=question,
                voice=voices[i],
                speed=speeds[i],
                noise=noise,
                snr_db=snr,
                format=FORMAT,
                lead_s=lead_s,
                trail_s=trail_s,
                pause_s=0.0,
                babble=babble if noise == "babble" else (),
                noise_seed=int(rng.integers(2**63)),
            )
        )
    return specs


def build_key(source: Path = SOURCE, seed: int = SEED) -> dict[str, object]:
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in SOURCES)).hexdigest()
    return {
        "source_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        "seed": seed,
        "module_sha256": digest,
        "espeak_ng": spoken_audio.espeak_version(),
    }


def record(
    matcher: Matcher, source: Path = SOURCE, seed: int = SEED, heard_path: Path = HEARD
) -> list[Heard]:
    """Speak every planned clip, hear it with whisper, write `heard_path`."""
    from tools.spoken_set import Clip
    from tools.transcripts import dev_recognizer, hear, recording_info, write_heard

    specs = plan(load(source), seed)
    tracks = spoken_audio.babble_tracks(BABBLE_TALKERS)
    with ThreadPoolExecutor(max_workers=2) as pool:
        rendered = list(pool.map(lambda spec: spoken_audio.render(spec, tracks), specs))
    audio = ARTIFACTS / heard_path.stem
    audio.mkdir(parents=True, exist_ok=True)
    clips = []
    for spec, wav in zip(specs, rendered, strict=True):
        (audio / spec.name).write_bytes(wav)
        clips.append(
            Clip(
                audio / spec.name,
                spec.question.text,
                spec.question.expect,
                spec.question.also,
                spec.voice,
                spec.speed,
                spec.noise,
                spec.snr_db,
                FORMAT.sample_rate,
                FORMAT.channels,
                FORMAT.subtype,
            )
        )
    heard = hear(clips, dev_recognizer(matcher))
    write_heard(heard_path, recording_info(matcher, build_key(source, seed)), heard)
    return heard


def wrong(heard: Sequence[Heard], matches: Sequence[Match]) -> list[tuple[Heard, Match]]:
    """Calls for help not taken for an emergency, and questions that were."""
    return [
        (clip, match)
        for clip, match in zip(heard, matches, strict=True)
        if (clip.said.kind == "emergency") != (match.decision is Decision.EMERGENCY)
    ]


def decisions(heard: Sequence[Heard], matches: Sequence[Match]) -> list[str]:
    """GOLDEN's lines: per clip, the emergency taken from it, or null."""
    return [
        json.dumps({"file": clip.file, "emergency": match.emergency.id if match.emergency else None})
        for clip, match in zip(heard, matches, strict=True)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    from voice.core.config import default_answers_dir
    from voice.core.faq import load_set

    parser = argparse.ArgumentParser(
        prog="python -m tools.emergency_probe",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument("command", choices=("record", "check", "bless"))
    parser.add_argument("--source", type=Path, default=SOURCE, help="labelled lines to speak (record)")
    parser.add_argument("--seed", type=int, default=SEED, help="voices, speeds and noise (record)")
    parser.add_argument("--heard", type=Path, default=HEARD, help="the recording to write or replay")
    args = parser.parse_args(argv)
    matcher = Matcher(load_set(default_answers_dir()))
    if args.command == "record":
        heard = record(matcher, args.source, args.seed, args.heard)
        print(f"wrote {args.heard}: {len(heard)} clips heard by whisper")
    else:
        try:
            heard = read_heard(args.heard)[1]
        except OSError:
            print(f"error: no {args.heard}; run `{RECORD}` first", file=sys.stderr)
            return 1
    matches = replay(heard, matcher)
    print(table(reports(heard, matches), "emergency probe"))
    for clip, match in wrong(heard, matches):
        print(f"{clip.file} ({clip.condition}):{describe(clip.said, match)}")
    if args.heard != HEARD:
        return 0
    now = decisions(heard, matches)
    golden = GOLDEN.read_text(encoding="utf-8").splitlines() if GOLDEN.exists() else []
    changed = differences(golden, now, heard)
    print("\n".join(changed))
    count = sum(not line.startswith(" ") for line in changed)
    if args.command in ("record", "bless"):
        GOLDEN.write_text("".join(line + "\n" for line in now), encoding="utf-8")
        print(f"wrote {GOLDEN.relative_to(ROOT)}: {count} of {len(now)} clips changed")
        return 0
    if count:
        print(
            f"{count} clip(s) differ from {GOLDEN.relative_to(ROOT)}; if intended, run `{BLESS}`",
            file=sys.stderr,
        )
        return 1
    print(f"all {len(now)} clips as in {GOLDEN.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
