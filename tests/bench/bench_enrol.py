"""Benchmark: enrolment from files, as a carer runs it.

    .venv/bin/python -m tests.bench.bench_enrol [--voice scanning] [--runs 2]

Every enrolment prompt is said by a simulated atypical voice (tools.atypical_voice) into a
folder (not timed), then `voicefaq enrol --profile NAME --recordings DIR` runs in a fresh
process, timed from start to exit: Python starting, the model loading, each recording
checked, heard and measured, the profile and command sounds written. Target (issue 13):
under a minute on 2 cores. The recordings' own length is reported too: what the person
spent saying them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

from tools.atypical_voice import VOICES, render
from voice.audio.decode import SAMPLE_RATE
from voice.core.config import default_answers_dir
from voice.core.faq import load_set
from voice.core.personal import enrol_prompts

TARGET_S = 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voice", default="scanning", choices=tuple(VOICES))
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    prompts = enrol_prompts(load_set(default_answers_dir()))
    with tempfile.TemporaryDirectory() as folder:
        recordings, profiles = Path(folder) / "recordings", Path(folder) / "profiles"
        recordings.mkdir()
        said_s = 0.0
        for prompt in prompts:
            samples = render(prompt.text, VOICES[args.voice])
            said_s += len(samples) / SAMPLE_RATE
            sf.write(recordings / f"{prompt.id}.wav", samples, SAMPLE_RATE, subtype="PCM_16")
        command = [
            sys.executable,
            "-m",
            "voice",
            "enrol",
            "--profile",
            "bench",
            "--recordings",
            str(recordings),
        ]
        command += ["--profile-dir", str(profiles)]
        for run in range(1, args.runs + 1):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            took = time.perf_counter() - started
            verdict = "ok" if took < TARGET_S else "OVER"
            print(
                f"run {run}: {len(prompts)} prompts ({said_s:.0f} s of speech, voice {args.voice}) "
                f"enrolled in {took:.1f} s [{verdict}: target {TARGET_S:.0f} s]"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
