"""What whisper heard on the spoken dev set, recorded once and replayed through today's matcher.

    .venv/bin/python -m tools.transcripts record   # whisper over the spoken dev set -> HEARD (minutes)
    .venv/bin/python -m tools.transcripts bless    # replay HEARD -> GOLDEN, after an intended change
    .venv/bin/python -m tools.transcripts check    # replay HEARD, compare with GOLDEN, print the table

whisper tiny.en in int8 gives slightly different transcripts on different CPUs, so accuracy
floors measured through it on one machine fail on the next. The recorded transcripts take the
recogniser out: replaying them through `voice.spoken.match_transcript` is deterministic, so
tests/test_spoken_replay.py compares every decision with GOLDEN and holds tight floors per
noise condition. How the recogniser itself does is `make eval`'s business (tools.evaluate).

HEARD (tests/fixtures/spoken-dev-heard.jsonl): a {"recorded": {...}} line (the spoken set's
build key, the engine, its prompt, the versions and the CPU it ran on), then one line per clip:
its file, what was said and its label, its condition (voice, speed, noise, SNR, format) and
"heard", everything match_transcript reads from the Transcript (text, alternatives, logprob,
words, engine, audio_s), or null when no speech was found in the clip. GOLDEN
(tests/fixtures/spoken-dev-decisions.jsonl): one line per clip, what was decided.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.quality import DATA, Labelled, Report, combine, score_spoken, table
from tools.spoken_plan import CONDITIONS, condition
from voice.asr import Transcript, Word
from voice.core.matcher import Match, Matcher
from voice.spoken import match_transcript

if TYPE_CHECKING:
    from tools.spoken_set import Clip
    from voice.asr import Recognizer

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
HEARD = FIXTURES / "spoken-dev-heard.jsonl"
GOLDEN = FIXTURES / "spoken-dev-decisions.jsonl"
SPOKEN_DEV = ROOT / "tests" / "artifacts" / "spoken-dev"
RECORD = "python -m tools.transcripts record"
BLESS = "python -m tools.transcripts bless"
GROUPS: dict[str, Callable[[str], bool]] = {
    "clean and 20 dB": lambda name: name == "clean" or name.endswith(" 20 dB"),
    "10 and 5 dB": lambda name: name.endswith((" 10 dB", " 5 dB")),
    "all": lambda name: True,
}
"""Conditions pooled, as the spoken floors used to be stated."""


@dataclass(frozen=True, slots=True)
class Heard:
    """One clip of the spoken set and what the recogniser heard in it."""

    file: str
    said: Labelled
    condition: str
    """Clean, or the noise and its SNR ("babble 10 dB"): tools.spoken_plan.condition."""
    clip: dict[str, Any]
    """The clip's manifest fields: voice, speed, noise, snr_db, pause_s and format."""
    transcript: Transcript | None
    """None when the clip held no speech by voice.spoken.require_speech (never transcribed)."""


CLIP_FIELDS = ("voice", "speed", "noise", "snr_db", "pause_s", "sample_rate", "channels", "sample_format")


# ---------------------------------------------------------------- hearing (the recogniser)


def hear(clips: Iterable[Clip], recognizer: Recognizer) -> list[Heard]:
    """Each clip through the recogniser, as `voice.spoken.ask_audio` hears it."""
    from voice.audio.decode import read
    from voice.errors import NoSpeechError
    from voice.spoken import require_speech

    heard = []
    for clip in clips:
        audio = read(clip.path)
        try:
            require_speech(audio, str(clip.path))
            transcript: Transcript | None = recognizer.transcribe(audio)
        except NoSpeechError:
            transcript = None
        heard.append(
            Heard(
                clip.path.name,
                Labelled(clip.text, clip.expect, clip.also),
                condition(clip.noise, clip.snr_db),
                {name: getattr(clip, name) for name in CLIP_FIELDS},
                transcript,
            )
        )
    return heard


def dev_recognizer(matcher: Matcher) -> Recognizer:
    """whisper tiny.en primed as `voicefaq ask --audio` primes it (no word timings: they
    double the time and take another decoding path)."""
    from voice.asr import RecognizerOptions, load_recognizer
    from voice.assistant import recognizer_options

    return load_recognizer("whisper", recognizer_options(matcher.faq_set, RecognizerOptions()))


