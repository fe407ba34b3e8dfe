"""The training corpus for the decision model (tools.decision_model): typed and spoken questions
over every entry, phrased independently of the set's own phrasings. Never evaluation data.

    .venv/bin/python -m tools.corpus typed [--show N]          # how many questions of each kind
    .venv/bin/python -m tools.corpus speak [--count N] [--seed S] [--source corpus|dev]
                                           # espeak-ng voices + noise -> whisper -> HEARD (resumable)

Typed questions come from tools/corpus/<set>.yaml (questions and subjects written for
training, checked against the set's phrasings) put through frames ("tell me about {s}"),
fillers, carers' openings, typing slips and dropped words, plus tests/data/dev.jsonl (the
tuning set). Never tests/data/holdout.jsonl or sealed.jsonl: those measure.

Spoken questions are a deterministic sample of them said by espeak-ng voices (the dev cast
and three more; never the fresh or sealed casts) at 100-175 words a minute, some with a
pause mid-sentence, clean or over babble, pink or white noise at 3-25 dB SNR, heard by the
real recogniser exactly as `voicefaq ask --audio` hears them. What was heard goes to
tools/corpus/<set>-heard.jsonl, one line per clip as tools.transcripts writes them; a run
appends to it and skips clips already there, so it can be stopped and resumed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from tools.quality import DATA, Labelled, load

CORPUS = Path(__file__).with_name("corpus")
SET_NAME = "ms-physical-therapy"
SOURCE = CORPUS / f"{SET_NAME}.yaml"
HEARD = CORPUS / f"{SET_NAME}-heard.jsonl"

FRAMES = (
    "{s}",
    "{s}?",
    "tell me about {s}",
    "what about {s}",
    "can you tell me about {s}",
    "i want to know about {s}",
    "i have a question about {s}",
    "what should i know about {s}",
    "explain {s} to me",
    "um {s}",
    "information on {s} please",
    "what can you say about {s}",
)
"""Ways to ask about a subject named in a few words."""
NEAR_MISSES = (
    "how much does {s} cost",
    "where can i buy {s}",
    "does insurance cover {s}",
    "is {s} covered by medicare",
    "can {s} cure ms",
    "what are the side effects of {s}",
    "can i get {s} on the nhs",
    "how do i book an appointment about {s}",
    "is there a waiting list for {s}",
    "who sells {s} near me",
    "how long is the queue for {s} at the clinic",
    "can my dog help with {s}",
    "is {s} open on sundays",
    "what did the news say about {s}",
)
"""Questions that name the set's subject but ask what it does not answer (cost, buying,
insurance, cures, booking): put to each entry's subjects, they teach the model that the
set's words alone are not an answer."""
OPENINGS = (
    "",
    "",
    "",
    "",
    "um ",
    "so ",
    "okay so ",
    "quick question ",
    "hi ",
    "excuse me ",
    "my husband has ms and ",
    "my mum has multiple sclerosis ",
    "i was wondering ",
    "uh ",
    "right so ",
)
CLOSINGS = ("", "", "", "", "", " please", " thanks", " for someone with ms", " i was wondering", " with ms")
HELD_OUT = ("holdout.jsonl", "sealed.jsonl")
"""Evaluation sets: a training question that happens to be one of theirs word for word (short
common questions are written alike by different people) is left out."""
VARIANTS = 4
"""Typed variants made of each written question (the question itself is the first)."""

VOICES = (
    "en-us",
    "en-us+f3",
    "en-us+m3",
    "en-gb-x-rp",
    "en-us+f4",
    "en-gb-scotland+f2",
    "en-us+grandpa",
    "en-us+m5",
    "en-gb+f2",
    "en-us+f1",
)
"""The dev cast's question voices and three more; none of the fresh or sealed casts."""
NOISES = ("clean", "babble", "pink", "white")
SNRS_DB = (25.0, 20.0, 15.0, 10.0, 5.0, 3.0)
SPEEDS = (100, 115, 130, 145, 160, 175)
PAUSE_SHARE = 0.25


@dataclass(frozen=True, slots=True)
class Written:
    """What tools/corpus/<set>.yaml holds."""

    questions: dict[str, tuple[str, ...]]
    subjects: dict[str, tuple[str, ...]]
    out_of_scope: tuple[str, ...]
    out_of_scope_subjects: tuple[str, ...]


def written(path: Path = SOURCE) -> Written:
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = data["entries"]
    return Written(
        {entry: tuple(body.get("questions", ())) for entry, body in entries.items()},
        {entry: tuple(body.get("subjects", ())) for entry, body in entries.items()},
        tuple(data.get("out_of_scope", ())),
        tuple(data.get("out_of_scope_subjects", ())),
    )


