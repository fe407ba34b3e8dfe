"""Accuracy of the matcher on a labelled question set (tests/data/*.jsonl).

Used by the accuracy tests and by hand:
    .venv/bin/python -m tools.quality tests/data/holdout.jsonl [--misses]
    .venv/bin/python -m tools.quality --spoken [DIR] [--misses]   (a spoken set, through whisper)
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rapidfuzz.distance import Levenshtein

from voice.core.matcher import Decision, Match, Matcher

if TYPE_CHECKING:
    from tools.spoken_set import Clip
    from voice.asr import Recognizer

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


@dataclass(frozen=True, slots=True)
class Labelled:
    text: str
    expect: str
    """An entry id, "fallback" or "emergency"."""
    also: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return self.expect if self.expect in ("fallback", "emergency") else "in_scope"

    @property
    def acceptable(self) -> frozenset[str]:
        return frozenset((self.expect, *self.also))


def load(path: Path) -> list[Labelled]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            rows.append(Labelled(raw["text"], raw["expect"], tuple(raw.get("also", ()))))
    return rows


@dataclass
class Report:
    in_scope: int = 0
    reached: int = 0
    """In-scope questions answered correctly or offered the right entry to confirm."""
    answered_right: int = 0
    out_of_scope: int = 0
    out_of_scope_not_answered: int = 0
    out_of_scope_fallback: int = 0
    """Out-of-scope questions met with "I'm not sure" rather than a confirmation."""
    emergencies: int = 0
    emergencies_recognised: int = 0
    false_alarms: int = 0
    """Non-emergency questions treated as emergencies."""
    wrong_answers: int = 0
    """Confident answers with the wrong entry, over all questions."""
    misses: list[tuple[Labelled, Match]] = field(default_factory=list)
    words: int = 0
    """Words spoken (spoken sets only)."""
    word_errors: int = 0
    """Words the recogniser substituted, dropped or added (spoken sets only)."""

    @property
    def total(self) -> int:
        return self.in_scope + self.out_of_scope + self.emergencies

    @property
    def reach_rate(self) -> float:
        return self.reached / self.in_scope if self.in_scope else 1.0

    @property
    def wrong_rate(self) -> float:
        return self.wrong_answers / self.total if self.total else 0.0

    @property
    def out_of_scope_rate(self) -> float:
        return self.out_of_scope_not_answered / self.out_of_scope if self.out_of_scope else 1.0

    @property
    def emergency_rate(self) -> float:
        return self.emergencies_recognised / self.emergencies if self.emergencies else 1.0

    def summary(self) -> str:
        heard = f"; word error rate {self.word_errors / self.words:.3f}" if self.words else ""
        return (
            f"in-scope reached {self.reached}/{self.in_scope} ({self.reach_rate:.1%}), "
            f"answered right {self.answered_right}; wrong answers {self.wrong_answers}/{self.total} "
            f"({self.wrong_rate:.1%}); out-of-scope not answered {self.out_of_scope_not_answered}/"
            f"{self.out_of_scope} ({self.out_of_scope_rate:.1%}, {self.out_of_scope_fallback} as fallback); "
            f"emergencies "
            f"{self.emergencies_recognised}/{self.emergencies}; false alarms {self.false_alarms}{heard}"
        )


def evaluate(matcher: Matcher, rows: Iterable[Labelled]) -> Report:
    return tally((row, matcher.match(row.text)) for row in rows)


def tally(results: Iterable[tuple[Labelled, Match]]) -> Report:
    report = Report()
    for row, match in results:
        answered = match.decision is Decision.ANSWER
        answered_id = match.entry.id if match.entry else None
        ok: bool
        if row.kind == "emergency":
            report.emergencies += 1
            ok = match.decision is Decision.EMERGENCY
            report.emergencies_recognised += ok
            report.wrong_answers += answered
        elif row.kind == "fallback":
            report.out_of_scope += 1
            ok = not answered
            report.out_of_scope_not_answered += ok
            report.out_of_scope_fallback += match.decision is Decision.FALLBACK
            report.wrong_answers += answered
            report.false_alarms += match.decision is Decision.EMERGENCY
        else:
            report.in_scope += 1
            right = answered and answered_id in row.acceptable
            offered = match.decision is Decision.CONFIRM and any(
                c.entry_id in row.acceptable for c in match.offered
            )
            ok = right or offered
            report.reached += ok
            report.answered_right += right
            report.wrong_answers += answered and not right
            report.false_alarms += match.decision is Decision.EMERGENCY
        if not ok:
            report.misses.append((row, match))
    return report


class PlainFuzzy:
    """A baseline for scale: plain rapidfuzz, always answering with the closest entry.

    token_set_ratio over each entry's question was the strongest plain variant tried
    (WRatio, token_sort_ratio, and matching the answer text too all did worse)."""

    def __init__(self, matcher: Matcher) -> None:
        self.entries = matcher.faq_set.entries
        self.texts = [entry.question for entry in self.entries]

    def match(self, text: str) -> Match:
        from rapidfuzz import fuzz, process, utils

        _, score, index = process.extractOne(
            text, self.texts, scorer=fuzz.token_set_ratio, processor=utils.default_process
        )
        entry = self.entries[index]
        return Match(text, Decision.ANSWER, entry.answer, entry, score / 100, ())


def evaluate_spoken(recognizer: Recognizer, matcher: Matcher, clips: Iterable[Clip]) -> Report:
    """Accuracy on spoken clips: transcribe each, then match. A clip in which nothing
    was heard counts as not answered (a fallback)."""
    from voice.audio.decode import read
    from voice.errors import NoSpeechError
    from voice.spoken import ask_audio

    results: list[tuple[Labelled, Match]] = []
    for clip in clips:
        row = Labelled(clip.text, clip.expect, clip.also)
        try:
            match = ask_audio(read(clip.path), recognizer, matcher, str(clip.path)).match
        except NoSpeechError:
            match = matcher.decide("", [])
        results.append((row, match))
    return score_spoken(results)


def score_spoken(results: Iterable[tuple[Labelled, Match]]) -> Report:
    """`tally`, plus the word errors between what was said and what the match was made on."""
    results = list(results)
    report = tally(results)
    for row, match in results:
        said, heard = _plain_words(row.text), _plain_words(match.input)
        report.words += len(said)
        report.word_errors += Levenshtein.distance(said, heard)
    return report


def _plain_words(text: str) -> list[str]:
    """Lower-case words without punctuation or apostrophes: "can't" and "cant" agree."""
    return re.findall(r"[a-z0-9]+", text.lower().replace("'", "").replace("\u2019", ""))


def describe(row: Labelled, match: Match) -> str:
    got = match.entry.id if match.entry else ",".join(c.entry_id for c in match.offered) or "-"
    top = " ".join(f"{c.entry_id}:{c.score:.2f}" for c in match.alternatives)
    heard = f" heard {match.input!r}" if match.input != row.text else ""
    return f"  [{row.expect}] {row.text!r}{heard} -> {match.decision.value} {got} | {top}"


TABLE_LEGEND = (
    "reached: in-scope questions answered right or offered the right entry to confirm; answered: of\n"
    "those, answered directly and right; wrong: confident answers with the wrong entry, over all\n"
    "questions; not answered: out-of-scope questions given no answer; emergencies: recognised;\n"
    "false alarms: other questions taken for an emergency; WER: word error rate of what was heard"
)


def table(reports: dict[str, Report], title: str = "") -> str:
    """The reports side by side, one line each (TABLE_LEGEND says what the columns count)."""
    rows = [
        (title, "clips", "reached", "answered", "wrong", "not answered", "emergencies", "false alarms", "WER")
    ]
    for name, r in reports.items():
        rows.append(
            (
                name,
                str(r.total),
                f"{r.reached}/{r.in_scope} {r.reach_rate:.0%}",
                str(r.answered_right),
                str(r.wrong_answers),
                f"{r.out_of_scope_not_answered}/{r.out_of_scope}",
                f"{r.emergencies_recognised}/{r.emergencies}",
                str(r.false_alarms),
                f"{r.word_errors / r.words:.3f}" if r.words else "-",
            )
        )
    return aligned(rows)


def aligned(rows: Sequence[Sequence[str]]) -> str:
    """Rows of cells as text columns: the first left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    )


