"""Command line: `voicefaq` and `python -m voice`. Argument wiring only; the commands
live in text.py (typed questions) and speech.py (audio, devices, models)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from voice import __version__
from voice.cli import enrol as enrol_cli
from voice.cli import listen as listen_cli
from voice.cli import service, speak, speech, text
from voice.cli import wyoming as wyoming_cli
from voice.errors import VoiceError

EXIT_OK, EXIT_ERROR = 0, 1

ANSWERS_HELP = "answers set folder (default: $VOICEFAQ_ANSWERS or the bundled ms-physical-therapy set)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voicefaq",
        description="Offline voice assistant that answers a clinic's frequently asked questions.",
    )
    parser.add_argument("--version", action="version", version=f"voicefaq {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = commands.add_parser(
        "ask",
        help="answer a typed or spoken question",
        description="Match a question against the answers set and print the decision (answer, confirm, "
        "fallback or emergency) and what the assistant would say. The question is typed (arguments or "
        "standard input), recorded (--audio FILE...) or spoken (--mic).",
    )
    ask.add_argument(
        "question",
        nargs="*",
        help="the question; without one (and without --audio or --mic), "
        "questions are read line by line from standard input",
    )
    output = ask.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON object (per audio file)")
    output.add_argument(
        "--jsonl",
        action="store_true",
        help="typed: read one question per line from "
        "standard input; audio: print one JSON object per file, one per line",
    )
    ask.add_argument(
        "--audio",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="recorded questions (WAV, FLAC or OGG); the engine loads once for all",
    )
    ask.add_argument("--answers", type=Path, metavar="DIR", help=ANSWERS_HELP)
    ask.add_argument("--out", type=Path, metavar="FILE.wav|DIR", help=speak.OUT_HELP)
    speech.add_engine_options(ask)
    enrol_cli.add_profile_options(ask)
    ask.set_defaults(subparser=ask)  # so usage errors show `voicefaq ask` usage

    speak.add_say_parser(commands)

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

    transcribe = commands.add_parser(
        "transcribe",
        help="print what was said in audio files",
        description="Transcribe recorded questions offline, biased to the answers set's words.",
    )
    transcribe.add_argument("files", nargs="*", type=Path, metavar="FILE", help="WAV, FLAC or OGG files")
    transcribe.add_argument(
        "--json", action="store_true", help="one JSON object per file, with words, confidences and engine"
    )
    transcribe.add_argument("--answers", type=Path, metavar="DIR", help=ANSWERS_HELP)
    speech.add_engine_options(transcribe)
    transcribe.set_defaults(subparser=transcribe)

    listen = commands.add_parser(
        "listen",
        help="the hands-free conversation on the microphone and speaker (what `make run` starts)",
        description="Listen for spoken questions and speak the answers. Always available: repeat, "
        "slower, faster, louder, softer, change voice, stop, more, help, go back, goodbye. "
        "Ctrl-C ends it.",
    )
    listen_cli.add_arguments(listen)
    enrol_cli.add_profile_options(listen)
    listen.set_defaults(subparser=listen)

    devices = commands.add_parser("devices", help="list microphones and speakers")
    devices.add_argument("--json", action="store_true")

    models = commands.add_parser("models", help="list or download speech models")
    model_commands = models.add_subparsers(dest="models_command", metavar="ACTION")
    listing = model_commands.add_parser("list", help="installed models and the engine used by default")
    listing.add_argument("--json", action="store_true")
    download = model_commands.add_parser("download", help="download a Vosk model into models/")
    download.add_argument(
        "name", nargs="?", default="en-us-small", help="model to download (default: %(default)s)"
    )
    models.set_defaults(models_command="list", json=False)

    serve = commands.add_parser(
        "serve",
        help="run the kiosk service (HTTP API and web page)",
        description="Serve the kiosk page and the HTTP API on this machine (127.0.0.1 unless --host).",
    )
    serve.add_argument("--answers", type=Path, metavar="DIR", help=ANSWERS_HELP)
    service.add_serve_arguments(serve)
    enrol_cli.add_profile_options(serve)

    wyoming = commands.add_parser(
        "wyoming",
        help="serve Home Assistant over Wyoming: conversation agent, speech-to-text, text-to-speech",
        description="One Wyoming service with three programs: handle (answers the set's questions, "
        "leaves others to Home Assistant), asr and tts. Listens on 127.0.0.1 unless --uri says "
        "otherwise.",
    )
    wyoming_cli.add_arguments(wyoming, ANSWERS_HELP)

    review = commands.add_parser(
        "review",
        help="list questions the assistant could not answer",
        description="Questions that ended in fallback or confirm, grouped by similar wording, "
        "most asked first, with the entries that came closest.",
    )
    service.add_review_arguments(review)
    enrol_cli.add_parsers(commands, ANSWERS_HELP)
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "check":
        return text.check(args)
    if args.command == "serve":
        return service.serve(args)
    if args.command == "review":
        return service.review(args)
    if args.command == "wyoming":
        return wyoming_cli.wyoming(args)
    if args.command == "listen":
        return listen_cli.listen(args)
    if args.command == "enrol":
        return enrol_cli.enrol(args)
    if args.command == "profile":
        return enrol_cli.profile_command(args)
    if args.command == "say":
        return speak.say(args)
    if args.command == "devices":
        return speech.list_devices(args)
    if args.command == "models":
        return speech.models_command(args)
    parser: argparse.ArgumentParser = args.subparser
    if args.command == "transcribe":
        if bool(args.files) == args.mic:
            parser.error("give audio files, or --mic to listen on the microphone (not both)")
        return speech.transcribe(args)
    if args.audio or args.mic:
        if args.question:
            parser.error("give a typed question or --audio/--mic, not both")
        if args.audio and args.mic:
            parser.error("give --audio files or --mic, not both")
        return speech.ask(args)
    if args.out is not None:
        return speak.ask_typed(args)
    return text.ask(args, parser)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
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
