"""Voice profiles on disk: what the recogniser heard when one person said the enrolment
prompts, and the set personalised from it (voice.core.personal).

A profile is a folder under $XDG_DATA_HOME/voicefaq/profiles/ (~/.local/share when unset)
holding profile.yaml: plain text a person or carer can read, with what each prompt was
heard as and how long the person paused. What is learnt from it is worked out again at
each load, so a newer voicefaq learns better from the same enrolment. Audio is kept (in
audio/) only when enrolment was asked to keep it. `delete` removes the folder whole.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from voice.asr import Recognizer, RecognizerStream, Transcript
from voice.asr.whisper import common_words
from voice.audio.decode import Audio
from voice.audio.templates import CommandTemplates
from voice.audio.vad import EndpointConfig
from voice.conversation.commands import learn_commands, personal_language
from voice.core.faq import FaqSet, trigger_words
from voice.core.personal import WordMap, enrol_prompts, learn_phrasings, learn_words, personalise
from voice.errors import VoiceError

PROFILE_FILE = "profile.yaml"
TEMPLATES_FILE = "commands.npz"
"""The person's commands as sound features (voice.audio.templates), not audio."""
AUDIO_DIR = "audio"
FORMAT_VERSION = 1
MAX_PROFILE_BYTES = 1_000_000
"""A profile of every prompt is a few kB; anything far bigger is not one."""
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
END_SILENCE_RANGE_S = (EndpointConfig().end_silence_s, 5.0)
"""A profile's end silence: never shorter than the default, never over 5 s."""
MAX_COMMAND_WORDS = 5
"""More written words than this are no command, however the recogniser misheard one."""
PAUSE_MARGIN_S = 0.6
"""Silence past the person's long pauses before a question counts as finished."""


class ProfileError(VoiceError):
    """A profile that is missing, damaged or misnamed; the message says what to do."""


@dataclass(frozen=True, slots=True)
class PromptHeard:
    """One enrolment prompt as this person said it."""

    prompt_id: str
    heard: str
    """What the recogniser wrote ("" when it wrote nothing)."""
    longest_pause_s: float | None
    """The longest silence between words (None: not measured, as for transcripts alone)."""


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    set_id: str
    prompts: tuple[PromptHeard, ...]
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    engine: str = "whisper"
    skipped: tuple[str, ...] = ()
    """Prompt ids the person skipped, or whose recording was missing."""
    templates: CommandTemplates | None = field(default=None, compare=False)
    """How the person's commands sound, for those speech recognition cannot read."""

    def heard(self) -> dict[str, str]:
        return {prompt.prompt_id: prompt.heard for prompt in self.prompts}

    def end_silence_s(self) -> float | None:
        """Silence that ends this person's question: past most of their pauses between
        words, within END_SILENCE_RANGE_S; None when no pause was measured."""
        pauses = sorted(p.longest_pause_s for p in self.prompts if p.longest_pause_s is not None)
        if not pauses:
            return None
        typical_long = pauses[-1] if len(pauses) < 5 else statistics.quantiles(pauses, n=10)[-1]
        low, high = END_SILENCE_RANGE_S
        return round(min(high, max(low, typical_long + PAUSE_MARGIN_S)), 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "name": self.name,
            "created": self.created,
            "set": self.set_id,
            "engine": self.engine,
            "prompts": [
                {"id": p.prompt_id, "heard": p.heard}
                | ({} if p.longest_pause_s is None else {"longest_pause_s": round(p.longest_pause_s, 2)})
                for p in self.prompts
            ],
            "skipped": list(self.skipped),
        }


@dataclass(frozen=True, slots=True)
class Learnt:
    """What a profile changes for one answers set."""

    words: WordMap
    phrasings: dict[str, tuple[str, ...]]
    """The person's question prompts as heard, by entry id."""
    commands: dict[str, tuple[str, ...]]
    end_silence_s: float | None


def learn(faq_set: FaqSet, profile: Profile) -> Learnt:
    """What `profile` changes for `faq_set` (as its files have it, if already personalised)."""
    written = faq_set.base or faq_set
    prompts = enrol_prompts(written)
    heard = profile.heard()
    command_heard = {p.command: heard[p.id] for p in prompts if p.command is not None and p.id in heard}
    return Learnt(
        learn_words(written, prompts, heard, common_words()),
        learn_phrasings(prompts, heard),
        learn_commands(command_heard, written.language_data, trigger_words(written.emergencies)),
        profile.end_silence_s(),
    )


def apply_profile(faq_set: FaqSet, profile: Profile) -> FaqSet:
    """`faq_set` as it reads this person's speech: their word map and command forms."""
    learnt = learn(faq_set, profile)
    personal = personalise(faq_set, learnt.words, learnt.phrasings)
    language = personal_language(personal.language_data, learnt.commands)
    return replace(personal, language_override=language)


# ---------------------------------------------------------------- storage


def profiles_dir(override: Path | None = None) -> Path:
    """--profile-dir, else $XDG_DATA_HOME/voicefaq/profiles (~/.local/share when unset)."""
    if override is not None:
        return override
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "voicefaq" / "profiles"


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ProfileError(
            f"profile name {name!r} is not usable; use up to 40 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit (for example 'anna' or 'kiosk-2')"
        )
    return name


def profile_path(name: str, directory: Path | None = None) -> Path:
    return profiles_dir(directory) / check_name(name)