def recording_info(matcher: Matcher, build_key: dict[str, Any]) -> dict[str, Any]:
    """Where and how a recording was made: what the transcripts depend on besides the audio."""
    from importlib.metadata import version

    from voice.asr.models import WHISPER_MODEL_SHA256
    from voice.vocabulary import speech_prompt

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "spoken_set": build_key,
        "engine": "whisper",
        "model_sha256": WHISPER_MODEL_SHA256,
        "prompt": speech_prompt(matcher.faq_set),
        "faster_whisper": version("faster-whisper"),
        "ctranslate2": version("ctranslate2"),
        "cpu": cpu,
        "cores": os.cpu_count(),
    }


# ---------------------------------------------------------------- the fixture's format


def transcript_record(transcript: Transcript | None) -> dict[str, Any] | None:
    """Everything match_transcript reads, exactly: floats go through JSON unrounded (repr
    round-trips), so a logprob by UNSURE_LOGPROB falls on the same side when replayed."""
    if transcript is None:
        return None
    return {
        "text": transcript.text,
        "alternatives": list(transcript.alternatives),
        "logprob": transcript.logprob,
        "words": [
            {"word": w.text, "start": w.start, "end": w.end, "confidence": w.confidence}
            for w in transcript.words
        ],
        "engine": transcript.engine,
        "audio_s": transcript.audio_s,
    }


def transcript_from(record: dict[str, Any] | None) -> Transcript | None:
    if record is None:
        return None
    words = tuple(Word(w["word"], w["start"], w["end"], w["confidence"]) for w in record["words"])
    return Transcript(
        record["text"],
        words,
        record["engine"],
        record["audio_s"],
        alternatives=tuple(record["alternatives"]),
        logprob=record["logprob"],
    )


def heard_record(heard: Heard) -> dict[str, Any]:
    said = heard.said
    return {
        "file": heard.file,
        "said": said.text,
        "expect": said.expect,
        "also": list(said.also),
        "condition": heard.condition,
        **heard.clip,
        "heard": transcript_record(heard.transcript),
    }


