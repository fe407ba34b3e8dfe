"""Personal enrolment, measured: simulated atypical voices (tools.atypical_voice) and typical
ones say the enrolment prompts and a question set; each question is decided with no profile,
with the speaker's own profile, and (typical voices) with an atypical speaker's profile.

    .venv/bin/python -m tools.enrol_eval record [--set dev|heldout]   # speak and hear (minutes)
    .venv/bin/python -m tools.enrol_eval report [--set dev|heldout]   # replay (seconds)
    .venv/bin/python -m tools.enrol_eval commands                     # commands said again (minutes)
    .venv/bin/python -m tools.enrol_eval again                        # enrolled questions asked again

`record` writes what the recogniser heard to tests/fixtures/enrol-heard-SET.jsonl (the audio is
kept under tests/artifacts/enrol/); `report` replays it, so figures need no recogniser and
tests/test_enrol_replay.py checks them in `make test`. Tune on the dev set and the
development voices only; the held-out set (tests/data/enrol-heldout.jsonl) and the held-out
voice are for before-and-after figures (docs/enrolment.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from tools import atypical_voice
from tools.quality import DATA, Labelled, load
from tools.spoken_audio import ESPEAK_RATE, synthesize
from tools.transcripts import recording_info, transcript_from, transcript_record
from voice.asr import Recognizer, Transcript
from voice.audio.decode import SAMPLE_RATE, Audio, to_mono_16k
from voice.core.faq import FaqSet
from voice.core.matcher import Decision, Match, Matcher
from voice.core.personal import enrol_prompts, matcher_for
from voice.profiles import Profile, PromptHeard, apply_profile
from voice.spoken import match_transcript

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts" / "enrol"
FIXTURES = ROOT / "tests" / "fixtures"
SETS = {"dev": DATA / "enrol-dev.jsonl", "heldout": DATA / "enrol-heldout.jsonl"}
VOICES = (*atypical_voice.VOICES, *atypical_voice.TYPICAL)


def heard_path(set_name: str) -> Path:
    return FIXTURES / f"enrol-heard-{set_name}.jsonl"


def speak(text: str, voice: str, take: int = 0) -> np.ndarray:
    """`text` in `voice`: an atypical voice's name, or an espeak-ng voice at 150 words a
    minute. A later `take` says it a little differently (tools.atypical_voice.render; for
    an espeak-ng voice, 10 words a minute faster or slower)."""
    if voice in atypical_voice.VOICES:
        return atypical_voice.render(text, atypical_voice.VOICES[voice], take).astype(np.float32)
    speed = 150 + (0 if take == 0 else 10 if take % 2 else -10)
    speech = to_mono_16k(synthesize(text, voice, speed), ESPEAK_RATE)
    margin = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    return np.concatenate([margin, speech, margin]).astype(np.float32)


def clip(voice: str, group: str, name: str, text: str) -> Path:
    """The clip's file, rendered when missing (espeak-ng and sox are deterministic)."""
    path = ARTIFACTS / voice / group / f"{name}.wav"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, speak(text, voice), SAMPLE_RATE, subtype="PCM_16")
    return path


def hear(path: Path, recognizer: Recognizer) -> Transcript | None:
    from voice.audio.decode import read
    from voice.errors import NoSpeechError
    from voice.spoken import require_speech

    audio = read(path)
    try:
        require_speech(audio, str(path))
    except NoSpeechError:
        return None
    return recognizer.transcribe(audio)


