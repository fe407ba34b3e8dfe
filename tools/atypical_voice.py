"""Simulated atypical voices: speech like that of many people with MS, made with espeak-ng
and sox, for measuring personal enrolment (tools.enrol_eval, tests/test_enrol_voice.py).

What makes them atypical, each applied the same way every time, since consistency is what
enrolment learns from:

- articulation changes applied to the words before they are spoken ("point" -> "boint",
  "the" -> "de"): consonants voiced, unvoiced, fronted or dropped, per voice;
- a slow rate with a pause between every word (espeak-ng's word gap), like scanning speech;
- a tremor (sox tremolo), a muffled tone (sox lowpass) and a low level, over a quiet room
  noise floor.

Voices "scanning" and "slurred" are for development; "weak" is held out: it is never used
while choosing how enrolment adapts (docs/enrolment.md).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

from tools.spoken_audio import INSTALL_HINT, Signal, mix, pink_noise
from voice.audio.decode import SAMPLE_RATE

NOISE_SEED = 4409


class VoiceError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class AtypicalVoice:
    name: str
    espeak_voice: str
    words_per_minute: int
    word_gap_ms: int
    """Silence espeak-ng leaves between words."""
    pitch: int
    rules: tuple[tuple[str, str], ...]
    """Regular expressions applied to each lower-case word, in order."""
    tremolo_hz: float
    tremolo_depth: float
    """Per cent of the level the tremor takes away at its trough."""
    lowpass_hz: int
    level_db: float
    """Peak level of the speech, in dB below full scale."""
    room_snr_db: float
    """The room's noise floor under the speech."""

    def articulate(self, text: str) -> str:
        """`text` as this voice says it: each word through the voice's rules."""
        spoken = []
        for word in re.findall(r"[a-z']+|\d+", text.lower()):
            for pattern, replacement in self.rules:
                word = re.sub(pattern, replacement, word)
            if word:
                spoken.append(word)
        return " ".join(spoken)


SCANNING = AtypicalVoice(
    name="scanning",
    espeak_voice="en-us",
    words_per_minute=100,
    word_gap_ms=260,
    pitch=38,
    # Word-first stops voiced ("point" -> "boint", "can" -> "gan"), "th" stopped, "-ing" clipped.
    rules=(
        (r"^p", "b"),
        (r"^t(?!h)", "d"),
        (r"^k", "g"),
        (r"^c(?=[aou])", "g"),
        (r"th", "d"),
        (r"ing$", "in"),
    ),
    tremolo_hz=5.5,
    tremolo_depth=35,
    lowpass_hz=2600,
    level_db=22,
    room_snr_db=24,
)
SLURRED = AtypicalVoice(
    name="slurred",
    espeak_voice="en-gb",
    words_per_minute=105,
    word_gap_ms=220,
    pitch=55,
    # A lisp ("s" -> "th"), a gliding "r" ("walk" stays, "rest" -> "wrest" -> "west"),
    # final stops after a consonant dropped ("want" -> "wan"), "ch" softened.
    rules=(
        (r"(?<!s)s(?!h)", "th"),
        (r"^r", "w"),
        (r"(?<=[lnrs])[td]$", ""),
        (r"ch", "sh"),
    ),
    tremolo_hz=7.0,
    tremolo_depth=30,
    lowpass_hz=3000,
    level_db=18,
    room_snr_db=22,
)
WEAK = AtypicalVoice(
    name="weak",
    espeak_voice="en-us+m3",
    words_per_minute=92,
    word_gap_ms=320,
    pitch=30,
    # Weak consonants: clusters reduced ("stiff" -> "tiff"), "v" and "f" stopped, word-first
    # "g" and "b" unvoiced, "l" after a consonant dropped ("blood" -> "bood").
    rules=(
        (r"^s(?=[ptkmnlw])", ""),
        (r"v", "b"),
        (r"^f", "p"),
        (r"^g(?=[aoulr])", "k"),
        (r"^b", "p"),
        (r"(?<=[bcfgkp])l", ""),
    ),
    tremolo_hz=4.5,
    tremolo_depth=40,
    lowpass_hz=2300,
    level_db=24,
    room_snr_db=20,
)

VOICES = {voice.name: voice for voice in (SCANNING, SLURRED, WEAK)}
DEVELOPMENT = ("scanning", "slurred")
HELD_OUT = ("weak",)
TYPICAL = ("en-us", "en-gb-x-rp")
"""Ordinary espeak-ng voices, at their default rate: a profile must not hurt them."""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise VoiceError(f"{name} is not installed; {INSTALL_HINT}")
    return path


def render(text: str, voice: AtypicalVoice, take: int = 0) -> Signal:
    """`text` said by `voice`: mono float samples at 16 kHz, with half a second of the room
    before and after. Each `take` is said a little differently (rate and pitch within a few
    per cent, another stretch of room noise), as a person never says a thing twice alike."""
    # The text goes in on stdin so that nothing in it can be read as an option.
    espeak = subprocess.run(
        [
            _tool("espeak-ng"),
            "-v",
            voice.espeak_voice,
            "-s",
            str(round(voice.words_per_minute * (1 + 0.06 * ((take % 3) - 1 if take else 0)))),
            "-g",
            str(max(1, round(voice.word_gap_ms / 10))),
            "-p",
            str(voice.pitch + (0 if take == 0 else 4 if take % 2 else -4)),
            "--stdout",
        ],
        input=voice.articulate(text).encode("utf-8"),
        capture_output=True,
        check=False,
        timeout=60,
    )
    if espeak.returncode != 0 or not espeak.stdout:
        raise VoiceError(f"espeak-ng failed on {text!r}: {espeak.stderr.decode(errors='replace').strip()}")
    effects = ("tremolo", str(voice.tremolo_hz), str(voice.tremolo_depth), "lowpass", str(voice.lowpass_hz))
    sox = subprocess.run(
        [_tool("sox"), "-q", "-t", "wav", "-", "-t", "f32", "-c", "1", "-r", str(SAMPLE_RATE), "-", *effects],
        input=espeak.stdout,
        capture_output=True,
        check=False,
        timeout=60,
    )
    if sox.returncode != 0 or not sox.stdout:
        raise VoiceError(f"sox failed on {text!r}: {sox.stderr.decode(errors='replace').strip()}")
    speech = np.frombuffer(sox.stdout, dtype=np.float32).astype(np.float64)
    peak = float(np.max(np.abs(speech))) or 1.0
    speech = speech * (10 ** (-voice.level_db / 20) / peak)
    margin = np.zeros(SAMPLE_RATE // 2)
    padded = np.concatenate([margin, speech, margin])
    rng = np.random.default_rng(NOISE_SEED + take)
    return mix(padded, pink_noise(padded.size, SAMPLE_RATE, rng), voice.room_snr_db, SAMPLE_RATE)