def write_heard(path: Path, info: dict[str, Any], heard: Sequence[Heard]) -> None:
    lines = [{"recorded": info}, *map(heard_record, heard)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")


def read_heard(path: Path = HEARD) -> tuple[dict[str, Any], list[Heard]]:
    """(recording info, clips). OSError when the fixture is missing: run RECORD."""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    info, records = lines[0]["recorded"], lines[1:]
    return info, [
        Heard(
            r["file"],
            Labelled(r["said"], r["expect"], tuple(r["also"])),
            r["condition"],
            {name: r[name] for name in CLIP_FIELDS},
            transcript_from(r["heard"]),
        )
        for r in records
    ]


# ---------------------------------------------------------------- replaying (the matcher)


def decide(heard: Heard, matcher: Matcher) -> Match:
    """What voicefaq decides on this clip: as `voice.spoken.ask_audio` plus the quality
    tools' rule that a clip with no speech or no words counts as a fallback."""
    transcript = heard.transcript
    if transcript is None or not transcript.text.strip():
        return matcher.decide("", [])
    return match_transcript(transcript, matcher)


def decision_record(heard: Heard, match: Match) -> dict[str, Any]:
    """A decision as GOLDEN holds it: ids only, no scores or timings, so that it changes
    when and only when what the person would be told changes."""
    return {
        "file": heard.file,
        "decision": match.decision.value,
        "entry_id": match.entry.id if match.entry else None,
        "offered": [c.entry_id for c in match.offered],
        "alternatives": [c.entry_id for c in match.alternatives],
        "emergency": match.emergency.id if match.emergency else None,
    }


def replay(heard: Sequence[Heard], matcher: Matcher) -> list[Match]:
    return [decide(clip, matcher) for clip in heard]


def golden_lines(heard: Sequence[Heard], matches: Sequence[Match]) -> list[str]:
    return [
        json.dumps(decision_record(clip, match), ensure_ascii=False)
        for clip, match in zip(heard, matches, strict=True)
    ]


def differences(golden: Sequence[str], now: Sequence[str], heard: Sequence[Heard]) -> list[str]:
    """Per clip whose decision changed: the clip, what was said and heard, before and after."""
    by_file = {clip.file: clip for clip in heard}
    before = {json.loads(line)["file"]: line for line in golden}
    after = {json.loads(line)["file"]: line for line in now}
    found = []
    for file in sorted(before.keys() | after.keys()):
        if before.get(file) == after.get(file):
            continue
        clip = by_file.get(file)
        said = f" said {clip.said.text!r} [{clip.said.expect}, {clip.condition}]" if clip else ""
        text = clip.transcript.text if clip and clip.transcript else None
        found.append(f"{file}{said}, heard {text!r}:")
        found += [f"  golden: {_short(before.get(file))}", f"  now:    {_short(after.get(file))}"]
    return found


def _short(line: str | None) -> str:
    if line is None:
        return "(none)"
    record = json.loads(line)
    del record["file"]
    return json.dumps(record, ensure_ascii=False)


def mismatch_message(golden: Sequence[str], now: Sequence[str], heard: Sequence[Heard]) -> str:
    changed = differences(golden, now, heard)
    clips = sum(not line.startswith(" ") for line in changed)
    shown = changed[:60] + (["  ..."] if len(changed) > 60 else [])
    return (
        f"{clips} decision(s) on the recorded spoken dev set differ from {GOLDEN.relative_to(ROOT)}:\n"
        + "\n".join(shown)
        + f"\nIf the matching change is intended, run `{BLESS}` and commit the golden file "
        "(check the accuracy table it prints)."
    )


# ---------------------------------------------------------------- scoring


def reports(heard: Sequence[Heard], matches: Sequence[Match]) -> dict[str, Report]:
    """A report per condition present (CONDITIONS order), then the pooled GROUPS."""
    by_condition: dict[str, list[tuple[Labelled, Match]]] = {}
    for clip, match in zip(heard, matches, strict=True):
        by_condition.setdefault(clip.condition, []).append((clip.said, match))
    found = {name: score_spoken(by_condition[name]) for name in CONDITIONS if name in by_condition}
    for group, member in GROUPS.items():
        found[group] = combine(
            *(report for name, report in found.items() if name in CONDITIONS and member(name))
        )
    return found


# ---------------------------------------------------------------- commands


def record(matcher: Matcher) -> list[Heard]:
    """Build (or reuse) the spoken dev set, hear every clip, write HEARD."""
    from tools.spoken_set import build_key, build_or_reuse

    source = DATA / "dev.jsonl"
    clips, _ = build_or_reuse(SPOKEN_DEV, source)
    heard = hear(clips, dev_recognizer(matcher))
    write_heard(HEARD, recording_info(matcher, build_key(source, None, 0)), heard)
    return heard


def main(argv: Sequence[str] | None = None) -> int:
    from voice.core.config import default_answers_dir
    from voice.core.faq import load_set

    parser = argparse.ArgumentParser(
        prog="python -m tools.transcripts", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("command", choices=("record", "bless", "check"))
    args = parser.parse_args(argv)
    matcher = Matcher(load_set(default_answers_dir()))
    if args.command == "record":
        heard = record(matcher)
        print(f"wrote {HEARD.relative_to(ROOT)}: {len(heard)} clips heard by whisper")
    else:
        try:
            _, heard = read_heard()
        except OSError:
            print(f"error: no {HEARD.relative_to(ROOT)}; run `{RECORD}` first", file=sys.stderr)
            return 1
    matches = replay(heard, matcher)
    now = golden_lines(heard, matches)
    print(table(reports(heard, matches), "recorded spoken dev set"))
    if args.command in ("record", "bless"):
        old = GOLDEN.read_text(encoding="utf-8").splitlines() if GOLDEN.exists() else []
        GOLDEN.write_text("".join(line + "\n" for line in now), encoding="utf-8")
        changed = differences(old, now, heard) if old else []
        count = sum(not line.startswith(" ") for line in changed)
        print("\n".join(changed))
        print(f"wrote {GOLDEN.relative_to(ROOT)}: {count if old else 'all'} of {len(now)} decisions changed")
        return 0
    golden = GOLDEN.read_text(encoding="utf-8").splitlines()
    if golden != now:
        print(mismatch_message(golden, now, heard), file=sys.stderr)
        return 1
    print(f"all {len(now)} decisions as in {GOLDEN.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