def _slip(text: str, rng: np.random.Generator) -> str:
    """One typing or hearing slip: a letter dropped, doubled or swapped, or a word dropped."""
    words = text.split()
    long = [i for i, word in enumerate(words) if len(word) >= 5]
    kind = rng.integers(3)
    if kind == 0 and len(words) >= 5:
        del words[int(rng.integers(len(words)))]
    elif long:
        i = long[int(rng.integers(len(long)))]
        word = words[i]
        at = int(rng.integers(1, len(word) - 1))
        if kind == 1:
            word = word[:at] + word[at + 1 :]
        else:
            word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        words[i] = word
    return " ".join(words)


def _variants(text: str, rng: np.random.Generator) -> Iterator[str]:
    yield text
    for _ in range(VARIANTS - 1):
        variant = (
            OPENINGS[int(rng.integers(len(OPENINGS)))] + text + CLOSINGS[int(rng.integers(len(CLOSINGS)))]
        )
        if rng.random() < 0.3:
            variant = _slip(variant, rng)
        yield variant


def typed(seed: int = 7, path: Path = SOURCE, with_dev: bool = True) -> list[Labelled]:
    """Every typed training question, deduplicated, in a fixed order."""
    rng = np.random.default_rng(seed)
    source = written(path)
    rows: list[Labelled] = []
    for entry, questions in source.questions.items():
        for question in questions:
            rows += [Labelled(text, entry) for text in _variants(question, rng)]
        for subject in source.subjects[entry]:
            for frame in rng.choice(len(FRAMES), size=4, replace=False):
                rows.append(Labelled(FRAMES[int(frame)].format(s=subject), entry))
    for subjects in source.subjects.values():
        for subject in subjects:
            for frame in rng.choice(len(NEAR_MISSES), size=2, replace=False):
                rows.append(Labelled(NEAR_MISSES[int(frame)].format(s=subject), "fallback"))
    for question in source.out_of_scope:
        rows += [Labelled(text, "fallback") for text in _variants(question, rng)]
    for subject in source.out_of_scope_subjects:
        for frame in rng.choice(len(FRAMES), size=3, replace=False):
            rows.append(Labelled(FRAMES[int(frame)].format(s=subject), "fallback"))
    held_out = {_plain(row.text) for name in HELD_OUT for row in load(DATA / name)}
    rows = [row for row in rows if not _copies_the_set(row.text) and _plain(row.text) not in held_out]
    if with_dev:
        rows += load(DATA / "dev.jsonl")
    seen: dict[str, Labelled] = {}
    for row in rows:
        seen.setdefault(_plain(row.text), row)
    return list(seen.values())


def _plain(text: str) -> str:
    return " ".join(text.lower().split())


def _copies_the_set(text: str) -> bool:
    """A generated question this close to one of the set's own phrasings would teach the model
    that such questions are easy: it is dropped."""
    from rapidfuzz import fuzz, process

    found = process.extractOne(
        " ".join(text.lower().split()), _set_phrasings(), scorer=fuzz.ratio, score_cutoff=80
    )
    return found is not None


@cache
def _set_phrasings() -> tuple[str, ...]:
    from voice.core.config import default_answers_dir
    from voice.core.faq import load_set

    texts = []
    for entry in load_set(default_answers_dir()).entries:
        texts += [entry.question, *entry.phrasings]
    return tuple(" ".join(t.lower().strip(" ?.!").split()) for t in texts)


# ---------------------------------------------------------------- spoken


@dataclass(frozen=True, slots=True)
class Utterance:
    """How one training question is said: every random choice, made before any audio exists."""

    name: str
    said: Labelled
    voice: str
    speed: int
    noise: str
    snr_db: float | None
    pause_s: float
    seed: int


