"""Benchmark: from the end of a spoken question to the first sample of the spoken reply.

    .venv/bin/python -m tests.bench.bench_listen [--questions N] [--end-silence S]

The whole `voicefaq listen` pipeline runs on PulseAudio virtual devices: questions
made by espeak-ng are written in real time into the virtual microphone; the
Listener (endpointer, whisper, matcher, dialogue, pyttsx3, speaker) answers on the
virtual speaker. The end of speech is the moment the question's last voiced sample
went into the microphone; the reply starts when its first block is handed to the
speaker. Target (issue 4): at most the end-of-speech silence plus 300 ms.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from tests.virtual_audio import virtual_audio
from tools.spoken_set import spoken
from voice.audio.decode import SAMPLE_RATE, Audio
from voice.audio.vad import EndpointConfig
from voice.conversation.events import CommandName, Pressed
from voice.terminal.captions import Captions, CaptionStyle

TARGET_EXTRA_S = 0.3
QUESTIONS = (
    "how often should I exercise",
    "what can a physical therapist do if I keep falling",
    "does heat make my symptoms worse",
    "will exercise make my fatigue worse",
    "what is a physiatrist",
    "can I do yoga with MS",
    "how do I find a physical therapist who knows about MS",
    "what should I do if I get too hot while exercising",
    "does stretching help with spasticity",
    "is it safe to lift weights",
)
VOICES = ("en-us", "en-us+m3", "en-us+f3", "en+f2")


def _last_voiced_s(audio: Audio) -> float:
    voiced = np.flatnonzero(np.abs(audio.samples) > 0.02)
    return float(voiced[-1]) / SAMPLE_RATE


def _wait(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.005)
    return False


def run(questions: int, end_silence_s: float, verbose: bool = False) -> dict[str, object]:
    from voice.assistant import Assistant
    from voice.audio.mic import Microphone
    from voice.audio.speaker import Speaker
    from voice.terminal.listener import ListenConfig, Listener, run_microphone

    wiring = Assistant(engine="whisper")
    faq_set, matcher = wiring.faq_set, wiring.matcher
    recognizer = wiring.recognizer()
    synthesizer = wiring.synthesizer()
    config = ListenConfig(endpoint=EndpointConfig(end_silence_s=end_silence_s))
    latencies: list[float] = []
    speculative = 0
    with tempfile.TemporaryDirectory() as tmp, virtual_audio(Path(tmp)) as mic:
        with Speaker("pulse") as speaker, Microphone("pulse") as microphone:
            captions = Captions(sys.stderr if verbose else io.StringIO(), CaptionStyle.PLAIN)
            listener = Listener(faq_set, matcher, recognizer, synthesizer, speaker, captions, config)
            run_microphone(listener, microphone.blocks())
            loop = threading.Thread(target=listener.run, daemon=True)
            loop.start()
            if not _wait(lambda: listener.replies, 30):
                raise SystemExit("the greeting was never played; is PulseAudio working?")
            listener.send(Pressed(CommandName.STOP, time.monotonic()))
            for index in range(questions):
                audio = spoken(QUESTIONS[index % len(QUESTIONS)], VOICES[index % len(VOICES)])
                replies_before = len(listener.replies)
                turns_before = len(listener.turns)
                trailing = np.zeros(int((end_silence_s + 1.5) * SAMPLE_RATE), dtype=np.float32)
                mic.spoken.wait(5)
                said_at = time.monotonic() + 0.05  # the feeder writes the next 50 ms block
                mic.say(Audio(np.concatenate([audio.samples, trailing]), SAMPLE_RATE, 1).pcm16())
                speech_end = said_at + _last_voiced_s(audio)
                if not _wait(lambda n=replies_before: len(listener.replies) > n, end_silence_s + 15):  # type: ignore[misc]
                    print(f"question {index}: no reply", file=sys.stderr)
                    continue
                replied = listener.replies[replies_before][1]
                latencies.append(replied - speech_end)
                if verbose and listener.turns[turns_before:]:
                    ended = listener.turns[-1].speech_ended_at
                    print(f"end silence over +{ended - speech_end:.3f} s, reply +{replied - ended:.3f} s")
                speculative += any(turn.speculative for turn in listener.turns[turns_before:])
                listener.send(Pressed(CommandName.STOP, time.monotonic()))
                mic.spoken.wait(end_silence_s + 5)
            listener.close()
            loop.join(timeout=10)
    latencies.sort()
    return {
        "questions": questions,
        "replies": len(latencies),
        "end_silence_s": end_silence_s,
        "reply_ms_median": round(statistics.median(latencies) * 1000),
        "reply_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000),
        "target_ms": round((end_silence_s + TARGET_EXTRA_S) * 1000),
        "speculative_share": round(speculative / max(1, len(latencies)), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--verbose", action="store_true", help="print the captions")
    parser.add_argument("--end-silence", type=float, default=EndpointConfig().end_silence_s)
    args = parser.parse_args()
    result = run(args.questions, args.end_silence, args.verbose)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
