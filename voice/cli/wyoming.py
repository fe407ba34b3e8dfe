"""`voicefaq wyoming`: the Wyoming service for Home Assistant (voice/wyoming/)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from urllib.parse import urlparse

from voice.cli.speech import add_recognizer_options
from voice.wyoming.handler import MAX_CLIENTS, STALL_S

DEFAULT_URI = "tcp://127.0.0.1:10700"


def add_arguments(parser: argparse.ArgumentParser, answers_help: str) -> None:
    parser.add_argument(
        "--uri",
        default=DEFAULT_URI,
        help="where to listen: tcp://HOST:PORT (port 0: any free one), unix://PATH or stdio:// "
        "(default: %(default)s, this machine only)",
    )
    parser.add_argument(
        "--zeroconf",
        nargs="?",
        const="",
        metavar="NAME",
        help="announce the service on the local network for Home Assistant to discover "
        "(default name: voicefaq)",
    )
    parser.add_argument("--answers", type=Path, metavar="DIR", help=answers_help)
    add_recognizer_options(parser)
    parser.add_argument(
        "--client-timeout",
        type=float,
        default=STALL_S,
        metavar="SECONDS",
        help="disconnect a client that sends nothing this long in the middle of a request "
        "(default %(default)s s)",
    )
    parser.add_argument(
        "--max-clients",
        type=int,
        default=MAX_CLIENTS,
        metavar="N",
        help="connections served at once; one more gets an error (default %(default)s)",
    )
    parser.add_argument("--debug", action="store_true", help="log every request")


def wyoming(args: argparse.Namespace) -> int:
    from voice.asr import RecognizerOptions
    from voice.assistant import Assistant
    from voice.wyoming.server import serve

    if not args.client_timeout > 0:
        raise SystemExit("voicefaq wyoming: error: --client-timeout must be more than 0 seconds")
    if args.max_clients < 1:
        raise SystemExit("voicefaq wyoming: error: --max-clients must be at least 1")
    host = urlparse(args.uri).hostname
    if args.uri.startswith("tcp://") and host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"voicefaq: warning: listening on {host}, reachable from the network; anyone who can "
            "reach it can ask questions and use the speech engines",
            file=sys.stderr,
        )
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)-9s %(name)s: %(message)s",
    )
    # Whisper in a child process at a low priority, with a core left free, as the kiosk runs it.
    options = RecognizerOptions(
        model_path=args.model, threads=max(1, (os.cpu_count() or 2) - 1), separate_process=True
    )
    assistant = Assistant(args.answers, engine=args.engine, recognition=options)
    try:
        asyncio.run(
            serve(
                assistant,
                args.uri,
                zeroconf=args.zeroconf,
                stall_s=args.client_timeout,
                max_clients=args.max_clients,
            )
        )
    finally:
        assistant.close()
    return 0
