"""Enrolment: one person's recordings of the prompts become their voice profile.

Shared by `voicefaq enrol --recordings DIR` (files named by prompt id) and the hands-free
enrolment on a microphone (voice.terminal.enrol): each recording is checked for speech,
heard by the same recogniser questions are heard by, and measured for the person's pauses.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from voice.asr import Recognizer
from voice.audio.decode import Audio, read
from voice.audio.templates import CommandTemplates, Features, features
from voice.audio.vad import longest_pause_s
from voice.core.faq import FaqSet
from voice.core.personal import WAKE, EnrolPrompt
from voice.errors import VoiceError
from voice.profiles import AUDIO_DIR, Learnt, Profile, PromptHeard, learn, profile_path, save
from voice.spoken import require_speech

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga")
"""What `voicefaq ask --audio` reads, tried in this order for each prompt id."""


@dataclass(frozen=True, slots=True)
class Skipped:
    prompt_id: str
    why: str


@dataclass(frozen=True, slots=True)
class Enrolled:
    profile: Profile
    path: Path
    skipped: tuple[Skipped, ...]
    learnt: Learnt


def hear_prompt(prompt: EnrolPrompt, audio: Audio, recognizer: Recognizer, name: str) -> PromptHeard:
    """One recording of `prompt`; NoSpeechError (a VoiceError) when it holds no speech."""
    require_speech(audio, name)
    transcript = recognizer.transcribe(audio)
    return PromptHeard(prompt.id, transcript.text.strip(), longest_pause_s(audio))


def command_sound(prompt: EnrolPrompt, audio: Audio) -> Features | None:
    """A command prompt's template (voice.audio.templates); None for a question, or a
    recording too short or long to be one."""
    return features(audio) if prompt.kind == "command" and prompt.command != WAKE else None


def recording_for(directory: Path, prompt: EnrolPrompt) -> Path | None:
    for suffix in AUDIO_SUFFIXES:
        path = directory / f"{prompt.id}{suffix}"
        if path.is_file():
            return path
    return None


def enrol_from_files(
    name: str,
    directory: Path,
    prompts: Sequence[EnrolPrompt],
    faq_set: FaqSet,
    recognizer: Recognizer,
    *,
    profile_dir: Path | None = None,
    keep_audio: bool = False,
) -> Enrolled:
    """A profile from `directory`/<prompt id>.wav (or .flac, .ogg); a missing or
    unusable recording is skipped and listed, never the end of enrolment."""
    if not directory.is_dir():
        raise VoiceError(
            f"{directory} is not a folder; pass the folder that holds the recordings (<prompt id>.wav)"
        )
    heard: list[PromptHeard] = []
    skipped: list[Skipped] = []
    kept: list[Path] = []
    sounds: dict[str, Features] = {}
    for prompt in prompts:
        path = recording_for(directory, prompt)
        if path is None:
            skipped.append(Skipped(prompt.id, "no recording"))
            continue
        try:
            audio = read(path)
            heard.append(hear_prompt(prompt, audio, recognizer, str(path)))
        except VoiceError as exc:
            skipped.append(Skipped(prompt.id, str(exc)))
            continue
        sound = command_sound(prompt, audio)
        if sound is not None and prompt.command is not None:
            sounds[prompt.command] = sound
        kept.append(path)
    if not heard:
        raise VoiceError(
            f"none of the {len(prompts)} prompts has a usable recording in {directory}; name each "
            "file after its prompt's id (`voicefaq enrol prompts` lists them), like command-stop.wav"
        )
    copies = kept if keep_audio else []
    return keep(
        name, heard, skipped, faq_set, sounds, profile_dir=profile_dir, audio=copies, engine=recognizer.name
    )


def keep(
    name: str,
    heard: Sequence[PromptHeard],
    skipped: Sequence[Skipped],
    faq_set: FaqSet,
    sounds: Mapping[str, Features],
    *,
    profile_dir: Path | None = None,
    audio: Sequence[Path] = (),
    engine: str = "whisper",
) -> Enrolled:
    """Save the profile (replacing one of the same name), with copies of `audio` if any."""
    profile = Profile(
        name,
        faq_set.id,
        tuple(heard),
        skipped=tuple(s.prompt_id for s in skipped),
        templates=CommandTemplates(dict(sounds)) if sounds else None,
        engine=engine,
    )
    path = save(profile, profile_dir)
    audio_dir = profile_path(name, profile_dir) / AUDIO_DIR
    if audio_dir.is_dir():
        shutil.rmtree(audio_dir)  # a profile made again keeps no audio from the old one
    if audio:
        audio_dir.mkdir()
        for source in audio:
            shutil.copyfile(source, audio_dir / source.name)
    return Enrolled(profile, path, tuple(skipped), learn(faq_set, profile))
