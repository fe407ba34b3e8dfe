"""The text commands: `voicefaq ask` (typed questions) and `voicefaq check`."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from typing import BinaryIO

from voice.assistant import Assistant
from voice.cli.enrol import profile_from
from voice.cli.output import print_json, print_match
from voice.core.config import default_answers_dir
from voice.core.faq import check_set
from voice.core.matcher import Matcher
from voice.core.overlap import overlaps
from voice.core.question import MAX_QUESTION_CHARS, question_text
from voice.errors import InputTextError

EXIT_OK, EXIT_ERROR = 0, 1


def ask(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Typed questions: one from the arguments, or many from standard input."""
    if args.jsonl and args.question:
        parser.error("--jsonl reads questions from standard input; give no question arguments")
    started = time.perf_counter()
    matcher = Assistant(args.answers, profile=profile_from(args)).matcher
    load_ms = (time.perf_counter() - started) * 1000
    if not args.jsonl and not args.question:
        if args.json:
            parser.error("--json needs a question; use --jsonl to read questions from standard input")
        return conversation(matcher)
    if not args.jsonl:
        try:
            text = question_text(" ".join(args.question))
        except InputTextError as exc:
            parser.error(str(exc))
        match = matcher.match(text)
        if args.json:
            print_json(match.to_dict(load_ms=load_ms))
        else:
            print_match(match)
        return EXIT_OK
    failures = 0
    for number, line in enumerate(bounded_lines(sys.stdin.buffer), start=1):
        try:
            result = matcher.match(question_text(line)).to_dict()
        except InputTextError as exc:
            failures += 1
            print(f"voicefaq: line {number}: {exc}", file=sys.stderr)
            result = {"input": line.decode("utf-8", "replace")[:200], "error": str(exc)}
        print_json(result)
    return EXIT_ERROR if failures else EXIT_OK


MAX_LINE_BYTES = 4 * MAX_QUESTION_CHARS + 2
"""A line longer than this cannot hold a question within the limit (UTF-8 takes at most
four bytes a character); only this much of it is kept, the rest is skipped unread."""


def bounded_lines(stream: BinaryIO) -> Iterator[bytes]:
    """Lines without their ending, each cut at MAX_LINE_BYTES: a gigabyte without a newline
    costs this much memory, not a gigabyte (question_text then says it is too long)."""
    while line := stream.readline(MAX_LINE_BYTES):
        if len(line) == MAX_LINE_BYTES and not line.endswith(b"\n"):
            while (rest := stream.readline(1 << 16)) and not rest.endswith(b"\n"):
                pass
        yield line.rstrip(b"\r\n")


def conversation(matcher: Matcher) -> int:
    """Text mode: one question per line from standard input, answers printed in full."""
    interactive = sys.stdin.isatty()
    faq_set = matcher.faq_set
    if interactive:
        print(
            f"{faq_set.title}. {faq_set.disclaimer}\nType a question and press Enter; "
            "an empty line or Ctrl-D ends.\n"
        )
    for line in _typed_lines() if interactive else bounded_lines(sys.stdin.buffer):
        if interactive and not line.strip():
            return EXIT_OK
        try:
            text = question_text(line)
        except InputTextError as exc:
            print(f"voicefaq: {exc}", file=sys.stderr)
            continue
        print_match(matcher.match(text))
        print()
    return EXIT_OK


def _typed_lines() -> Iterator[str]:
    """Lines typed at the prompt (with the terminal's line editing), until Ctrl-D."""
    while True:
        try:
            yield input("question> ")
        except EOFError:
            return


def check(args: argparse.Namespace) -> int:
    directory = args.directory or default_answers_dir()
    faq_set, problems = check_set(directory)
    warnings = faq_set.warnings if faq_set is not None else ()
    if faq_set is not None and not problems:
        warnings = (*warnings, *(overlap.warning() for overlap in overlaps(faq_set)))
    for problem in problems:
        print(problem, file=sys.stderr)
    for warning in warnings:  # accepted, but worth fixing
        print(f"{warning.file}:{warning.line}: warning: {warning.message}", file=sys.stderr)
    if problems or faq_set is None:
        print(f"{directory}: {len(problems)} problem{'s' if len(problems) != 1 else ''}", file=sys.stderr)
        return EXIT_ERROR
    phrasings = sum(len(entry.phrasings) for entry in faq_set.entries)
    warned = f"; {len(warnings)} warning{'s' if len(warnings) != 1 else ''}" if warnings else ""
    print(
        f"{directory}: ok: {len(faq_set.entries)} entries, {phrasings} phrasings, "
        f"{len(faq_set.emergencies)} emergency kinds{warned}"
    )
    return EXIT_OK
