"""Hands-free enrolment on a microphone and speaker: `voicefaq enrol --profile NAME`.

Each prompt is shown in large text and read aloud; the person says it in their own time
(the question ends after a silence, as in `voicefaq listen`). Saying "again" records the
prompt again, "skip" leaves it out, and "stop" ends enrolment keeping what was recorded;
a prompt that is itself one of those words ("stop") is taken as the prompt. Nothing is
kept on disk but the profile, unless --keep-audio.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import jellyfish
import soundfile as sf
from rapidfuzz import fuzz

from voice.assistant import Assistant
from voice.audio.decode import SAMPLE_RATE, Audio, pcm16_to_float
from voice.audio.mic import Microphone
from voice.audio.speaker import Speaker
from voice.audio.templates import Features
from voice.audio.vad import EndpointConfig, Endpointer, EndpointKind
from voice.conversation.commands import words
from voice.conversation.events import Role, SpeechKind, VoiceSettings
from voice.core.personal import EnrolPrompt
from voice.enrol import Enrolled, Skipped, command_sound, hear_prompt, keep
from voice.errors import AudioDeviceError, NoSpeechError
from voice.profiles import PromptHeard
from voice.terminal.captions import Captions

CONTROL_CUTOFF = 80.0
"""How alike (rapidfuzz ratio) an utterance and "again", "skip" or "stop" must be spelt."""
ENROL_END_SILENCE_S = 2.5
"""Longer than a question's default: a person's pauses are what enrolment measures."""
CONTROL_TAIL = frozenset({"it", "this", "that", "one", "please", "now"})
"""Words that may follow a control word: "skip this one", "stop now"."""


def _alike(heard: str, wanted: str) -> bool:
    """Spelt alike, or sounding alike: whisper writes a lone "skip" as "scoop" or "scape",
    and as "keep" when the quiet "s" is lost."""
    if fuzz.ratio(heard, wanted) >= CONTROL_CUTOFF:
        return True
    code, wanted_code = (jellyfish.metaphone(text.replace(" ", "")) for text in (heard, wanted))
    return bool(code) and code in (wanted_code, wanted_code.removeprefix("S"))


def control_word(heard: str, prompt: EnrolPrompt, choices: Sequence[str]) -> str | None:
    """Which of `choices` ("again", "skip", "stop") the utterance is, if it is one and is not
    the prompt itself said (the prompt "stop", heard as "stub", is the prompt)."""
    said = words(heard)
    while len(said) > 1 and said[-1] in CONTROL_TAIL:
        said = said[:-1]
    if len(said) != 1 or _alike(said[0], " ".join(words(prompt.text))):
        return None
    return next((choice for choice in choices if _alike(said[0], choice)), None)


def _utterance(mic: Microphone, config: EndpointConfig) -> Audio:
    endpointer = Endpointer(config)
    blocks: Iterator[bytes] = mic.blocks()
    for block in blocks:
        for event in endpointer.feed(block):
            if event.kind in (EndpointKind.SPEECH_ENDED, EndpointKind.MAX_LENGTH):
                return Audio(pcm16_to_float(event.pcm16), SAMPLE_RATE, 1)
    raise AudioDeviceError("the microphone stopped before anything was said")


def enrol_on_microphone(
    args: argparse.Namespace, wiring: Assistant, prompts: Sequence[EnrolPrompt]
) -> Enrolled:
    """Record and hear each prompt, then save the profile (the recordings go to a private
    folder, removed at the end, and into the profile only with --keep-audio)."""
    from voice.audio.mic import find_input

    find_input(args.device)  # a missing microphone fails before the model loads
    language = wiring.faq_set.language_data
    enrolment = language.enrolment
    controls = (enrolment.again, enrolment.skip, enrolment.stop)
    captions = Captions()
    synthesizer = wiring.synthesizer()
    recognizer = wiring.recognizer()
    settings = VoiceSettings()
    silence = args.end_silence if args.end_silence is not None else ENROL_END_SILENCE_S
    config = EndpointConfig(end_silence_s=silence, max_utterance_s=args.max_seconds)
    heard: list[PromptHeard] = []
    skipped: list[Skipped] = []
    sounds: dict[str, Features] = {}
    with (
        tempfile.TemporaryDirectory(prefix="voicefaq-enrol-") as folder,
        Speaker(args.output_device) as speaker,
        Microphone(args.device) as mic,
    ):

        def say(text: str) -> None:
            captions.spoken(SpeechKind.ANSWER, text)
            speaker.play(synthesizer.synthesize(text, settings))
            mic.drain()  # what the microphone heard of the speaker; before the prompt shows

        say(enrolment.start.format(count=len(prompts), again=controls[0], skip=controls[1], stop=controls[2]))
        index = 0
        while index < len(prompts):
            prompt = prompts[index]
            say(enrolment.say_this.format(text=prompt.text))
            captions.show(Role.STATUS, prompt.text)
            audio = _utterance(mic, config)
            try:
                said = hear_prompt(prompt, audio, recognizer, "what was said")
            except NoSpeechError:
                continue  # nothing said: the same prompt again
            captions.show(Role.PERSON, said.heard or "…")
            control = control_word(said.heard, prompt, controls)
            if control == enrolment.again:
                continue
            if control == enrolment.stop:
                break
            if control == enrolment.skip:
                skipped.append(Skipped(prompt.id, "skipped"))
            else:
                heard.append(said)
                sound = command_sound(prompt, audio)
                if sound is not None and prompt.command is not None:
                    sounds[prompt.command] = sound
                sf.write(Path(folder) / f"{prompt.id}.wav", audio.samples, SAMPLE_RATE, subtype="PCM_16")
            index += 1
        skipped.extend(Skipped(prompt.id, "not reached") for prompt in prompts[index:])
        if not heard:
            raise NoSpeechError("no prompt was recorded, so no profile was made")
        kept = [Path(folder) / f"{said.prompt_id}.wav" for said in heard] if args.keep_audio else []
        enrolled = keep(
            args.profile,
            heard,
            skipped,
            wiring.faq_set,
            sounds,
            profile_dir=args.profile_dir,
            audio=kept,
            engine=recognizer.name,
        )
        say(enrolment.done.format(recorded=len(heard), name=args.profile))
    return enrolled