def record(set_name: str, voices: Sequence[str]) -> None:
    from voice.assistant import Assistant

    assistant = Assistant()
    recognizer = assistant.recognizer()
    prompts = enrol_prompts(assistant.faq_set)
    questions = load(SETS[set_name])
    lines: list[dict[str, Any]] = [{"recorded": recording_info(assistant.matcher, {"set": set_name})}]
    for voice in voices:
        started = time.perf_counter()
        for prompt in prompts:
            transcript = hear(clip(voice, "prompts", prompt.id, prompt.text), recognizer)
            lines.append(
                {
                    "voice": voice,
                    "prompt": prompt.id,
                    "said": prompt.text,
                    "heard": transcript_record(transcript),
                }
            )
        for number, question in enumerate(questions):
            transcript = hear(clip(voice, set_name, f"{number:03d}", question.text), recognizer)
            lines.append(
                {
                    "voice": voice,
                    "question": number,
                    "said": question.text,
                    "expect": question.expect,
                    "heard": transcript_record(transcript),
                }
            )
        print(f"{voice}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    path = heard_path(set_name)
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Recorded:
    prompts: dict[str, dict[str, Transcript | None]]
    """voice -> prompt id -> what was heard."""
    questions: dict[str, list[tuple[Labelled, Transcript | None]]]


def read_recorded(set_name: str) -> Recorded:
    prompts: dict[str, dict[str, Transcript | None]] = {}
    questions: dict[str, list[tuple[Labelled, Transcript | None]]] = {}
    for line in heard_path(set_name).read_text(encoding="utf-8").splitlines()[1:]:
        record = json.loads(line)
        transcript = transcript_from(record["heard"])
        if "prompt" in record:
            prompts.setdefault(record["voice"], {})[record["prompt"]] = transcript
        else:
            said = Labelled(record["said"], record["expect"], ())
            questions.setdefault(record["voice"], []).append((said, transcript))
    return Recorded(prompts, questions)


def profile_of(voice: str, heard: Mapping[str, Transcript | None]) -> Profile:
    return Profile(
        name=voice,
        set_id="ms-physical-therapy",
        prompts=tuple(
            PromptHeard(prompt_id, transcript.text if transcript else "", None)
            for prompt_id, transcript in heard.items()
        ),
    )


@dataclass(frozen=True, slots=True)
class Score:
    questions: int = 0
    reached: int = 0
    answered: int = 0
    wrong: int = 0
    out_of_scope: int = 0
    out_answered: int = 0
    emergencies: int = 0
    emergencies_found: int = 0
    false_alarms: int = 0

    def row(self, label: str) -> str:
        of = max(1, self.questions)
        return (
            f"| {label} | {self.reached}/{self.questions} ({self.reached / of:.0%}) "
            f"| {self.answered}/{self.questions} ({self.answered / of:.0%}) | {self.wrong} "
            f"| {self.out_answered}/{self.out_of_scope} | {self.emergencies_found}/{self.emergencies} "
            f"| {self.false_alarms} |"
        )


HEADER = (
    "| voice, profile | right entry reached | answered directly and right | wrong answers "
    "| out of scope answered | emergencies | false alarms |\n|---|---|---|---|---|---|---|"
)


def score(questions: Sequence[tuple[Labelled, Transcript | None]], matcher: Matcher) -> Score:
    counts = dict.fromkeys(Score.__dataclass_fields__, 0)
    for said, transcript in questions:
        match = decide(transcript, matcher)
        emergency = match.decision is Decision.EMERGENCY
        if said.expect == "emergency":
            counts["emergencies"] += 1
            counts["emergencies_found"] += emergency
            continue
        counts["false_alarms"] += emergency
        if said.expect == "fallback":
            counts["out_of_scope"] += 1
            counts["out_answered"] += match.decision is Decision.ANSWER
            continue
        counts["questions"] += 1
        offered = [candidate.entry_id for candidate in match.offered]
        right = match.entry is not None and match.entry.id == said.expect
        counts["answered"] += match.decision is Decision.ANSWER and right
        counts["wrong"] += match.decision is Decision.ANSWER and not right
        counts["reached"] += (match.decision is Decision.ANSWER and right) or (
            match.decision is Decision.CONFIRM and said.expect in offered
        )
    return Score(**counts)


def decide(transcript: Transcript | None, matcher: Matcher) -> Match:
    if transcript is None or not transcript.text.strip():
        return Match("", Decision.FALLBACK, matcher.faq_set.fallback, None, 0.0, ())
    return match_transcript(transcript, matcher)


def report(set_name: str) -> str:
    from voice.core.faq import load_set

    faq_set = load_set(ROOT / "answers" / "ms-physical-therapy")
    plain = Matcher(faq_set)
    recorded = read_recorded(set_name)
    lines = [HEADER]
    atypical = [voice for voice in recorded.questions if voice in atypical_voice.VOICES]
    for voice, questions in recorded.questions.items():
        own = matcher_for(personalised(faq_set, voice, recorded))
        lines.append(score(questions, plain).row(f"{voice}, none"))
        lines.append(score(questions, own).row(f"{voice}, own"))
        if voice not in atypical_voice.VOICES:
            for other in atypical:
                lines.append(
                    score(questions, matcher_for(personalised(faq_set, other, recorded))).row(
                        f"{voice}, {other}'s"
                    )
                )
    return "\n".join(lines)


def personalised(faq_set: FaqSet, voice: str, recorded: Recorded) -> FaqSet:
    return apply_profile(faq_set, profile_of(voice, recorded.prompts[voice]))


COMMAND_TAKES = (1, 2)
"""Each command said again, a little differently (tools.atypical_voice.render's takes)."""


def commands_path() -> Path:
    return FIXTURES / "enrol-commands.jsonl"


def record_commands(voices: Sequence[str]) -> None:
    """Each voice's commands said again: what the recogniser wrote, and which command the
    sound of it is nearest among the voice's enrolled commands (voice.audio.templates)."""
    from voice.assistant import Assistant
    from voice.audio.decode import read
    from voice.audio.templates import CommandTemplates, features

    assistant = Assistant()
    recognizer = assistant.recognizer()
    phrases = assistant.faq_set.language_data.enrolment.commands
    lines: list[dict[str, Any]] = [{"recorded": recording_info(assistant.matcher, {"takes": COMMAND_TAKES})}]
    for voice in voices:
        enrolled = {
            name: features(read(clip(voice, "prompts", f"command-{name}", text)))
            for name, text in phrases.items()
        }
        templates = CommandTemplates({name: sound for name, sound in enrolled.items() if sound is not None})
        for take in COMMAND_TAKES:
            for name, text in phrases.items():
                audio = Audio(speak(text, voice, take), SAMPLE_RATE, 1)
                transcript = recognizer.transcribe(audio)
                lines.append(
                    {
                        "voice": voice,
                        "take": take,
                        "command": name,
                        "heard": transcript.text,
                        "sounds_like": templates.command(audio),
                    }
                )
    commands_path().write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def again_path() -> Path:
    return FIXTURES / "enrol-again.jsonl"


def record_again(voices: Sequence[str]) -> None:
    """Each voice's enrolled questions asked again (take 1: a little faster or slower,
    higher or lower, over another stretch of room noise), as the recogniser heard them."""
    from voice.assistant import Assistant

    assistant = Assistant()
    recognizer = assistant.recognizer()
    lines: list[dict[str, Any]] = [{"recorded": recording_info(assistant.matcher, {"take": 1})}]
    for voice in voices:
        for prompt in enrol_prompts(assistant.faq_set):
            if prompt.entry_id is None:
                continue
            transcript = recognizer.transcribe(Audio(speak(prompt.text, voice, 1), SAMPLE_RATE, 1))
            lines.append(
                {
                    "voice": voice,
                    "said": prompt.text,
                    "expect": prompt.entry_id,
                    "heard": transcript_record(transcript),
                }
            )
    again_path().write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def again_report() -> str:
    """The enrolled questions asked again, with no profile and with the speaker's own."""
    from voice.core.faq import load_set

    faq_set = load_set(ROOT / "answers" / "ms-physical-therapy")
    recorded = read_recorded("heldout")
    records = [json.loads(line) for line in again_path().read_text(encoding="utf-8").splitlines()[1:]]
    lines = [HEADER]
    for voice in dict.fromkeys(record["voice"] for record in records):
        asked = [
            (Labelled(record["said"], record["expect"], ()), transcript_from(record["heard"]))
            for record in records
            if record["voice"] == voice
        ]
        lines.append(score(asked, Matcher(faq_set)).row(f"{voice}, none"))
        lines.append(score(asked, matcher_for(personalised(faq_set, voice, recorded))).row(f"{voice}, own"))
    return "\n".join(lines)


def commands_report() -> str:
    """Commands understood from what was written alone, with the person's own written forms
    (their profile's personal language), and with the sound of their commands as well."""
    from voice.conversation.commands import parse_command, parse_reply
    from voice.core.faq import load_set

    faq_set = load_set(ROOT / "answers" / "ms-physical-therapy")
    base_language = faq_set.language_data
    records = [json.loads(line) for line in commands_path().read_text(encoding="utf-8").splitlines()[1:]]
    heldout = read_recorded("heldout") if heard_path("heldout").is_file() else read_recorded("dev")
    lines = [
        "| voice | commands understood, no profile | with the profile's written forms "
        "| with the sound of their commands too | taken for another command |",
        "|---|---|---|---|---|",
    ]
    for voice in dict.fromkeys(record["voice"] for record in records):
        mine = [record for record in records if record["voice"] == voice]
        matcher = matcher_for(personalised(faq_set, voice, heldout))
        personal = matcher.faq_set.language_data
        plain = written = sounded = other = 0
        for record in mine:
            wanted, heard = record["command"], record["heard"]
            plain += parse_command(heard, base_language) == wanted
            found = parse_command(heard, personal)
            written += found == wanted
            if (
                found is None
                and parse_reply(heard, personal) is None
                and Matcher(faq_set).match(heard).decision is Decision.FALLBACK
            ):
                found = record["sounds_like"]
            sounded += found == wanted
            other += found is not None and found != wanted
        n = len(mine)
        lines.append(f"| {voice} | {plain}/{n} | {written}/{n} | {sounded}/{n} | {other} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.enrol_eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("record", "report", "commands", "again"))
    parser.add_argument("--set", default="dev", choices=tuple(SETS))
    parser.add_argument("--voices", nargs="+", default=VOICES, choices=VOICES)
    parser.add_argument("--again", action="store_true", help="commands, again: record them again")
    args = parser.parse_args(argv)
    if args.action == "again":
        if not again_path().is_file() or args.again:
            record_again(args.voices)
        print(again_report())
        return 0
    if args.action == "commands":
        if not commands_path().is_file() or args.again:
            record_commands(args.voices)
        print(commands_report())
        return 0
    if args.action == "record":
        record(args.set, args.voices)
    print(report(args.set))
    return 0


if __name__ == "__main__":
    sys.exit(main())