def combine(*reports: Report) -> Report:
    """One report over the questions of several."""
    return Report(
        **{
            name: sum((getattr(r, name) for r in reports[1:]), getattr(reports[0], name))
            for name in Report.__dataclass_fields__
        }
    )


def spoken_reports(clips: Sequence[Clip], matcher: Matcher) -> dict[str, Report]:
    """Accuracy through whisper (the zero-download engine) on spoken clips: clean and
    20 dB SNR, 10 and 5 dB, and all."""
    from voice.asr import RecognizerOptions, load_recognizer
    from voice.assistant import recognizer_options

    recognizer = load_recognizer("whisper", recognizer_options(matcher.faq_set, RecognizerOptions()))
    easy = [clip for clip in clips if clip.noise == "clean" or clip.snr_db == 20]
    hard = [clip for clip in clips if clip not in easy]
    reports = {
        "clean and 20 dB": evaluate_spoken(recognizer, matcher, easy),
        "10 and 5 dB": evaluate_spoken(recognizer, matcher, hard),
    }
    reports["all"] = combine(*reports.values())
    return reports


def main(argv: Sequence[str] | None = None) -> None:
    from voice.core.config import default_answers_dir
    from voice.core.faq import load_set

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sets", nargs="*", type=Path, default=[DATA / "dev.jsonl", DATA / "holdout.jsonl"])
    parser.add_argument("--misses", action="store_true", help="list every question it got wrong")
    parser.add_argument("--answers", type=Path, default=None)
    parser.add_argument(
        "--spoken",
        nargs="?",
        type=Path,
        const=Path(__file__).resolve().parents[1] / "tests" / "artifacts" / "spoken-dev",
        help="score a spoken set built by tools.spoken_set (default: the dev one, built if missing)",
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also score plain rapidfuzz over the entries' source text, for scale",
    )
    args = parser.parse_args(argv)
    matcher = Matcher(load_set(args.answers or default_answers_dir()))
    if args.spoken is not None:
        from tools.spoken_set import build, load_manifest

        spoken_dir: Path = args.spoken
        dev_dir = Path(__file__).resolve().parents[1] / "tests" / "artifacts" / "spoken-dev"
        clips = build(dev_dir, DATA / "dev.jsonl") if spoken_dir == dev_dir else load_manifest(spoken_dir)
        for name, report in spoken_reports(clips, matcher).items():
            print(f"{spoken_dir.name}, {name} ({report.total} clips, whisper): {report.summary()}")
            if args.misses and name != "all":
                for row, match in report.misses:
                    print(describe(row, match))
        return
    for path in args.sets:
        if args.baseline:
            baseline = PlainFuzzy(matcher)
            report = tally((row, baseline.match(row.text)) for row in load(path))
            print(f"{path.name} (plain rapidfuzz baseline): {report.summary()}")
        report = evaluate(matcher, load(path))
        print(f"{path.name}: {report.summary()}")
        if args.misses:
            for row, match in report.misses:
                print(describe(row, match))


if __name__ == "__main__":
    main()
