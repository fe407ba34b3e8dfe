"""The microphone: list input devices, open one, and deliver 16 kHz mono PCM.

I/O edge: everything device-specific stays here. sounddevice (PortAudio) records at
the device's own rate; soxr resamples the stream to 16 kHz.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from voice.audio.decode import SAMPLE_RATE, float_to_pcm16
from voice.errors import AudioDeviceError

BLOCK_SECONDS = 0.02
"""Audio handed over per read: short, so that the end of a question (and "stop") is heard
without waiting for a block to fill; 20 ms took 70 ms off the reply latency against 100 ms."""


@dataclass(frozen=True, slots=True)
class Device:
    index: int
    name: str
    input_channels: int
    output_channels: int
    default_rate: int
    """Hertz."""
    is_default_input: bool
    is_default_output: bool


def _sounddevice() -> Any:
    try:
        import sounddevice
    except OSError as exc:  # PortAudio itself is missing
        raise AudioDeviceError(
            f"cannot use audio devices: {exc}. Install PortAudio with `sudo apt-get install libportaudio2`, "
            "or answer typed questions with `voicefaq ask` and recorded ones with `voicefaq ask --audio FILE`"
        ) from None
    return sounddevice


def devices() -> list[Device]:
    """Every audio device PortAudio sees."""
    sd = _sounddevice()
    try:
        found = sd.query_devices()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as exc:
        raise AudioDeviceError(f"cannot list audio devices: {exc}") from None
    return [
        Device(
            index,
            str(info["name"]),
            int(info["max_input_channels"]),
            int(info["max_output_channels"]),
            int(info["default_samplerate"]),
            index == default_in,
            index == default_out,
        )
        for index, info in enumerate(found)
    ]


def _no_input_message(wanted: str | int | None, inputs: list[Device]) -> str:
    what = "no microphone was found" if wanted is None else f"no input device matches {wanted!r}"
    if inputs:
        names = ", ".join(f"{d.index}: {d.name}" for d in inputs)
        return f"{what}; input devices: {names}. Choose one with --device NAME or --device INDEX"
    return (
        f'{what}, and this machine has no input devices. Use `voicefaq ask "question"` for typed '
        "questions or `voicefaq ask --audio FILE.wav` for recorded ones"
    )


def choose_device(
    candidates: list[Device], wanted: str | int | None, default: Device | None
) -> Device | None:
    """`wanted` among `candidates`: by index (also given as digits), by name (exact, else the
    first that contains it, ignoring case), or `default` (else the first) when None."""
    if isinstance(wanted, str) and wanted.isdigit():
        wanted = int(wanted)
    if wanted is None:
        return default or (candidates[0] if candidates else None)
    if isinstance(wanted, int):
        return next((d for d in candidates if d.index == wanted), None)
    matches = [d for d in candidates if wanted.lower() in d.name.lower()]
    return next((d for d in matches if d.name.lower() == wanted.lower()), matches[0] if matches else None)


def find_input(wanted: str | int | None = None) -> Device:
    """The input device by index, by (part of its) name, or the default one."""
    inputs = [device for device in devices() if device.input_channels > 0]
    chosen = choose_device(inputs, wanted, next((d for d in inputs if d.is_default_input), None))
    if chosen is None:
        raise AudioDeviceError(_no_input_message(wanted, inputs))
    return chosen


class Microphone:
    """An open input stream; iterate it for 16 kHz mono 16-bit PCM blocks.

    Use as a context manager so the device is always released.
    """

    def __init__(self, device: str | int | None = None) -> None:
        self.device = find_input(device)
        self._blocks: queue.Queue[bytes] = queue.Queue()
        self._stream: Any = None
        self.overflows = 0

    def __enter__(self) -> Microphone:
        import soxr

        sd = _sounddevice()
        rate = self.device.default_rate
        resampler = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")

        def on_audio(data: np.ndarray, frames: int, time: Any, status: Any) -> None:
            if status.input_overflow:
                self.overflows += 1
            mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
            self._blocks.put(float_to_pcm16(resampler.resample_chunk(np.ascontiguousarray(mono))))

        try:
            self._stream = sd.InputStream(
                device=self.device.index,
                channels=1,
                samplerate=rate,
                dtype="float32",
                blocksize=int(rate * BLOCK_SECONDS),
                latency="low",  # the reply waits on the last block of a question
                callback=on_audio,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(f"cannot open microphone {self.device.name!r}: {exc}") from None
        return self

    def __exit__(self, *_: object) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None

    def drain(self) -> None:
        """Forget the audio waiting to be read (what was heard while the speaker talked)."""
        while True:
            try:
                self._blocks.get_nowait()
            except queue.Empty:
                return

    def blocks(self, timeout: float = 5.0) -> Iterator[bytes]:
        """PCM blocks as they arrive; AudioDeviceError if the device goes quiet for `timeout` s."""
        while True:
            try:
                yield self._blocks.get(timeout=timeout)
            except queue.Empty:
                raise AudioDeviceError(
                    f"microphone {self.device.name!r} stopped delivering audio; check that it is "
                    "connected and not used by another program"
                ) from None
