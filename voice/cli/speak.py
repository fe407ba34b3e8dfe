"""Speech out on the command line: `voicefaq say`, and the spoken reply of `voicefaq ask --out`."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voice.assistant import Assistant
from voice.cli.output import print_json, print_match
from voice.conversation.events import VoiceSettings
from voice.core.question import question_text
from voice.errors import InputTextError, OutputFileError
from voice.speech.tts import Synthesizer, load_synthesizer, sentences, write_wav

EXIT_OK = 0
_DEFAULTS = VoiceSettings()
REPLY_SUFFIX = ".reply.wav"
OUT_HELP = (
    "write the spoken reply (the answer, the confirmation question, the fallback or the emergency "
    "text) as a WAV file. One question: FILE.wav, or a folder (the reply is then <input "
    f"stem>{REPLY_SUFFIX}, microphone{REPLY_SUFFIX} or reply.wav there). Several --audio files: "
    f"an existing folder; each reply is <input stem>{REPLY_SUFFIX} there"
)


def add_say_parser(commands: Any) -> None:
    """Register `voicefaq say` on the top-level subparsers."""
    say = commands.add_parser(
        "say",
        help="speak text aloud, or write it to a WAV file",
        description="Speak text with the assistant's voice (pyttsx3 and espeak-ng, offline), "
        "sentence by sentence, on the speaker; or write it to a WAV file with --out.",
    )
    say.add_argument("text", nargs="*", help="the text to speak")
    say.add_argument("--out", type=Path, metavar="FILE.wav", help="write a WAV file instead of playing")
    say.add_argument(
        "--rate",
        type=int,
        default=_DEFAULTS.rate,
        metavar="WPM",
        help=f"words a minute, {VoiceSettings.MIN_RATE} to {VoiceSettings.MAX_RATE} (default %(default)s)",
    )
    say.add_argument(
        "--volume",
        type=float,
        default=_DEFAULTS.volume,
        metavar="V",
        help=f"{VoiceSettings.MIN_VOLUME} to 1.0 of full scale (default %(default)s)",
    )
    say.add_argument("--voice", metavar="ID", help="voice id from --voices (default: espeak-ng's)")
    say.add_argument("--device", metavar="NAME|INDEX", help="speaker to use (see `voicefaq devices`)")
    say.add_argument("--voices", action="store_true", help="list the voices and exit")
    say.set_defaults(subparser=say)


def say(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args.subparser
    if args.voices:
        if args.text or args.out:
            parser.error("--voices lists the voices; give it no text and no --out")
        return _list_voices()
    text = " ".join(" ".join(args.text).split())
    if not text:
        parser.error('give the text to speak, for example: voicefaq say "Hello"')
    try:
        settings = VoiceSettings(args.rate, args.volume, args.voice)
    except ValueError as exc:
        parser.error(str(exc))
    if args.out is not None:
        _check_wav_name(parser, args.out)
        speech = load_synthesizer().synthesize(text, settings)
        write_wav(speech, args.out)
        print(f"wrote {args.out} ({speech.seconds:.1f} s)")
        return EXIT_OK
    from voice.audio.speaker import Speaker

    synthesizer = load_synthesizer()
    with Speaker(args.device) as speaker:
        for sentence in sentences(text):  # one at a time: Ctrl-C stops within a sentence
            speaker.play(synthesizer.synthesize(sentence, settings))
    return EXIT_OK


def _list_voices() -> int:
    voices = load_synthesizer().voices()
    width = max((len(voice.id) for voice in voices), default=2)
    print(f"{'id':<{width}}  {'languages':<16}  name")
    for voice in voices:
        print(f"{voice.id:<{width}}  {', '.join(voice.languages):<16}  {voice.name}")
    return EXIT_OK


def _check_wav_name(parser: argparse.ArgumentParser, path: Path) -> None:
    if path.suffix.lower() != ".wav" and not path.is_dir():
        parser.error(f"--out {path}: the file name must end in .wav (the reply is written as WAV)")


# `voicefaq ask ... --out`


@dataclass(frozen=True, slots=True)
class Reply:
    """A spoken reply written to a file."""

    path: Path
    seconds: float
    """Length of the reply."""
    tts_ms: float
    """Milliseconds spent synthesising it."""


def reply_targets(args: argparse.Namespace) -> dict[str, Path]:
    """Where each question's reply goes, keyed like the questions are named in `ask`:
    the --audio path as given, "microphone", or "question" for a typed one.

    Usage errors exit 2 with the rule; a missing folder is an OutputFileError."""
    parser: argparse.ArgumentParser = args.subparser
    out: Path = args.out
    if args.audio:
        names = {str(path): f"{path.stem}{REPLY_SUFFIX}" for path in args.audio}
    elif args.mic:
        names = {"microphone": f"microphone{REPLY_SUFFIX}"}
    else:
        names = {"question": "reply.wav"}
    if len(names) > 1:
        if not out.is_dir():
            parser.error(
                f"--out {out}: with several --audio files, --out must name an existing folder; each "
                f"reply is written there as <input stem>{REPLY_SUFFIX} (create it with mkdir -p {out})"
            )
        files = list(names.values())
        clashes = sorted({file.removesuffix(REPLY_SUFFIX) for file in files if files.count(file) > 1})
        if clashes:
            parser.error(
                f"several --audio files are named {', '.join(clashes)}; their replies would overwrite "
                f"each other in {out}. Rename them or answer them in separate runs"
            )
    if out.is_dir():
        targets = {name: out / file for name, file in names.items()}
    else:
        _check_wav_name(parser, out)
        if not out.parent.is_dir():
            raise OutputFileError(
                f"cannot write {out}: the folder {out.parent} does not exist; create it first"
            )
        targets = {name: out for name in names}
    inputs = {path.resolve() for path in args.audio or ()}
    for target in targets.values():
        if target.resolve() in inputs:
            parser.error(f"--out {target} would overwrite a question recording; choose another name")
    return targets


def write_reply(text: str, target: Path, synthesizer: Synthesizer) -> Reply:
    """Synthesise `text` with the default voice settings and write it to `target`."""
    started = time.perf_counter()
    speech = synthesizer.synthesize(text, VoiceSettings())
    tts_ms = (time.perf_counter() - started) * 1000
    write_wav(speech, target)
    return Reply(target, speech.seconds, tts_ms)


def print_reply(reply: Reply) -> None:
    print(f"\nreply:    {reply.path} ({reply.seconds:.1f} s of speech)")


def ask_typed(args: argparse.Namespace) -> int:
    """`voicefaq ask "question" --out reply.wav`: the decision, and its reply as WAV."""
    parser: argparse.ArgumentParser = args.subparser
    if args.jsonl or not args.question:
        parser.error(
            '--out needs the question as arguments: voicefaq ask "question" --out reply.wav '
            "(for many questions, give --audio files and a folder)"
        )
    try:
        text = question_text(" ".join(args.question))
    except InputTextError as exc:
        parser.error(str(exc))
    target = reply_targets(args)["question"]
    started = time.perf_counter()
    wiring = Assistant(args.answers)
    matcher = wiring.matcher
    wiring.synthesizer()  # fails early, with how to install espeak-ng
    load_ms = (time.perf_counter() - started) * 1000
    match = matcher.match(text)
    reply = write_reply(match.say, target, wiring.synthesizer())
    if args.json:
        print_json(match.to_dict(load_ms=load_ms, tts_ms=reply.tts_ms) | {"reply_wav": str(reply.path)})
    else:
        print_match(match)
        print_reply(reply)
    sys.stdout.flush()
    return EXIT_OK
