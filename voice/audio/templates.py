"""Acoustic templates of one person's spoken commands: for the words speech recognition
cannot read in their voice at all (a slurred "stop" heard as nothing, or as "top").

Each command the person recorded when enrolling is kept as the recogniser's own features
(whisper's 80-band log-mel spectrum, voiced frames only, each band's mean removed so the
microphone and the room matter less), never as audio. A later short utterance is compared
with every template by dynamic time warping (dtw-python), which lets a slow or uneven
"st-op" line up with a quicker one; it is taken for the nearest command only when that
is near enough and clearly nearer than any other command.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voice.audio.decode import Audio
from voice.audio.vad import EndpointConfig, voiced_frames

Features = npt.NDArray[np.float32]

FRAME_S = 0.02
"""Feature frames are whisper's 10 ms frames taken in pairs: plenty for a word's shape."""
MAX_COMMAND_S = 4.0
"""Voiced audio longer than this is a question, not a command: no template is tried."""
MIN_FRAMES = 8
MAX_DISTANCE = 0.20
"""Normalised DTW distance (cosine per frame) under which an utterance can be a command."""
MIN_MARGIN = 0.03
"""How much nearer the best command must be than any other."""
MAX_TEMPLATES_BYTES = 4_000_000


def features(audio: Audio) -> Features | None:
    """The voiced part of `audio` as normalised log-mel frames; None when it is too short or
    too long to be a command."""
    from faster_whisper.feature_extractor import FeatureExtractor

    voiced = _voiced(audio)
    if voiced is None:
        return None
    mel = FeatureExtractor(feature_size=80)(voiced, padding=0)  # (80, frames) at 10 ms
    frames = mel[:, : mel.shape[1] // 2 * 2].reshape(80, -1, 2).mean(axis=2).T
    if len(frames) < MIN_FRAMES:
        return None
    return np.asarray(frames - frames.mean(axis=0), dtype=np.float32)


def _voiced(audio: Audio) -> npt.NDArray[np.float32] | None:
    """Samples from the first voiced frame to the last (webrtcvad), if a command's length."""
    config = EndpointConfig()
    flags = voiced_frames(audio, config)
    if not any(flags):
        return None
    first = flags.index(True)
    last = len(flags) - 1 - flags[::-1].index(True)
    frame = config.frame_bytes // 2  # samples per VAD frame
    if (last - first + 1) * config.frame_ms / 1000 > MAX_COMMAND_S:
        return None
    return np.asarray(audio.samples[first * frame : (last + 1) * frame], dtype=np.float32)


def distance(a: Features, b: Features) -> float:
    """DTW distance between two utterances, per step of the warping path (0 = alike)."""
    import dtw

    return float(
        dtw.dtw(a, b, dist_method="cosine", step_pattern="symmetric2", distance_only=True).normalizedDistance
    )


@dataclass(frozen=True, slots=True)
class CommandTemplates:
    """One person's recorded commands, by command name."""

    templates: Mapping[str, Features]

    def nearest(self, heard: Features) -> tuple[str, float, float] | None:
        """(command, distance, margin over the next command); None without templates."""
        ranked = sorted((distance(heard, template), name) for name, template in self.templates.items())
        if not ranked:
            return None
        best, name = ranked[0]
        runner_up = next((d for d, other in ranked[1:] if other != name), float("inf"))
        return name, best, runner_up - best

    def command(self, audio: Audio) -> str | None:
        """The command `audio` says in this person's voice, if it is clearly one."""
        heard = features(audio)
        found = None if heard is None else self.nearest(heard)
        if found is None:
            return None
        name, best, margin = found
        return name if best <= MAX_DISTANCE and margin >= MIN_MARGIN else None

    def save(self, path: Path) -> None:
        buffer = io.BytesIO()
        arrays: dict[str, Any] = {name: values.astype(np.float16) for name, values in self.templates.items()}
        np.savez_compressed(buffer, **arrays)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(buffer.getvalue())
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> CommandTemplates:
        """ValueError or OSError when the file is not templates."""
        if path.stat().st_size > MAX_TEMPLATES_BYTES:
            raise ValueError(f"{path.stat().st_size} bytes, too big for command templates")
        try:
            with np.load(io.BytesIO(path.read_bytes()), allow_pickle=False) as data:
                templates = {name: np.asarray(data[name], dtype=np.float32) for name in data.files}
        except (zipfile.BadZipFile, EOFError, KeyError) as exc:
            raise ValueError(f"not command templates: {exc}") from None
        if any(values.ndim != 2 or values.shape[1] != 80 for values in templates.values()):
            raise ValueError("not command templates")
        return cls(templates)
