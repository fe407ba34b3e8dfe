"""The speech commands: `transcribe`, `ask --audio` / `ask --mic`, `devices`, `models`."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from voice.asr import ENGINES, Recognizer, RecognizerOptions
from voice.assistant import Assistant
from voice.audio import decode as audio_io
from voice.audio.decode import Audio, pcm16_to_float
from voice.audio.vad import EndpointConfig, Endpointer, EndpointKind
from voice.cli import speak
from voice.cli.output import print_json, print_match
from voice.errors import AudioDeviceError, AudioFormatError, NoSpeechError, VoiceError
from voice.spoken import ask_audio, require_speech

EXIT_OK, EXIT_ERROR = 0, 1
_ENDPOINT_DEFAULTS = EndpointConfig()


def _recognizer(args: argparse.Namespace, wiring: Assistant) -> tuple[Recognizer, float]:
    if args.mic:  # a missing microphone should fail before a model takes seconds to load
        from voice.audio.mic import find_input

        find_input(args.device)
    started = time.perf_counter()
    recognizer = wiring.recognizer()
    return recognizer, (time.perf_counter() - started) * 1000


def _listen_once(args: argparse.Namespace) -> Audio:
    """One utterance from the microphone, ended by silence (slow speakers allowed)."""
    from voice.audio.mic import Microphone
    from voice.cli.enrol import end_silence

    config = EndpointConfig(end_silence_s=end_silence(args), max_utterance_s=args.max_seconds)
    endpointer = Endpointer(config)
    with Microphone(args.device) as mic:
        print(
            f"listening on {mic.device.name!r}; speak your question "
            f"(it ends after {config.end_silence_s:g} s of silence)",
            file=sys.stderr,
            flush=True,
        )
        for block in mic.blocks():
            for event in endpointer.feed(block):
                if event.kind is EndpointKind.SPEECH_STARTED:
                    print("hearing you...", file=sys.stderr, flush=True)
                elif event.kind in (EndpointKind.SPEECH_ENDED, EndpointKind.MAX_LENGTH):
                    return Audio(pcm16_to_float(event.pcm16), audio_io.SAMPLE_RATE, 1)
    raise AudioDeviceError("the microphone stopped before a question was heard")


def _sources(args: argparse.Namespace) -> Iterator[tuple[str, Audio | VoiceError]]:
    """(name, audio or the error that made it unusable) for each file, or the microphone."""
    if args.mic:
        yield "microphone", _listen_once(args)
        return
    for path in args.files if args.command == "transcribe" else args.audio:
        try:
            yield str(path), audio_io.read(path)
        except AudioFormatError as exc:
            yield str(path), exc


def _report_failure(name: str, error: VoiceError, as_json: bool) -> None:
    print(f"voicefaq: {error}", file=sys.stderr)
    if as_json:
        print_json({"audio": name, "error": str(error)})


def transcribe(args: argparse.Namespace) -> int:
    recognizer, _ = _recognizer(args, assistant(args, words=args.json))
    failures = 0
    for name, audio in _sources(args):
        try:
            if isinstance(audio, VoiceError):
                raise audio
            require_speech(audio, name)
            transcript = recognizer.transcribe(audio)
        except (AudioFormatError, NoSpeechError) as exc:
            failures += 1
            _report_failure(name, exc, args.json)
            continue
        if args.json:
            print_json({"audio": name, **transcript.to_dict()})
        else:
            prefix = f"{name}: " if len(args.files) > 1 else ""
            print(f"{prefix}{transcript.text}", flush=True)
    return EXIT_ERROR if failures else EXIT_OK


def ask(args: argparse.Namespace) -> int:
    """Spoken questions: files (one engine load for all) or one from the microphone."""
    replies = speak.reply_targets(args) if args.out is not None else {}  # usage errors before loading
    started = time.perf_counter()
    wiring = assistant(args)
    matcher = wiring.matcher
    if replies:
        wiring.synthesizer()  # fails early, with how to install espeak-ng
    recognizer, engine_ms = _recognizer(args, wiring)
    load_ms = (time.perf_counter() - started) * 1000
    failures = 0
    for name, audio in _sources(args):
        try:
            if isinstance(audio, VoiceError):
                raise audio
            spoken = ask_audio(audio, recognizer, matcher, name)
        except (AudioFormatError, NoSpeechError) as exc:
            failures += 1
            _report_failure(name, exc, args.json or args.jsonl)
            continue
        reply = speak.write_reply(spoken.match.say, replies[name], wiring.synthesizer()) if replies else None
        if args.json or args.jsonl:
            tts = {"tts_ms": reply.tts_ms} if reply else {}
            result = {"audio": name, **spoken.to_dict(load_ms=load_ms, engine_load_ms=engine_ms, **tts)}
            print_json(result | ({"reply_wav": str(reply.path)} if reply else {}))
        else:
            heard = spoken.transcript
            confidence = "" if heard.confidence is None else f", confidence {heard.confidence:.2f}"
            print(f'{name}: heard "{heard.text}" ({heard.engine}, {heard.audio_s:.1f} s{confidence})')
            print_match(spoken.match)
            if reply:
                speak.print_reply(reply)
            print()
    return EXIT_ERROR if failures else EXIT_OK


def list_devices(args: argparse.Namespace) -> int:
    from voice.audio.mic import devices

    found = devices()
    if args.json:
        print_json(
            [
                {
                    "index": d.index,
                    "name": d.name,
                    "inputs": d.input_channels,
                    "outputs": d.output_channels,
                    "default_rate": d.default_rate,
                    "default_input": d.is_default_input,
                    "default_output": d.is_default_output,
                }
                for d in found
            ]
        )
        return EXIT_OK
    if not found:
        print("no audio devices found; `voicefaq ask --audio FILE.wav` works without them")
        return EXIT_ERROR
    print("index  in  out  rate    name")
    for d in found:
        marks = " ".join(
            m
            for m, on in (("(default input)", d.is_default_input), ("(default output)", d.is_default_output))
            if on
        )
        channels = f"{d.input_channels:>2}  {d.output_channels:>3}"
        print(f"{d.index:>5}  {channels}  {d.default_rate:<6}  {d.name} {marks}")
    return EXIT_OK


def models_command(args: argparse.Namespace) -> int:
    from voice.asr import models

    if args.models_command == "download":
        path = models.download(args.name, progress=_progress_bar())
        print(f"installed {args.name} in {path}")
        return EXIT_OK
    found = models.list_models()
    if args.json:
        print_json(
            [
                {
                    "name": m.name,
                    "engine": m.engine,
                    "path": str(m.path),
                    "language": m.language,
                    "installed": m.installed,
                    "note": m.note,
                }
                for m in found
            ]
        )
    else:
        for m in found:
            state = "installed" if m.installed else "not installed"
            print(f"{m.engine:<8} {m.name:<32} {state:<14} {m.path}" + (f"  ({m.note})" if m.note else ""))
        print(f"\nengine used by default: {models.default_engine()}")
    return EXIT_OK


def _progress_bar() -> Callable[[int, int | None], None]:
    shown = {"percent": -1}

    def show(done: int, total: int | None) -> None:
        if total:
            percent = done * 100 // total
            if percent != shown["percent"]:
                shown["percent"] = percent
                bar = "#" * (percent // 4)
                print(
                    f"\rdownloading [{bar:<25}] {percent:3d}% of {total / 1e6:.0f} MB",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
                if done >= total:
                    print(file=sys.stderr)
        else:
            print(f"\rdownloading {done / 1e6:.1f} MB", end="", file=sys.stderr, flush=True)

    return show


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    add_recognizer_options(parser)
    parser.add_argument(
        "--mic",
        action="store_true",
        help="listen for one question on the microphone instead of reading files",
    )
    parser.add_argument("--device", metavar="NAME|INDEX", help="microphone to use (see `voicefaq devices`)")
    add_endpoint_options(parser)


def add_recognizer_options(parser: argparse.ArgumentParser) -> None:
    """--engine (its choices from the registry, voice.asr.ENGINES) and --model."""
    engines = "; ".join(f"{spec.name}: {spec.summary}" for spec in ENGINES.values())
    parser.add_argument(
        "--engine",
        choices=tuple(ENGINES),
        help=f"speech engine (default: Vosk when a Vosk model is installed, else whisper). {engines}",
    )
    parser.add_argument("--model", type=Path, metavar="PATH", help="Vosk model folder to use")


def assistant(args: argparse.Namespace, **recognition: Any) -> Assistant:
    """The assistant for a command with --answers, --engine and --model; `recognition`
    adds RecognizerOptions fields (words=True, ...)."""
    from voice.cli.enrol import profile_from

    options = RecognizerOptions(model_path=args.model, **recognition)
    return Assistant(args.answers, engine=args.engine, recognition=options, profile=profile_from(args))


def add_endpoint_options(parser: argparse.ArgumentParser, end_silence_help: str | None = None) -> None:
    """When a spoken question ends: shared by `ask --mic`, `listen` and `enrol`."""
    parser.add_argument(
        "--end-silence",
        type=float,
        metavar="SECONDS",
        help=end_silence_help
        or "silence that ends a spoken question; raise it for slow speech (default "
        f"{_ENDPOINT_DEFAULTS.end_silence_s:g} s, or what the --profile's pauses need)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=_ENDPOINT_DEFAULTS.max_utterance_s,
        metavar="SECONDS",
        help="longest spoken question (default %(default)s s)",
    )
