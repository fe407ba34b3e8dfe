"""`voicefaq enrol` (prompts, from recordings, or hands-free on a microphone), `voicefaq
profile list|show|delete`, and the --profile option of ask, listen and serve."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from voice import profiles
from voice.audio.vad import EndpointConfig
from voice.core.config import default_answers_dir
from voice.core.faq import load_set
from voice.core.personal import EnrolPrompt, enrol_prompts, speaking_seconds
from voice.profiles import Profile

if TYPE_CHECKING:
    from voice.enrol import Enrolled

EXIT_OK = 0
PROFILE_DIR_HELP = "where voice profiles live (default: $XDG_DATA_HOME/voicefaq/profiles)"


def add_profile_options(parser: argparse.ArgumentParser) -> None:
    """--profile and --profile-dir, for every command that hears a person."""
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help="read speech as this person speaks: their voice profile from `voicefaq enrol`",
    )
    parser.add_argument("--profile-dir", type=Path, metavar="DIR", help=PROFILE_DIR_HELP)


def profile_from(args: argparse.Namespace) -> Profile | None:
    """The --profile named, loaded (ProfileError when there is none); None without one."""
    name = getattr(args, "profile", None)
    if name is None:
        return None
    loaded = getattr(args, "_loaded_profile", None)
    if loaded is None:
        loaded = profiles.load(name, getattr(args, "profile_dir", None))
        args._loaded_profile = loaded
    return loaded


def end_silence(args: argparse.Namespace) -> float:
    """--end-silence, else the profile's (past the person's pauses), else the default."""
    if args.end_silence is not None:
        return float(args.end_silence)
    profile = profile_from(args)
    personal = profile.end_silence_s() if profile is not None else None
    return personal if personal is not None else EndpointConfig().end_silence_s


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser], answers_help: str) -> None:
    from voice.cli.speech import add_endpoint_options, add_recognizer_options

    enrol = commands.add_parser(
        "enrol",
        help="teach voicefaq one person's voice: they say a few minutes of prompts",
        description="Make a voice profile: the person says each prompt (every command and one "
        "question per topic) and what speech recognition hears becomes their own map from heard "
        "words to the set's words. `enrol prompts` lists the prompts; `enrol --profile NAME` asks "
        "for each on the microphone and speaker (say 'again', 'skip' or 'stop'); add "
        "--recordings DIR to read DIR/<prompt id>.wav instead.",
    )
    enrol.add_argument("action", nargs="?", choices=("prompts",), help="list the prompts and stop")
    enrol.add_argument("--json", action="store_true", help="prompts: one JSON object a line")
    enrol.add_argument("--profile", metavar="NAME", help="the profile to make (replaces one of that name)")
    enrol.add_argument("--profile-dir", type=Path, metavar="DIR", help=PROFILE_DIR_HELP)
    enrol.add_argument(
        "--recordings",
        type=Path,
        metavar="DIR",
        help="read the prompts from DIR/<prompt id>.wav (or .flac, .ogg)",
    )
    enrol.add_argument(
        "--keep-audio", action="store_true", help="also keep the recordings in the profile (by default none)"
    )
    enrol.add_argument("--answers", type=Path, metavar="DIR", help=answers_help)
    enrol.add_argument("--device", metavar="NAME|INDEX", help="microphone (see `voicefaq devices`)")
    enrol.add_argument("--output-device", metavar="NAME|INDEX", help="speaker (see `voicefaq devices`)")
    add_recognizer_options(enrol)
    # Enrolment waits longer than a question does: the person's pauses are what it measures.
    add_endpoint_options(enrol, "silence that ends a prompt (default 2.5 s)")
    enrol.set_defaults(subparser=enrol)

    profile = commands.add_parser("profile", help="list, show or delete voice profiles")
    actions = profile.add_subparsers(dest="profile_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the profiles there are")
    show = actions.add_parser("show", help="what a profile holds and what it changes")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--answers", type=Path, metavar="DIR", help=answers_help)
    delete = actions.add_parser("delete", help="remove a profile completely, with any audio it kept")
    delete.add_argument("name", metavar="NAME")
    for parser in (listing, show, delete):
        parser.add_argument("--profile-dir", type=Path, metavar="DIR", help=PROFILE_DIR_HELP)
        parser.add_argument("--json", action="store_true")


def enrol(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args.subparser
    faq_set = load_set(args.answers or default_answers_dir())
    prompts = enrol_prompts(faq_set)
    if args.action == "prompts":
        for prompt in prompts:
            print(
                json.dumps(prompt.to_dict(), ensure_ascii=False)
                if args.json
                else f"{prompt.id}\t{prompt.text}"
            )
        if not args.json:
            print(
                f"# {len(prompts)} prompts, about {speaking_seconds(prompts) / 60:.1f} minutes to say",
                file=sys.stderr,
            )
        return EXIT_OK
    if args.profile is None:
        parser.error(
            "name the profile to make with --profile NAME (or list the prompts with `enrol prompts`)"
        )
    folder = profiles.writable_folder(args.profile, args.profile_dir)  # before minutes of recording
    started = time.perf_counter()
    try:
        enrolled = _enrol(args, prompts)
    finally:
        if not any(folder.iterdir()):  # nothing was kept: leave no empty profile behind
            folder.rmdir()
    seconds = time.perf_counter() - started
    for skipped in enrolled.skipped:
        print(f"skipped {skipped.prompt_id}: {skipped.why}", file=sys.stderr)
    learnt = enrolled.learnt
    print(
        f"profile {args.profile!r}: {len(enrolled.profile.prompts)} of {len(prompts)} prompts "
        f"heard in {seconds:.0f} s; "
        f"{len(learnt.phrasings)} questions, {len(learnt.words)} word forms and "
        f"{len(learnt.commands)} command forms learnt; "
        f"end silence {learnt.end_silence_s or EndpointConfig().end_silence_s:g} s; saved to {enrolled.path}"
    )
    print(f"use it with: voicefaq listen --profile {args.profile}")
    return EXIT_OK


def _enrol(args: argparse.Namespace, prompts: tuple[EnrolPrompt, ...]) -> Enrolled:
    from voice.asr import RecognizerOptions
    from voice.assistant import Assistant

    # The set as written: the person's speech is heard afresh, never through an old profile.
    wiring = Assistant(args.answers, engine=args.engine, recognition=RecognizerOptions(model_path=args.model))
    if args.recordings is None:
        from voice.terminal.enrol import enrol_on_microphone

        return enrol_on_microphone(args, wiring, prompts)
    from voice.enrol import enrol_from_files

    return enrol_from_files(
        args.profile,
        args.recordings,
        prompts,
        wiring.faq_set,
        wiring.recognizer(),
        profile_dir=args.profile_dir,
        keep_audio=args.keep_audio,
    )


def profile_command(args: argparse.Namespace) -> int:
    if args.profile_command == "list":
        found = list(profiles.names(args.profile_dir))
        if args.json:
            print(json.dumps(found))
        elif found:
            print("\n".join(found))
        else:
            where = profiles.profiles_dir(args.profile_dir)
            print(f"no voice profiles in {where}; make one with `voicefaq enrol --profile NAME`")
        return EXIT_OK
    if args.profile_command == "delete":
        folder = profiles.delete(args.name, args.profile_dir)
        print(json.dumps({"deleted": str(folder)}) if args.json else f"deleted {folder}")
        return EXIT_OK
    return _show(args)


def _show(args: argparse.Namespace) -> int:
    profile = profiles.load(args.name, args.profile_dir)
    faq_set = load_set(args.answers or default_answers_dir())
    learnt = profiles.learn(faq_set, profile)
    summary = {
        "name": profile.name,
        "created": profile.created,
        "set": profile.set_id,
        "path": str(profiles.profile_path(profile.name, args.profile_dir)),
        "prompts_heard": len(profile.prompts),
        "skipped": list(profile.skipped),
        "audio_kept": (profiles.profile_path(profile.name, args.profile_dir) / profiles.AUDIO_DIR).is_dir(),
        "end_silence_s": learnt.end_silence_s,
        "words": {word: list(forms) for word, forms in learnt.words.heard_as.items()},
        "questions": {entry: list(heard) for entry, heard in learnt.phrasings.items()},
        "commands": {name: list(forms) for name, forms in learnt.commands.items()},
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
        return EXIT_OK
    print(f"profile {profile.name} ({summary['path']}), made {profile.created} for the set {profile.set_id}")
    if profile.set_id != faq_set.id:
        print(f"  this answers set is {faq_set.id}: only the commands and the words its prompts share apply")
    heard, skipped = len(profile.prompts), len(profile.skipped)
    print(f"  {heard} prompts heard, {skipped} skipped; audio kept: {summary['audio_kept']}")
    print(
        f"  end of a question after {learnt.end_silence_s or EndpointConfig().end_silence_s:g} s of silence"
    )
    for word, forms in learnt.words.heard_as.items():
        print(f"  heard {' / '.join(repr(form) for form in forms)} -> {word!r}")
    for entry, texts in learnt.phrasings.items():
        print(f"  asking about {entry}: {' / '.join(repr(text) for text in texts)}")
    for name, forms in learnt.commands.items():
        print(f"  command {name}: also {' / '.join(repr(form) for form in forms)}")
    return EXIT_OK
