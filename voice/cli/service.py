"""The service commands: `voicefaq serve` (the kiosk's HTTP API and page) and
`voicefaq review` (what staff should look at in the review log)."""

from __future__ import annotations

import argparse
import errno
import gc
import ipaddress
import logging
import os
import socket
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from voice.cli.output import WIDTH, print_json
from voice.cli.speech import add_recognizer_options
from voice.core.config import ADMIN_TOKEN_ENV, default_answers_dir
from voice.errors import VoiceError
from voice.review import ReviewGroup, ReviewLog, default_path, group, parse_since
from voice.service.limits import Limits

EXIT_OK, EXIT_ERROR = 0, 1
MIN_TOKEN_CHARS = 16
_TOKEN_HINT = "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe())' > token.txt"


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    serve.add_argument(
        "--port", type=int, default=8000, help="port (default: %(default)s; 0 picks a free one)"
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name or address browsers reach this service by, besides localhost and 127.0.0.1 "
        "(repeat for more; '*' for any). Requests naming another host are refused, which stops "
        "other sites' pages from reaching the kiosk through DNS rebinding",
    )
    add_recognizer_options(serve)
    serve.add_argument(
        "--admin-token-file",
        type=Path,
        metavar="FILE",
        help=f"file holding the staff token for /api/admin/* (or set ${ADMIN_TOKEN_ENV}); "
        "without one they are off",
    )
    review = serve.add_mutually_exclusive_group()
    review.add_argument("--no-review", action="store_true", help="keep no review log")
    review.add_argument(
        "--review-db", type=Path, metavar="PATH", help=f"review log file (default: {default_path()})"
    )
    serve.add_argument("--access-log", action="store_true", help="log every request (paths only)")
    defaults = Limits()
    serve.add_argument(
        "--max-sessions",
        type=_positive(int),
        default=defaults.max_sessions,
        metavar="N",
        help="listening sessions (kiosks) at once (default: %(default)s)",
    )
    serve.add_argument(
        "--session-idle",
        type=_positive(float),
        default=defaults.max_idle_s,
        metavar="SECONDS",
        help="a listening session where nothing is asked for this long is closed (default: %(default)g)",
    )


Number = TypeVar("Number", int, float)


def _positive(kind: Callable[[str], Number]) -> Callable[[str], Number]:
    """An argparse type: a number above 0 (a limit of 0 would refuse everything)."""

    def parse(text: str) -> Number:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
        return value

    return parse


def add_review_arguments(review: argparse.ArgumentParser) -> None:
    review.add_argument(
        "--db", type=Path, metavar="PATH", help=f"review log file (default: {default_path()})"
    )
    review.add_argument("--since", metavar="DATE", help="only questions from this date (YYYY-MM-DD, UTC) on")
    review.add_argument("--json", action="store_true", help="print one JSON object")


