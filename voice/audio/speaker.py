"""The speaker: choose an output device, open it once, and play Speech that "stop" can cut short.

I/O edge, the mirror of voice/mic.py. The stream stays open between sentences and
plays silence when idle, so the first sample of the next sentence leaves at once.
sounddevice (PortAudio) plays at the device's own rate; soxr resamples to it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from voice.audio.decode import Samples
from voice.audio.mic import Device, _sounddevice, choose_device, devices
from voice.errors import AudioDeviceError
from voice.speech.tts import Speech

BLOCK_SECONDS = 0.02
"""Audio handed to the device per callback."""
LATENCY_SECONDS = 0.1
"""Audio queued in the device. Lower settings (PortAudio's "low", 20 ms) underran again
and again through PulseAudio on a busy 2-core machine; "stop" does not wait for this
queue, it is dropped (see `play`)."""
POLL_SECONDS = 0.005
"""How often `play` looks at its stop event."""
STALL_SECONDS = 5.0
"""A device that asks for no audio for this long has stopped working (a PulseAudio
sink waking up can take 2 s)."""


def _no_output_message(wanted: str | int | None, outputs: list[Device]) -> str:
    what = "no speaker was found" if wanted is None else f"no output device matches {wanted!r}"
    if outputs:
        names = ", ".join(f"{d.index}: {d.name}" for d in outputs)
        return (
            f"{what}; output devices: {names}. Choose one with --device NAME or --device INDEX, "
            "or write the speech to a file with --out FILE.wav"
        )
    return (
        f"{what}, and this machine has no output devices. Write the speech to a file instead: "
        '`voicefaq say --out reply.wav "text"` or `voicefaq ask --audio question.wav --out reply.wav`'
    )


def find_output(wanted: str | int | None = None) -> Device:
    """The output device by index, by (part of its) name, or the default one."""
    outputs = [device for device in devices() if device.output_channels > 0]
    chosen = choose_device(outputs, wanted, next((d for d in outputs if d.is_default_output), None))
    if chosen is None:
        raise AudioDeviceError(_no_output_message(wanted, outputs))
    return chosen


class _Playing:
    """One Speech being handed to the device, block by block (shared with the audio thread)."""

    __slots__ = ("samples", "position", "on_first_sample", "handed_over", "ends_at", "error")

    def __init__(self, samples: Samples, on_first_sample: Callable[[], None] | None) -> None:
        self.samples = samples
        self.position = 0
        self.on_first_sample = on_first_sample
        self.handed_over = threading.Event()
        self.ends_at = 0.0
        """time.monotonic() when the last sample leaves the device."""
        self.error: BaseException | None = None


class Speaker:
    """An open output stream. Use as a context manager so the device is always released;
    `play` one Speech at a time (calls from several threads take turns)."""

    def __init__(self, device: str | int | None = None) -> None:
        self.device = find_output(device)
        self.sample_rate = self.device.default_rate
        """Hertz the device plays at."""
        self.underflows = 0
        self._stream: Any = None
        self._lock = threading.Lock()
        self._turn = threading.Lock()
        self._playing: _Playing | None = None
        self._last_callback = 0.0

    def __enter__(self) -> Speaker:
        sd = _sounddevice()
        channels = min(2, self.device.output_channels)  # some hardware refuses mono

        def on_audio(outdata: np.ndarray, frames: int, times: Any, status: Any) -> None:
            self._last_callback = time.monotonic()
            if status.output_underflow:
                self.underflows += 1
            with self._lock:
                playing = self._playing
                if playing is None:
                    outdata.fill(0)
                    return
                start = playing.position
                block = playing.samples[start : start + frames]
                playing.position = start + len(block)
                if playing.position >= len(playing.samples):
                    self._playing = None
            outdata[: len(block)] = block[:, None]
            outdata[len(block) :] = 0
            if start == 0 and playing.on_first_sample is not None:
                try:
                    playing.on_first_sample()
                except Exception as exc:  # raised again by play(), not lost in the audio thread
                    playing.error = exc
            if playing.position >= len(playing.samples):
                # What is still queued in the device plays out after this block.
                ahead = times.outputBufferDacTime - times.currentTime
                if not 0 < ahead < 1:  # host APIs without timing report 0
                    ahead = float(self._stream.latency) if self._stream is not None else 0.0
                playing.ends_at = self._last_callback + ahead + len(block) / self.sample_rate
                playing.handed_over.set()

        try:
            self._stream = sd.OutputStream(
                device=self.device.index,
                channels=channels,
                samplerate=self.sample_rate,
                dtype="float32",
                blocksize=int(self.sample_rate * BLOCK_SECONDS),
                latency=LATENCY_SECONDS,
                callback=on_audio,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self._stream = None
            raise AudioDeviceError(
                f"cannot open speaker {self.device.name!r}: {exc}; choose another with --device "
                "(`voicefaq devices` lists them) or write a file with --out FILE.wav"
            ) from None
        self._last_callback = time.monotonic()
        return self

    def __exit__(self, *_: object) -> None:
        if self._stream is not None:
            self._stream.abort()  # do not wait for queued audio: the caller is done
            self._stream.close()
            self._stream = None

    @property
    def latency(self) -> float:
        """Seconds between handing a sample to the device and hearing it."""
        return float(self._stream.latency) if self._stream is not None else 0.0

    def play(
        self,
        speech: Speech,
        stop: threading.Event | None = None,
        on_first_sample: Callable[[], None] | None = None,
    ) -> bool:
        """Play `speech`; block until it has been heard (True) or `stop` is set (False).

        `on_first_sample` is called on the audio thread when the first block is handed to
        the device: keep it quick.
        """
        if self._stream is None:
            raise RuntimeError("open the Speaker with `with Speaker(...) as speaker:` before playing")
        samples = self._prepare(speech)
        with self._turn:
            if stop is not None and stop.is_set():
                return False
            if not len(samples):
                return True
            playing = _Playing(samples, on_first_sample)
            with self._lock:
                self._playing = playing
            try:
                finished = self._wait(playing, stop)
            finally:
                with self._lock:
                    if self._playing is playing:
                        self._playing = None  # stopped: the next block is silence
            if not finished:
                self._flush()
            if playing.error is not None:
                raise playing.error
            return finished

    def _wait(self, playing: _Playing, stop: threading.Event | None) -> bool:
        while not playing.handed_over.wait(POLL_SECONDS):
            if stop is not None and stop.is_set():
                return False
            if time.monotonic() - self._last_callback > STALL_SECONDS:
                raise AudioDeviceError(
                    f"speaker {self.device.name!r} stopped taking audio; check that it is "
                    "connected and not used by another program"
                )
        while (left := playing.ends_at - time.monotonic()) > 0:
            if stop is not None and stop.wait(min(POLL_SECONDS, left)):
                return False
            if stop is None:
                time.sleep(min(POLL_SECONDS, left))
        return True

    def _flush(self) -> None:
        """Drop what the device still has queued (up to LATENCY_SECONDS), so that speech
        stops within a few milliseconds; abort and start take about 2 ms."""
        try:
            self._stream.abort()
            self._stream.start()
        except Exception as exc:  # sounddevice.PortAudioError, without importing it here
            raise AudioDeviceError(f"speaker {self.device.name!r} failed to restart: {exc}") from None

    def _prepare(self, speech: Speech) -> Samples:
        """Mono float32 at the device's rate, clipped to -1..1."""
        samples = np.asarray(speech.samples, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"Speech must be mono (1-D samples), not shape {samples.shape}")
        if speech.sample_rate != self.sample_rate and len(samples):
            import soxr

            samples = soxr.resample(samples, speech.sample_rate, self.sample_rate, quality="HQ")
        prepared: Samples = np.clip(samples, -1.0, 1.0).astype(np.float32)
        return prepared