def writable_folder(name: str, directory: Path | None = None) -> Path:
    """The profile's folder, made if need be; ProfileError, before minutes of enrolment,
    when it cannot be written."""
    folder = profile_path(name, directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ProfileError(
            f"cannot write the profile in {folder} ({exc.strerror or exc}); choose another place "
            "with --profile-dir DIR, or set XDG_DATA_HOME"
        ) from None
    return folder


def save(profile: Profile, directory: Path | None = None) -> Path:
    """Write the profile (a new file put in place whole, so a crash leaves the old one)."""
    try:
        return _save(profile, writable_folder(profile.name, directory))
    except OSError as exc:
        raise ProfileError(f"could not save the profile {profile.name!r}: {exc}") from None


def _save(profile: Profile, folder: Path) -> Path:
    target = folder / PROFILE_FILE
    partial = folder / f".{PROFILE_FILE}.partial"
    header = (
        f"# voicefaq voice profile '{profile.name}': what speech recognition heard when this person\n"
        "# said each enrolment prompt. No audio is kept here. Delete it all with:\n"
        f"#   voicefaq profile delete {profile.name}\n"
    )
    partial.write_text(
        header + yaml.safe_dump(profile.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    partial.replace(target)
    templates_path = folder / TEMPLATES_FILE
    if profile.templates is not None and profile.templates.templates:
        profile.templates.save(templates_path)
    elif templates_path.exists():
        templates_path.unlink()
    return target


def load(name: str, directory: Path | None = None) -> Profile:
    """The profile `name`; ProfileError says how to make one when there is none."""
    path = profile_path(name, directory) / PROFILE_FILE
    if not path.is_file():
        raise ProfileError(
            f"no voice profile named {name!r} in {path.parent.parent}; make one with "
            f"`voicefaq enrol --profile {name}` (or list them with `voicefaq profile list`)"
        )
    try:
        if path.stat().st_size > MAX_PROFILE_BYTES:
            raise ProfileError(f"{path} is {path.stat().st_size} bytes, too big for a voice profile")
        profile = _from_dict(name, yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise _damaged(path, name, exc) from None
    templates_path = path.with_name(TEMPLATES_FILE)
    try:
        templates = CommandTemplates.load(templates_path) if templates_path.is_file() else None
    except (OSError, ValueError) as exc:
        raise _damaged(templates_path, name, exc) from None
    return replace(profile, templates=templates)


def _damaged(path: Path, name: str, why: Exception) -> ProfileError:
    return ProfileError(
        f"{path} is damaged ({why}); enrol again with `voicefaq enrol --profile {name}`, "
        f"or remove it with `voicefaq profile delete {name}`"
    )


def _from_dict(name: str, data: Any) -> Profile:
    if not isinstance(data, dict) or not isinstance(data.get("prompts"), list):
        raise ValueError("it has no 'prompts:' list")
    prompts = []
    for item in data["prompts"]:
        pause = item.get("longest_pause_s")
        prompts.append(
            PromptHeard(
                str(item["id"]), str(item.get("heard") or ""), None if pause is None else float(pause)
            )
        )
    return Profile(
        name=name,
        set_id=str(data.get("set", "")),
        prompts=tuple(prompts),
        created=str(data.get("created", "")),
        engine=str(data.get("engine", "whisper")),
        skipped=tuple(str(item) for item in data.get("skipped") or ()),
    )


def names(directory: Path | None = None) -> Iterator[str]:
    folder = profiles_dir(directory)
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if (path / PROFILE_FILE).is_file() and NAME.fullmatch(path.name):
                yield path.name


def delete(name: str, directory: Path | None = None) -> Path:
    """Remove the profile's folder whole: its file and any audio kept."""
    folder = profile_path(name, directory)
    if not folder.is_dir():
        raise ProfileError(f"no voice profile named {name!r} in {folder.parent}; nothing was deleted")
    try:
        shutil.rmtree(folder)
    except OSError as exc:
        raise ProfileError(f"could not delete {folder} completely ({exc}); remove it by hand") from None
    return folder


class PersonalRecognizer:
    """A recogniser that also knows one person's commands by their sound: when what it
    wrote means nothing (no command, no emergency, no question it can answer or ask
    about), a short utterance that sounds like one of their recorded commands is that
    command. What was written is kept as the first other reading."""

    def __init__(
        self,
        inner: Recognizer,
        templates: CommandTemplates,
        phrases: Mapping[str, str],
        understood: Callable[[str], bool],
    ) -> None:
        """`phrases`: each command's phrase (Language.enrolment.commands); `understood`:
        whether a transcript already means something."""
        self.inner = inner
        self.name = inner.name
        self.templates = templates
        self.phrases = phrases
        self.understood = understood

    def transcribe(self, audio: Audio) -> Transcript:
        transcript = self.inner.transcribe(audio)
        # A question is longer than any command, even misheard: not matched a second time here.
        if len(transcript.text.split()) > MAX_COMMAND_WORDS or self.understood(transcript.text):
            return transcript
        command = self.templates.command(audio)
        if command is None or command not in self.phrases:
            return transcript
        readings = (
            (transcript.text, *transcript.alternatives)
            if transcript.text.strip()
            else transcript.alternatives
        )
        return replace(transcript, text=self.phrases[command], alternatives=readings, words=())

    def stream(self) -> RecognizerStream:
        return self.inner.stream()

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()