def admin_token(path: Path | None) -> str | None:
    """The staff token from --admin-token-file, else $VOICEFAQ_ADMIN_TOKEN, else None."""
    if path is not None:
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise VoiceError(f"cannot read the admin token file {path}: {exc}") from None
        where = str(path)
    else:
        token = os.environ.get(ADMIN_TOKEN_ENV, "").strip()
        where = f"${ADMIN_TOKEN_ENV}"
        if not token:
            return None
    if len(token) < MIN_TOKEN_CHARS or any(ch.isspace() for ch in token):
        raise VoiceError(
            f"the admin token in {where} must be at least {MIN_TOKEN_CHARS} characters with no spaces; "
            + _TOKEN_HINT
        )
    return token


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, so that a taken port is a clear message rather than a log line."""
    if not 0 <= port <= 65535:
        raise VoiceError(f"--port must be 0 to 65535, not {port}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise VoiceError(
            f"cannot listen on {host!r}: {exc.strerror}; use an address such as 127.0.0.1"
        ) from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart right after a stop
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise VoiceError(
                f"port {port} on {host} is already in use (another `voicefaq serve`?); "
                "stop it or pass another --port"
            ) from None
        raise VoiceError(f"cannot listen on {host} port {port}: {exc.strerror}") from None
    return sock


def _bound_name(host: str) -> list[str]:
    """The address served on, as a name browsers may use for it; none for a wildcard."""
    try:
        return [] if ipaddress.ip_address(host.strip("[]")).is_unspecified else [host]
    except ValueError:
        return [host]


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def serve(args: argparse.Namespace) -> int:
    from voice.cli.enrol import profile_from
    from voice.service.runtime import Runtime

    token = admin_token(args.admin_token_file)
    review = None if args.no_review else ReviewLog(args.review_db or default_path())
    runtime = Runtime(
        args.answers or default_answers_dir(),
        admin_token=token,
        review=review,
        engine=args.engine,
        model_path=args.model,
        allowed_hosts=[*args.allowed_host, *_bound_name(args.host)],
        limits=Limits(max_sessions=args.max_sessions, max_idle_s=args.session_idle),
        profile=profile_from(args),
    )
    sock = bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(
        f"voicefaq: serving {runtime.faq_set.title!r} on http://{shown}:{port}/ "
        f"(review log: {review.path if review else 'off'}; staff endpoints: {'on' if token else 'off'})",
        file=sys.stderr,
        flush=True,
    )
    if not _is_loopback(host):
        print(
            f"voicefaq: warning: listening on {host}, reachable from the network; anyone who can "
            "reach it can ask questions (use --host 127.0.0.1 on a single kiosk)",
            file=sys.stderr,
        )
        if not args.allowed_host:
            print(
                "voicefaq: browsers on other machines must reach it by a name or address given with "
                "--allowed-host (e.g. --allowed-host kiosk.clinic.local); others are refused",
                file=sys.stderr,
            )
    logging.basicConfig(level=logging.INFO, format="%(levelname)-9s %(name)s: %(message)s")

    # The web stack loads only once the settings are known to be good.
    from voice.service.app import create_app
    from voice.service.limits import ServerLimits
    from voice.service.server import serve as run_server

    app = create_app(runtime, warm_up=True)
    # What is loaded now lives as long as the service: out of the collector's sight, its
    # full collections no longer walk it while questions wait.
    gc.freeze()
    try:
        run_server(
            app, sock, ServerLimits(), access_log=args.access_log, ws_max_size=runtime.limits.max_body_bytes
        )
    finally:
        sock.close()
    return EXIT_OK


def review(args: argparse.Namespace) -> int:
    since = parse_since(args.since) if args.since else None
    path = args.db or default_path()
    with ReviewLog(path, create=False) as log:
        entries = log.entries(since)
    groups = group(entries)
    if args.json:
        print_json({"db": str(path), "total": len(entries), "groups": [g.to_dict() for g in groups]})
        return EXIT_OK
    period = f" since {args.since}" if args.since else ""
    if not entries:
        print(f"Nothing to review{period}: every question was answered (log: {path}).")
        return EXIT_OK
    print(
        f"{len(entries)} question{'s' if len(entries) != 1 else ''}{period} ended in fallback or confirm, "
        f"in {len(groups)} group{'s' if len(groups) != 1 else ''}, most asked first (log: {path}).\n"
        "Add a frequent wording as a phrasing of the entry it meant, or write a new entry.\n"
    )
    for number, found in enumerate(groups, start=1):
        _print_group(number, found)
    return EXIT_OK


def _print_group(number: int, found: ReviewGroup) -> None:
    decisions = "/".join(sorted({entry.decision for entry in found.entries}))
    print(f'{number}. {found.count} x "{found.representative}"  ({decisions})')
    indent = " " * (len(str(number)) + 2)
    if found.wordings:
        shown = ", ".join(f'"{wording}"' for wording in found.wordings[:8])
        more = f" and {len(found.wordings) - 8} more" if len(found.wordings) > 8 else ""
        print(
            textwrap.fill(
                f"also: {shown}{more}", WIDTH, initial_indent=indent, subsequent_indent=indent + "  "
            )
        )
    if found.candidates:
        print(f"{indent}closest entries:")
        for candidate in found.candidates:
            print(f"{indent}  {candidate.score:.2f}  {candidate.entry_id}: {candidate.question}")
    else:
        print(f"{indent}no entry came close: a new entry may be needed")
    print()
