"""The spoken set's plan: who says which question, how fast, over what noise, in what format.

Pure: no audio is made here. Every random choice comes from numpy.random.default_rng(seed),
drawn in a fixed order, so a plan depends only on the question set, the limit, the seed and
the cast (tools.spoken_set builds the audio from it; tools.spoken_audio renders one clip).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from tools.quality import Labelled

T = TypeVar("T")

VOICES = ("en-us", "en-us+f3", "en-us+m3", "en-gb-x-rp", "en-us+f4", "en-gb-scotland+f2", "en-us+grandpa")
"""Question voices: US and British (RP, Scottish) accents, male and female variants, and an older
voice with a pitch tremor ("flutter"), as some of our users have."""
SPEEDS = (110, 130, 150, 170)
"""Words a minute, slow to normal: many of our users speak slowly."""
BABBLE_TALKERS = (
    ("en-gb+m1", 175),
    ("en-us-nyc+f5", 160),
    ("en-gb-x-gbclan+m4", 145),
    ("en-029+f1", 185),
    ("en-gb-x-gbcwmd+m2", 155),
    ("en-us+m6", 170),
)
"""(voice, words a minute) of the waiting room's other talkers: none is a question voice."""
FRESH_VOICES = (
    "en-us+m2",
    "en-gb+f1",
    "en-us+klatt2",
    "en-gb-x-rp+m7",
    "en-us+grandma",
    "en-gb-x-gbcwmd+f5",
    "en-us-nyc+m4",
)
FRESH_BABBLE_TALKERS = (
    ("en-us+m8", 165),
    ("en-gb+f4", 150),
    ("en-us+klatt", 175),
    ("en-gb-scotland+m2", 160),
    ("en-029+m5", 170),
    ("en-us+f2", 155),
)
"""A second cast, for a held-out check (`--cast fresh`): no voice here speaks in the dev cast,
as question or babble, so a figure measured with it says how the recogniser copes with voices
it was not tuned on. Never tune on it."""
CASTS = {"dev": (VOICES, BABBLE_TALKERS), "fresh": (FRESH_VOICES, FRESH_BABBLE_TALKERS)}
"""Cast name: (question voices, babble talkers)."""
BABBLE_SENTENCES = (
    "The forecast promises sunshine on Tuesday, then thunder and hail by Sunday evening.",
    "My nephew baked a lemon cake with blueberries for the village fete.",
    "The eleven fifteen train to Brighton was cancelled.",
    "Did you watch the football yesterday? Two penalties in the final minute.",
    "Grandmother planted tulips and daffodils beside the garden fence.",
    "They painted the pantry yellow and bought a shiny kettle.",
    "The library is closed on Mondays, but the bakery opens at seven.",
    "Our neighbour's parrot whistles the national anthem each afternoon.",
    "I reckon the quiz host wore a purple jacket yesterday.",
    "Tomatoes are cheaper at the market than at the supermarket.",
    "We drove to the coast and watched the fishing boats sail in.",
    "The postman delivered a parcel of knitting wool.",
)
"""Babble text with no FAQ words in it (checked by the tests), so it cannot steer the matcher."""

NOISES = ("clean", "babble", "pink")
NOISE_WEIGHTS = (2, 3, 3)
"""1/4 clean, 3/8 babble, 3/8 pink."""
SNRS_DB = (20.0, 10.0, 5.0)
CONDITIONS = ("clean", *(f"{noise} {snr:g} dB" for noise in NOISES[1:] for snr in SNRS_DB))
"""Every noise and SNR a clip can have, named as `condition` names them."""
KINDS = ("in_scope", "fallback", "emergency")
DEFAULT_QUOTA = (100, 30, 20)
"""Clips per kind in the default set; --limit scales these proportionally."""
PAUSE_SHARE = 1 / 3
"""Share of clips, within each noise kind, with a pause mid-sentence."""


@dataclass(frozen=True, slots=True)
class Format:
    sample_rate: int
    """Hertz."""
    channels: int
    subtype: str
    """soundfile subtype: PCM_16, PCM_24, PCM_32, FLOAT or PCM_U8."""


FORMATS = (
    Format(16_000, 1, "PCM_16"),
    Format(16_000, 1, "PCM_16"),
    Format(16_000, 1, "PCM_16"),
    Format(8_000, 1, "PCM_16"),
    Format(22_050, 1, "PCM_16"),
    Format(44_100, 1, "PCM_16"),
    Format(44_100, 1, "PCM_16"),
    Format(48_000, 1, "PCM_16"),
    Format(48_000, 2, "PCM_16"),
    Format(44_100, 2, "PCM_24"),
    Format(16_000, 1, "PCM_24"),
    Format(48_000, 1, "PCM_32"),
    Format(22_050, 1, "FLOAT"),
    Format(16_000, 2, "FLOAT"),
    Format(8_000, 1, "PCM_U8"),
    Format(22_050, 1, "PCM_U8"),
)
"""Drawn evenly: mostly 16-bit mono, some stereo and some 8, 24, 32-bit and float files."""


@dataclass(frozen=True, slots=True)
class Spec:
    """How to render one clip; every random choice is made here, before any audio exists."""

    name: str
    question: Labelled
    voice: str
    speed: int
    noise: str
    snr_db: float | None
    format: Format
    lead_s: float
    trail_s: float
    pause_s: float
    babble: tuple[tuple[int, float, float], ...]
    """(talker index, start as a fraction of its track, gain) per babble talker."""
    noise_seed: int


