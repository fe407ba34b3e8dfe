"""`voicefaq listen`: the hands-free conversation (what `make run` starts)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from voice.audio.vad import EndpointConfig
from voice.cli.speech import add_endpoint_options, add_recognizer_options, assistant
from voice.conversation.events import Mode, VoiceSettings
from voice.errors import AudioDeviceError
from voice.terminal.captions import CaptionStyle

if TYPE_CHECKING:
    from voice.terminal.listener import ListenConfig

EXIT_OK = 0
_VOICE = VoiceSettings()

NO_DEVICE_HINT = (
    "voicefaq listen needs a microphone and a speaker. Without them you can still: type questions "
    'with `voicefaq ask "your question"`, answer recordings with `voicefaq ask --audio FILE.wav '
    "--out reply.wav`, or run the kiosk service with `voicefaq serve` and use a browser's microphone."
)


def add_arguments(listen: argparse.ArgumentParser) -> None:
    listen.add_argument(
        "--mode",
        choices=[mode.value for mode in Mode],
        default=Mode.ALWAYS.value,
        help="always: every question is heard (home use); wake: questions start with the wake phrase; "
        "push: press any key (or an accessibility switch) before each question (default: %(default)s)",
    )
    listen.add_argument("--wake-phrase", help="for --mode wake (default: the answers set's language's)")
    listen.add_argument("--device", metavar="NAME|INDEX", help="microphone (see `voicefaq devices`)")
    listen.add_argument("--output-device", metavar="NAME|INDEX", help="speaker (see `voicefaq devices`)")
    add_recognizer_options(listen)
    add_endpoint_options(listen)
    listen.add_argument(
        "--still-listening",
        type=float,
        metavar="SECONDS",
        help="pause after which a soft 'still listening' tone plays (default: 1 s before the end "
        "silence when that is 2.5 s or more)",
    )
    listen.add_argument(
        "--idle-reset",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="forget voice settings after this long without a question (default %(default)s s)",
    )
    listen.add_argument("--rate", type=int, default=_VOICE.rate, help="words a minute (default %(default)s)")
    listen.add_argument(
        "--volume", type=float, default=_VOICE.volume, help="0.2 to 1.0 (default %(default)s)"
    )
    listen.add_argument("--voice", help="speech voice id (see `voicefaq say --voices`)")
    listen.add_argument(
        "--captions",
        choices=[style.value for style in CaptionStyle],
        default=CaptionStyle.AUTO.value,
        help="large: double-size text on terminals that support it; plain: ordinary text "
        "(default: large on a terminal)",
    )
    listen.add_argument(
        "--record-dir",
        type=Path,
        metavar="DIR",
        help="keep each question's audio here as WAV (by default no audio is kept)",
    )
    listen.add_argument("--answers", type=Path, metavar="DIR", help="answers set folder")


def _config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> ListenConfig:
    from voice.cli.enrol import end_silence
    from voice.conversation.dialogue import DialogueConfig
    from voice.terminal.listener import ListenConfig

    try:
        settings = VoiceSettings(rate=args.rate, volume=args.volume, voice=args.voice)
        endpoint = EndpointConfig(
            end_silence_s=end_silence(args),
            max_utterance_s=args.max_seconds,
            still_listening_s=args.still_listening,
        )
        dialogue = DialogueConfig(
            mode=Mode(args.mode),
            wake_phrase=args.wake_phrase,
            idle_reset_s=args.idle_reset,
            settings=settings,
        )
    except ValueError as exc:
        parser.error(str(exc))
    if args.record_dir is not None and not args.record_dir.is_dir():
        parser.error(f"--record-dir {args.record_dir} is not a folder; create it first")
    return ListenConfig(endpoint=endpoint, dialogue=dialogue, record_dir=args.record_dir)


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """SIGTERM (a service manager stopping a kiosk) ends the conversation like Ctrl-C."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _keys(on_key: Callable[[], None]) -> Iterator[None]:
    """Push-to-talk: every key (or a switch that types one) calls `on_key`. The terminal is
    put in cbreak mode so a key needs no Enter, and restored afterwards."""
    descriptor = sys.stdin.fileno()
    saved = None
    if os.isatty(descriptor):
        import termios
        import tty

        saved = termios.tcgetattr(descriptor)
        tty.setcbreak(descriptor)

    def read() -> None:
        while os.read(descriptor, 1):
            on_key()

    threading.Thread(target=read, name="voicefaq-keys", daemon=True).start()
    try:
        yield
    finally:
        if saved is not None:
            import termios

            termios.tcsetattr(descriptor, termios.TCSADRAIN, saved)


def listen(args: argparse.Namespace) -> int:
    from voice.audio.mic import Microphone, find_input
    from voice.audio.speaker import Speaker, find_output
    from voice.terminal.captions import Captions
    from voice.terminal.listener import Listener, run_microphone

    config = _config(args, args.subparser)
    logging.basicConfig(level=logging.WARNING, format="voicefaq: %(message)s")
    try:  # devices first: without them nothing else is worth loading
        find_input(args.device)
        find_output(args.output_device)
    except AudioDeviceError as exc:
        raise AudioDeviceError(f"{exc}\n{NO_DEVICE_HINT}") from None
    wiring = assistant(args)
    faq_set, matcher = wiring.faq_set, wiring.matcher
    synthesizer = wiring.synthesizer()
    captions = Captions(style=CaptionStyle(args.captions))
    print("loading speech recognition...", file=sys.stderr, flush=True)
    recognizer = wiring.recognizer()
    try:
        with _stop_on_sigterm(), Speaker(args.output_device) as speaker, Microphone(args.device) as mic:
            listener = Listener(faq_set, matcher, recognizer, synthesizer, speaker, captions, config)
            run_microphone(listener, mic.blocks())
            keys = (
                _keys(listener.key) if config.dialogue.mode is Mode.PUSH_TO_TALK else contextlib.nullcontext()
            )
            with keys:
                listener.run()
    except KeyboardInterrupt:
        print("\nGoodbye.", file=sys.stderr)
    except AudioDeviceError as exc:
        raise AudioDeviceError(f"{exc}\n{NO_DEVICE_HINT}") from None
    return EXIT_OK
