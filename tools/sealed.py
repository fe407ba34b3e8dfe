"""Any commit's figures on the sealed held-out set: typed, and spoken through the recogniser.

    .venv/bin/python -m tools.sealed [--record OUT.jsonl] [--heard IN.jsonl] [--typed]

Typed: every question of tests/data/sealed.jsonl through the matcher (tools.quality.evaluate).
Spoken: the sealed spoken set (tools.sealed_set; built if missing) through whisper tiny.en
exactly as tools.transcripts hears the spoken dev set, then each transcript through
voice.spoken.match_transcript. --record saves what was heard (the line format of
tests/fixtures/spoken-dev-heard.jsonl); --heard replays a saved recording instead of running
the recogniser, which takes the recogniser (and this CPU) out of a comparison of two matchers.
A change to what the recogniser is told (its prompt, hotwords) needs a new recording.

The set is held out: written before the matcher was changed, never to be tuned on. Nothing
here prints a question or a transcript; do not read them while tuning.

Keyword recall, on spoken clips: of the set's words (KEYWORDS) said in a clip, the share found
in the best transcript, both normalised by the set's normalizer (synonyms, stems), counted
with repeats. "rare" counts only RARE_WORDS. Both lists are frozen as they were at the
baseline commit, so that figures before and after count the same words.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from tools import sealed_set, transcripts
from tools.quality import Report, aligned, evaluate, load, score_spoken
from tools.transcripts import Heard
from voice.core.matcher import Match, Matcher
from voice.core.normalize import Normalizer

ACRONYMS = ("afo", "fes", "dvt", "pt", "ms", "rom")
KEYWORDS = (
    *ACRONYMS,
    *"""active adaptive aerobic again aids ampyra ankle assistant assisted automobile back balance bands
    bearing being benefits between blood body bone bones bound brace brain breakdown brittle cane canes
    capsule cardio cardiorespiratory categories cause chair clots clotting cognition cognitive comfort
    community concentrate concentration contractures control coordination correct crutch crutches
    dalfampridine damage deep density depressed depression device difference difficulties discipline
    distances doctor does down drop education elastic elasticity electric electrical endurance energy
    equipment exercise exercises exercising exhausted exhaustion fall fallen falling falls fatigue fatigued
    feeling fell flexibility foggy foot forearm fractures frame functional goals hands heart heat heating
    helper home immobile impairments independence individualized joint joints kinds legs life lift
    ligaments local localized long loss lungs machine machines massage medication medicine memory mobility
    mood motion motor motorised motorized movement moving multiple muscle muscles neck nerve office
    orthoses orthosis orthotic osteoporosis pack pain participation passive periods physiatrist
    physiatrists physiatry physical physio physios physiotherapist physiotherapists physiotherapy
    positioning posture power prescription pressure program programs purpose quad quality range recommend
    regain regular rehab rehabilitation relief remembering resistance resources restore rollator rollators
    safety sclerosis scooter self services sitting skin slouching sores spasm spasms spastic spasticity
    specific stability stamina standing staying stick sticks stiff stiffness stimulation strain strength
    strengthening stretching stumble stumbled stumbling supervision support symptoms tendons therapist
    therapists therapy thin thinking thrombosis tight tightness tired tiredness training transfers
    treatment treatments trip tripped tripping trips trunk types ultrasound unsteady upper upright user
    vein walk walker walkers walking weak weakness weary weight well what wheel wheelchair wheelchairs
    wheeled wiped wobbly work working workout workouts worn yourself zimmer""".split(),
)
"""voice.vocabulary.key_terms of the bundled set at the baseline commit (11c9104), and acronyms."""
RARE_WORDS = (
    *ACRONYMS,
    *"""ampyra canes cardiorespiratory clots clotting contractures crutch crutches dalfampridine elasticity
    fatigued foggy immobile impairments individualized ligaments motorised motorized orthoses orthosis
    orthotic osteoporosis physiatrist physiatrists physiatry physio physios physiotherapist
    physiotherapists physiotherapy rollator rollators scooter slouching sores spasm spasms spastic
    spasticity tendons thrombosis tightness tiredness tripped tripping unsteady walker walkers wheelchairs
    wheeled wobbly zimmer""".split(),
)
"""Of KEYWORDS, the acronyms and the words whisper's tokenizer splits into two or more pieces
(" rollator" is " roll" + "ator"): a proxy for the words it has seen least."""


@dataclass
class Recall:
    said: int = 0
    heard: int = 0

    def __add__(self, other: Recall) -> Recall:
        return Recall(self.said + other.said, self.heard + other.heard)

    def cell(self) -> str:
        return f"{self.heard}/{self.said} {self.heard / self.said:.0%}" if self.said else "-"


@dataclass
class Scored:
    report: Report
    keywords: Recall | None = None
    rare: Recall | None = None


def plain(text: str) -> str:
    """Lower case, punctuation as spaces, and spelled-out acronyms joined ("a f o", "A.F.O."
    -> "afo"), as the recogniser may write either."""
    text = re.sub(r"[^\w'\s]", " ", text.lower())
    for acronym in ACRONYMS:
        text = re.sub(r"\b" + r"\s+".join(acronym) + r"\b", acronym, text)
    return text


def keyword_tokens(normalizer: Normalizer, words: Sequence[str]) -> frozenset[str]:
    return frozenset(token for word in words for token in normalizer.content(normalizer.tokens(word)))


def recall(said: str, heard: str, normalizer: Normalizer, tokens: frozenset[str]) -> Recall:
    """How many of the keyword tokens said were heard, counted with repeats."""
    wanted = Counter(t for t in normalizer.tokens(plain(said)) if t in tokens)
    got = Counter(t for t in normalizer.tokens(plain(heard)) if t in tokens)
    return Recall(sum(wanted.values()), sum(min(n, got[t]) for t, n in wanted.items()))


# ---------------------------------------------------------------- pooling the spoken clips

SLOW_WPM = 120
POOLS: dict[str, Callable[[Heard], bool]] = {
    "15 dB": lambda h: h.condition.endswith(" 15 dB"),
    "10 dB": lambda h: h.condition.endswith(" 10 dB"),
    "5 dB and below": lambda h: h.condition.endswith((" 5 dB", " 3 dB", " 2 dB")),
    "new noise kinds": lambda h: "reverb" in h.condition or h.condition.startswith(("brown", "hum")),
    f"slow, {SLOW_WPM} wpm or less": lambda h: h.clip["speed"] <= SLOW_WPM,
    "with a 1-2 s pause": lambda h: h.clip["pause_s"] > 0,
    "all": lambda h: True,
}
"""Rows after the per-condition ones: clips pooled by SNR, noise kind, rate and pause."""


def spoken_scores(heard: Sequence[Heard], matches: Sequence[Match], matcher: Matcher) -> dict[str, Scored]:
    """A row per condition (tools.sealed_set.CONDITIONS order), then the POOLS."""
    normalizer = matcher.faq_set.normalizer()
    every, rare = keyword_tokens(normalizer, KEYWORDS), keyword_tokens(normalizer, RARE_WORDS)
    rows: list[tuple[Heard, Match, Recall, Recall]] = []
    for clip, match in zip(heard, matches, strict=True):
        text = clip.transcript.text if clip.transcript else ""
        said = clip.said.text
        rows.append(
            (clip, match, recall(said, text, normalizer, every), recall(said, text, normalizer, rare))
        )

    def score(members: list[tuple[Heard, Match, Recall, Recall]]) -> Scored:
        report = score_spoken((clip.said, match) for clip, match, _, _ in members)
        return Scored(report, sum((r[2] for r in members), Recall()), sum((r[3] for r in members), Recall()))

    found = {}
    for condition in sealed_set.CONDITIONS:
        members = [row for row in rows if row[0].condition == condition.name]
        if members:
            found[condition.name] = score(members)
    for name, member in POOLS.items():
        found[name] = score([row for row in rows if member(row[0])])
    return found


# ---------------------------------------------------------------- the table

LEGEND = """\
reached: in-scope questions answered right or offered the right entry in "Do you mean ...?";
answered right: in-scope questions answered directly with the right entry; wrong: answers
with a wrong entry, of all questions; not answered: out-of-scope questions given no answer;
emergencies: recognised; false alarms: other questions taken for an emergency; WER: word
error rate of what was heard; keywords, rare: keyword recall (see tools/sealed.py)"""


def _share(n: int, of: int) -> str:
    return f"{n}/{of} {n / of:.1%}" if of else "-"


def table(scores: dict[str, Scored], title: str) -> str:
    header = (title, "questions", "reached", "answered right", "wrong", "not answered", "emergencies")
    rows = [(*header, "false alarms", "WER", "keywords", "rare")]
    for name, scored in scores.items():
        r = scored.report
        rows.append(
            (
                name,
                str(r.total),
                _share(r.reached, r.in_scope),
                _share(r.answered_right, r.in_scope),
                f"{r.wrong_answers} {r.wrong_rate:.1%}",
                _share(r.out_of_scope_not_answered, r.out_of_scope),
                f"{r.emergencies_recognised}/{r.emergencies}",
                str(r.false_alarms),
                f"{r.word_errors / r.words:.3f}" if r.words else "-",
                scored.keywords.cell() if scored.keywords else "-",
                scored.rare.cell() if scored.rare else "-",
            )
        )
    return aligned(rows)


# ---------------------------------------------------------------- hearing


def hear(matcher: Matcher) -> tuple[list[Heard], float]:
    """(the sealed clips heard by whisper, primed as for the dev set; seconds it took)."""
    clips, _ = sealed_set.build_or_reuse()
    by_file = sealed_set.conditions()
    recognizer = transcripts.dev_recognizer(matcher)
    started = time.perf_counter()
    heard = transcripts.hear(clips, recognizer)
    took = time.perf_counter() - started
    return [replace(h, condition=by_file[h.file]) for h in heard], took


def main(argv: Sequence[str] | None = None) -> int:
    from voice.core.config import default_answers_dir
    from voice.core.faq import load_set

    parser = argparse.ArgumentParser(
        prog="python -m tools.sealed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--record", type=Path, metavar="OUT.jsonl", help="save what whisper heard")
    parser.add_argument("--heard", type=Path, metavar="IN.jsonl", help="replay a saved recording, no whisper")
    parser.add_argument("--typed", action="store_true", help="typed questions only")
    args = parser.parse_args(argv)
    if args.record and args.heard:
        parser.error("--record and --heard exclude each other")
    matcher = Matcher(load_set(default_answers_dir()))
    questions = load(sealed_set.SOURCE)
    print(table({"typed": Scored(evaluate(matcher, questions))}, "sealed set, typed"))
    if args.typed:
        print("\n" + LEGEND)
        return 0
    if args.heard:
        try:
            info, heard = transcripts.read_heard(args.heard)
        except OSError as exc:
            print(f"error: cannot read {args.heard}: {exc.strerror}", file=sys.stderr)
            return 1
        if sorted(h.said.text for h in heard) != sorted(q.text for q in questions):
            print(
                f"warning: {args.heard} was recorded from other questions than today's sealed set",
                file=sys.stderr,
            )
        source = f"replayed from {args.heard} (recorded on {info.get('cpu', '?')})"
    else:
        heard, took = hear(matcher)
        source = f"heard by whisper tiny.en in {took / 60:.1f} minutes"
        if args.record:
            info = {**transcripts.recording_info(matcher, sealed_set.build_key()), "hear_s": round(took, 1)}
            transcripts.write_heard(args.record, info, heard)
            source += f", recorded to {args.record}"
    matches = transcripts.replay(heard, matcher)
    scores = spoken_scores(heard, matches, matcher)
    print(f"\n{len(heard)} spoken clips, {source}")
    print(table(scores, "sealed set, spoken"))
    print("\n" + LEGEND)
    return 0


if __name__ == "__main__":
    sys.exit(main())