def condition(noise: str, snr_db: float | None) -> str:
    """A clip's condition: clean, or the noise and its SNR ("babble 10 dB")."""
    return "clean" if snr_db is None else f"{noise} {snr_db:g} dB"


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Split total in proportion to weights (largest remainder; ties go to the earlier weight)."""
    exact = [total * w / sum(weights) for w in weights]
    counts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def quotas(limit: int | None, available: Sequence[int]) -> list[int]:
    """Clips per kind (KINDS order): the default quota scaled to limit, capped by what exists.

    Kinds with too few questions hand their share on, in-scope first, so the total holds.
    """
    total = min(sum(DEFAULT_QUOTA) if limit is None else limit, sum(available))
    counts = [min(want, have) for want, have in zip(apportion(total, DEFAULT_QUOTA), available, strict=True)]
    for i, have in enumerate(available):
        extra = min(total - sum(counts), have - counts[i])
        counts[i] += extra
    return counts


def spread(values: Sequence[T], n: int, rng: np.random.Generator) -> list[T]:
    """n values used as evenly as possible (whole cycles, then a random subset), in random order."""
    cycles, rest = divmod(n, len(values))
    picked = list(values) * cycles + [values[i] for i in sorted(rng.choice(len(values), rest, replace=False))]
    return [picked[i] for i in rng.permutation(n)]


def select(questions: Sequence[Labelled], limit: int | None, rng: np.random.Generator) -> list[Labelled]:
    """A stratified sample: in-scope questions round-robin over entry ids, then fallbacks, emergencies."""
    by_kind: dict[str, list[Labelled]] = {kind: [] for kind in KINDS}
    for question in questions:
        by_kind[question.kind].append(question)
    counts = quotas(limit, [len(by_kind[kind]) for kind in KINDS])

    # One question from every entry id before a second from any, so a small set still
    # covers as many entries as it can.
    by_entry: dict[str, list[Labelled]] = {}
    for question in by_kind["in_scope"]:
        by_entry.setdefault(question.expect, []).append(question)
    queues = [[rows[i] for i in rng.permutation(len(rows))] for _, rows in sorted(by_entry.items())]
    in_scope: list[Labelled] = []
    for depth in range(max((len(q) for q in queues), default=0)):
        for i in rng.permutation(len(queues)):
            if depth < len(queues[i]):
                in_scope.append(queues[i][depth])
    chosen = in_scope[: counts[0]]
    for kind, count in zip(KINDS[1:], counts[1:], strict=True):
        rows = by_kind[kind]
        chosen += [rows[i] for i in sorted(rng.choice(len(rows), count, replace=False))]
    return [chosen[i] for i in rng.permutation(len(chosen))]


def split_for_pause(text: str) -> tuple[str, str] | None:
    """The question cut where a slow speaker might pause: at the comma nearest the middle, else
    between the middle words. None for questions under three words."""
    middle = len(text) / 2
    commas = [i for i, c in enumerate(text) if c == "," and text[:i].strip() and text[i + 1 :].strip()]
    if commas:
        cut = min(commas, key=lambda i: abs(i - middle))
        return text[: cut + 1].strip(), text[cut + 1 :].strip()
    words = text.split()
    if len(words) < 3:
        return None
    half = len(words) // 2
    return " ".join(words[:half]), " ".join(words[half:])


def plan(
    questions: Sequence[Labelled], limit: int | None = None, seed: int = 0, cast: str = "dev"
) -> list[Spec]:
    """Every clip's recipe. Draws happen in a fixed order so the plan depends only on the inputs."""
    question_voices, talkers_cast = CASTS[cast]
    rng = np.random.default_rng(seed)
    chosen = select(questions, limit, rng)
    n = len(chosen)
    counts = apportion(n, NOISE_WEIGHTS)
    noises = spread([kind for kind, count in zip(NOISES, counts, strict=True) for _ in range(count)], n, rng)
    snrs: list[float | None] = [None] * n
    paused = [False] * n
    for kind in NOISES:
        group = [i for i in range(n) if noises[i] == kind]
        if kind != "clean":
            for i, snr in zip(group, spread(SNRS_DB, len(group), rng), strict=True):
                snrs[i] = snr
        # Pauses are shared out within each noise kind so every kind, clean included, has some.
        eligible = [i for i in group if split_for_pause(chosen[i].text) is not None]
        count = min(len(eligible), max(1, round(len(group) * PAUSE_SHARE)) if group else 0)
        for i in rng.choice(eligible, count, replace=False) if count else ():
            paused[int(i)] = True
    voices = spread(question_voices, n, rng)
    speeds = spread(SPEEDS, n, rng)
    formats = spread(FORMATS, n, rng)

    specs = []
    for i, question in enumerate(chosen):
        lead_s, trail_s = (round(float(x), 3) for x in rng.uniform(0.3, 0.8, 2))
        pause_s = round(float(rng.uniform(0.6, 1.0)), 3) if paused[i] else 0.0
        talkers = rng.choice(len(talkers_cast), int(rng.integers(4, len(talkers_cast) + 1)), replace=False)
        babble = tuple(
            (int(t), round(float(rng.uniform()), 6), round(float(rng.uniform(0.5, 1.0)), 3)) for t in talkers
        )
        specs.append(
            Spec(
                name=f"{i:03d}-{question.expect}.wav",
                question=question,
                voice=voices[i],
                speed=speeds[i],
                noise=noises[i],
                snr_db=snrs[i],
                format=formats[i],
                lead_s=lead_s,
                trail_s=trail_s,
                pause_s=pause_s,
                babble=babble if noises[i] == "babble" else (),
                noise_seed=int(rng.integers(2**63)),
            )
        )
    return specs
