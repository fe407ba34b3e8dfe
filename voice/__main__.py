"""Command line: `voicefaq` and `python -m voice`. Argument wiring only."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from voice import __version__
from voice.config import MAX_QUESTION_CHARS, default_answers_dir
from voice.errors import InputTextError, VoiceError
from voice.faq import check_set, load_set
from voice.matcher import Decision, Match, Matcher

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def question_text(raw: str | bytes) -> str:
    """The question as clean text, or InputTextError saying what is wrong with it."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputTextError(
                f"the question is not UTF-8 text (bad byte at position {exc.start}); send UTF-8"
            ) from None
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError as exc:  # argv bytes Python could not decode
        raise InputTextError(
            f"the question is not UTF-8 text (bad character at position {exc.start}); send UTF-8"
        ) from None
    text = " ".join(raw.split())
    if not text:
        raise InputTextError("the question is empty; say or type a question")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputTextError(
            f"the question is {len(text):,} characters long; the limit is {MAX_QUESTION_CHARS:,}"
        )
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voicefaq",
        description="Offline voice assistant that answers a clinic's frequently asked questions.",
    )
    parser.add_argument("--version", action="version", version=f"voicefaq {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = commands.add_parser(
        "ask",
        help="answer a typed question",
        description="Match a question against the answers set and print "
        "the decision (answer, confirm, fallback or emergency) and what "
        "the assistant would say.",
    )
    ask.add_argument(
        "question",
        nargs="*",
        help="the question (quote it, or pass the words); without one, questions "
        "are read line by line from standard input",
    )
    output = ask.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON object")
    output.add_argument(
        "--jsonl",
        action="store_true",
        help="read one question per line from standard input; print one JSON object per line",
    )
    ask.add_argument(
        "--answers",
        type=Path,
        metavar="DIR",
        help="answers set folder (default: $VOICEFAQ_ANSWERS or the bundled ms-physical-therapy set)",
    )
    ask.set_defaults(subparser=ask)  # so usage errors show `voicefaq ask` usage

    check = commands.add_parser(
        "check",
        help="validate an answers set",
        description="Validate an answers set and list every problem with its file and line.",
    )
    check.add_argument(
        "directory",
        type=Path,
        nargs="?",
        metavar="DIR",
        help="answers set folder (default: the one `ask` uses)",
    )
    return parser


def _print_human(match: Match, out: TextIO) -> None:
    width = 78
    print(f"decision: {match.decision.value}  (score {match.score:.2f})", file=out)
    if match.emergency is not None:
        print(f"EMERGENCY ({match.emergency.id})", file=out)
    if match.entry is not None:
        print(f"entry:    {match.entry.id}: {match.entry.question}", file=out)
    print(file=out)
    print(textwrap.fill(match.say, width), file=out)
    if match.entry is not None and match.entry.details:
        print(file=out)
        print(textwrap.fill("More: " + match.entry.details, width), file=out)
    if match.decision is Decision.CONFIRM:
        print("\nclosest entries:", file=out)
        for candidate in match.alternatives:
            print(f"  {candidate.score:.2f}  {candidate.entry_id}: {candidate.question}", file=out)


def _ask(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.jsonl and args.question:
        parser.error("--jsonl reads questions from standard input; give no question arguments")
    started = time.perf_counter()
    faq_set = load_set(args.answers or default_answers_dir())
    matcher = Matcher(faq_set)
    load_ms = (time.perf_counter() - started) * 1000
    if not args.jsonl and not args.question:
        if args.json:
            parser.error("--json needs a question; use --jsonl to read questions from standard input")
        return _conversation(matcher)
    if not args.jsonl:
        try:
            text = question_text(" ".join(args.question))
        except InputTextError as exc:
            parser.error(str(exc))
        match = matcher.match(text)
        if args.json:
            print(json.dumps(match.to_dict(load_ms=load_ms), ensure_ascii=False))
        else:
            _print_human(match, sys.stdout)
        return EXIT_OK
    failures = 0
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        line = raw.rstrip(b"\r\n")
        try:
            result = matcher.match(question_text(line)).to_dict()
        except InputTextError as exc:
            failures += 1
            print(f"voicefaq: line {number}: {exc}", file=sys.stderr)
            result = {"input": line.decode("utf-8", "replace")[:200], "error": str(exc)}
        print(json.dumps(result, ensure_ascii=False), flush=True)
    return EXIT_ERROR if failures else EXIT_OK


def _conversation(matcher: Matcher) -> int:
    """Text mode: one question per line from standard input, answers printed in full."""
    interactive = sys.stdin.isatty()
    faq_set = matcher.faq_set
    if interactive:
        print(
            f"{faq_set.title}. {faq_set.disclaimer}\nType a question and press Enter; "
            "an empty line or Ctrl-D ends.\n"
        )
    while True:
        try:
            line = input("question> " if interactive else "")
        except EOFError:
            return EXIT_OK
        if interactive and not line.strip():
            return EXIT_OK
        try:
            text = question_text(line)
        except InputTextError as exc:
            print(f"voicefaq: {exc}", file=sys.stderr)
            continue
        _print_human(matcher.match(text), sys.stdout)
        print()


def _check(args: argparse.Namespace) -> int:
    directory = args.directory or default_answers_dir()
    faq_set, problems = check_set(directory)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems or faq_set is None:
        print(f"{directory}: {len(problems)} problem{'s' if len(problems) != 1 else ''}", file=sys.stderr)
        return EXIT_ERROR
    phrasings = sum(len(entry.phrasings) for entry in faq_set.entries)
    print(
        f"{directory}: ok: {len(faq_set.entries)} entries, {phrasings} phrasings, "
        f"{len(faq_set.emergencies)} emergency kinds"
    )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "ask":
            return _ask(args, args.subparser)
        return _check(args)
    except VoiceError as exc:
        print(f"voicefaq: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `voicefaq ask --jsonl | head`
        sys.stderr.close()
        return EXIT_OK


def run() -> NoReturn:
    sys.exit(main())


if __name__ == "__main__":
    run()