def utterances(rows: Sequence[Labelled], count: int, seed: int, prefix: str) -> list[Utterance]:
    """`count` questions (no emergencies), drawn evenly over in-scope and out-of-scope in a 3:1
    ratio, each with its voice, rate, noise and pause."""
    rng = np.random.default_rng(seed)
    in_scope = [row for row in rows if row.kind == "in_scope"]
    out_of_scope = [row for row in rows if row.kind == "fallback"]
    chosen_in = rng.choice(len(in_scope), size=min(len(in_scope), count * 3 // 4), replace=False)
    chosen_out = rng.choice(len(out_of_scope), size=min(len(out_of_scope), count // 4), replace=False)
    picked = [in_scope[int(i)] for i in chosen_in] + [out_of_scope[int(i)] for i in chosen_out]
    out = []
    for number, row in enumerate(picked):
        noise = NOISES[int(rng.integers(len(NOISES)))]
        snr = None if noise == "clean" else float(SNRS_DB[int(rng.integers(len(SNRS_DB)))])
        pause = float(rng.uniform(0.6, 1.8)) if rng.random() < PAUSE_SHARE else 0.0
        out.append(
            Utterance(
                f"{prefix}-{number:05d}",
                row,
                VOICES[int(rng.integers(len(VOICES)))],
                int(SPEEDS[int(rng.integers(len(SPEEDS)))]),
                noise,
                snr,
                pause,
                int(rng.integers(2**31)),
            )
        )
    return out


def render(utterance: Utterance, tracks: Sequence[Any]) -> Any:
    """The utterance as 16 kHz Audio."""
    from tools.spoken_audio import ESPEAK_RATE, babble, mix, pink_noise, synthesize
    from tools.spoken_plan import split_for_pause
    from voice.audio.decode import Audio, to_mono_16k

    rng = np.random.default_rng(utterance.seed)
    text = utterance.said.text
    halves = split_for_pause(text) if utterance.pause_s else None
    parts = [synthesize(text, utterance.voice, utterance.speed)] if halves is None else []
    if halves is not None:
        first, second = (synthesize(half, utterance.voice, utterance.speed) for half in halves)
        parts = [first, np.zeros(round(utterance.pause_s * ESPEAK_RATE)), second]
    lead, trail = (np.zeros(round(rng.uniform(0.2, 0.6) * ESPEAK_RATE)) for _ in range(2))
    speech = np.concatenate([lead, *parts, trail])
    if utterance.snr_db is not None:
        n = len(speech)
        if utterance.noise == "babble":
            talkers = [
                (int(i), float(rng.random()), float(rng.uniform(0.5, 1.0)))
                for i in rng.choice(len(tracks), 3)
            ]
            noise = babble(n, tracks, talkers)
        elif utterance.noise == "pink":
            noise = pink_noise(n, ESPEAK_RATE, rng)
        else:
            noise = rng.standard_normal(n)
        speech = mix(speech, noise, utterance.snr_db, ESPEAK_RATE)
    peak = float(np.max(np.abs(speech))) if len(speech) else 0.0
    if peak > 0.99:
        speech = speech * (0.99 / peak)
    return Audio(to_mono_16k(speech, ESPEAK_RATE), ESPEAK_RATE, 1)


def speak(planned: Sequence[Utterance], out: Path) -> int:
    """Render and hear every planned utterance not yet in `out`; returns how many were added."""
    from tools import transcripts
    from tools.spoken_audio import babble_tracks
    from tools.spoken_plan import condition
    from voice.core.config import default_answers_dir
    from voice.core.faq import load_set
    from voice.core.matcher import Matcher
    from voice.errors import NoSpeechError
    from voice.spoken import require_speech

    done = set()
    if out.exists():
        done = {json.loads(line).get("file") for line in out.read_text(encoding="utf-8").splitlines() if line}
    todo = [utterance for utterance in planned if utterance.name not in done]
    if not todo:
        return 0
    matcher = Matcher(load_set(default_answers_dir()))
    recognizer = transcripts.dev_recognizer(matcher)
    tracks = babble_tracks()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as sink:
        if not done:
            sink.write(
                json.dumps({"recorded": transcripts.recording_info(matcher, {"corpus": SET_NAME})}) + "\n"
            )
        for number, utterance in enumerate(todo):
            audio = render(utterance, tracks)
            try:
                require_speech(audio, utterance.name)
                heard = recognizer.transcribe(audio)
            except NoSpeechError:
                heard = None
            clip = {
                "voice": utterance.voice,
                "speed": utterance.speed,
                "noise": utterance.noise,
                "snr_db": utterance.snr_db,
                "pause_s": round(utterance.pause_s, 3),
                "sample_rate": 16_000,
                "channels": 1,
                "sample_format": "FLOAT",
            }
            record = transcripts.heard_record(
                transcripts.Heard(
                    utterance.name, utterance.said, condition(utterance.noise, utterance.snr_db), clip, heard
                )
            )
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
            sink.flush()
            if number % 50 == 0:
                print(f"{number}/{len(todo)} {utterance.name}: {heard.text if heard else None!r}", flush=True)
    return len(todo)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.corpus", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("typed", help="count the typed corpus")
    show.add_argument("--show", type=int, default=0, help="print this many random questions")
    spoken = commands.add_parser("speak", help="render and hear a sample of the corpus (resumable)")
    spoken.add_argument("--count", type=int, default=1200)
    spoken.add_argument("--seed", type=int, default=31)
    spoken.add_argument("--source", choices=("corpus", "dev"), default="corpus")
    spoken.add_argument("--out", type=Path, default=HEARD)
    args = parser.parse_args(argv)
    if args.command == "typed":
        rows = typed()
        kinds: dict[str, int] = {}
        for row in rows:
            kinds[row.kind] = kinds.get(row.kind, 0) + 1
        print(f"{len(rows)} typed questions: {kinds}")
        for i in np.random.default_rng(0).choice(len(rows), size=min(args.show, len(rows)), replace=False):
            print(f"  {rows[int(i)].expect:28} {rows[int(i)].text}")
        return 0
    rows = typed(with_dev=False) if args.source == "corpus" else load(DATA / "dev.jsonl")
    added = speak(utterances(rows, args.count, args.seed, args.source), args.out)
    print(f"{added} clips heard -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
