"""The sealed held-out set's tools: its questions are valid and new, its spoken plan uses voices,
noises and a seed of its own, and its scoring counts as documented. No recogniser runs here,
and no figure on the set is checked: it is held out, not a floor to tune towards."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from rapidfuzz import fuzz, process, utils

from tools import sealed, sealed_set, spoken_plan
from tools.quality import DATA, Labelled, load
from tools.transcripts import Heard, replay
from voice.asr import Transcript
from voice.core.config import default_answers_dir
from voice.core.faq import FaqSet, load_set
from voice.core.matcher import Matcher

RATE = 22_050


@pytest.fixture(scope="module")
def faq_set() -> FaqSet:
    return load_set(default_answers_dir())


@pytest.fixture(scope="module")
def questions() -> list[Labelled]:
    return load(sealed_set.SOURCE)


def test_every_label_names_an_entry_of_the_set(questions: list[Labelled], faq_set: FaqSet) -> None:
    ids = {entry.id for entry in faq_set.entries}
    assert [q.expect for q in questions if q.kind == "in_scope" and not q.acceptable <= ids] == []
    kinds = Counter(q.kind for q in questions)
    assert kinds["in_scope"] >= 160 and kinds["fallback"] >= 40 and kinds["emergency"] >= 20
    assert {q.expect for q in questions if q.kind == "in_scope"} == ids
    assert len({q.text for q in questions}) == len(questions)


def test_no_phrasing_or_labelled_question_copies_a_sealed_one(
    questions: list[Labelled], faq_set: FaqSet
) -> None:
    """A phrasing in answers/ (or a dev or holdout question) within rapidfuzz ratio 85 of a
    sealed question would let tuning reach the held-out set. The message names only the
    phrasing: rephrase it, without reading the sealed set."""
    sealed_texts = [q.text for q in questions]
    others = [p for entry in faq_set.entries for p in (entry.question, *entry.phrasings)]
    others += [q.text for name in ("dev.jsonl", "holdout.jsonl") for q in load(DATA / name)]
    close = [
        text
        for text in others
        if process.extractOne(
            text, sealed_texts, scorer=fuzz.ratio, processor=utils.default_process, score_cutoff=85
        )
    ]
    assert close == []


def test_the_cast_is_new() -> None:
    used = set(spoken_plan.VOICES) | set(spoken_plan.FRESH_VOICES)
    used |= {voice for voice, _ in (*spoken_plan.BABBLE_TALKERS, *spoken_plan.FRESH_BABBLE_TALKERS)}
    talkers = {voice for voice, _ in sealed_set.BABBLE_TALKERS}
    assert not (set(sealed_set.VOICES) | talkers) & used
    assert not set(sealed_set.VOICES) & talkers


def test_the_plan_speaks_every_question_once_in_every_condition(questions: list[Labelled]) -> None:
    specs = sealed_set.plan(questions)
    assert specs == sealed_set.plan(questions)
    assert specs != sealed_set.plan(questions, seed=sealed_set.SEED + 1)
    assert sorted(s.spec.question.text for s in specs) == sorted(q.text for q in questions)
    by_condition = Counter(s.condition for s in specs)
    assert set(by_condition) == {c.name for c in sealed_set.CONDITIONS}
    for kind in ("in_scope", "fallback"):
        assert {s.condition for s in specs if s.spec.question.kind == kind} == set(by_condition)
    assert {s.spec.voice for s in specs} == set(sealed_set.VOICES)
    assert sum(s.spec.speed <= 120 for s in specs) > len(specs) / 2
    pauses = [s.spec.pause_s for s in specs if s.spec.pause_s]
    assert len(pauses) > len(specs) / 4 and all(1.0 <= p <= 2.0 for p in pauses)
    for s in specs:
        assert (s.room_rt60_s > 0) == ("reverb" in s.condition)
        assert s.spec.snr_db is None or f"{s.spec.snr_db:g} dB" in s.condition


def _band_share(signal: np.ndarray, low: float, high: float) -> float:
    power = np.abs(np.fft.rfft(signal)) ** 2
    freqs = np.fft.rfftfreq(len(signal), 1 / RATE)
    return float(power[(freqs >= low) & (freqs < high)].sum() / power.sum())


def test_brown_noise_rumbles_and_hum_sits_on_mains_harmonics() -> None:
    brown = sealed_set.brown_noise(RATE, RATE, np.random.default_rng(1))
    assert np.sqrt(np.mean(brown**2)) == pytest.approx(1.0)
    assert np.array_equal(brown, sealed_set.brown_noise(RATE, RATE, np.random.default_rng(1)))
    assert _band_share(brown, 20, 200) > 0.8
    hum = sealed_set.hum_noise(RATE, RATE, np.random.default_rng(2))
    assert np.sqrt(np.mean(hum**2)) == pytest.approx(1.0)
    assert _band_share(hum, 45, 65) > 0.2 and _band_share(hum, 1000, RATE / 2) < 0.05


def test_the_room_keeps_the_direct_sound_and_decays() -> None:
    response = sealed_set.room_response(0.6, 0.0, RATE, np.random.default_rng(3))
    assert len(response) == round(0.6 * RATE) and response[0] == pytest.approx(1.0, abs=1e-3)
    tail = response[1:]
    assert np.sum(tail**2) == pytest.approx(1.0, abs=1e-3)  # 0 dB direct-to-reverberant
    assert np.sum(tail[: len(tail) // 4] ** 2) > 20 * np.sum(tail[-len(tail) // 4 :] ** 2)
    click = np.zeros(100)
    click[0] = 1.0
    assert np.allclose(sealed_set.reverberate(click, response)[: len(response)], response)


def test_spelled_acronyms_join() -> None:
    assert sealed.plain("What is an A.F.O.?").split() == ["what", "is", "an", "afo"]
    assert sealed.plain("can a p t help with d v t") == "can a pt help with dvt"


@pytest.mark.parametrize(
    ("said", "heard", "counted"),
    [
        ("is a rollator any good", "Is a row later any good?", (1, 0)),
        ("physical therapy for m s", "Physiotherapy for MS.", (2, 2)),
        ("an a f o or f e s", "An AFO or best.", (2, 1)),
        ("tell me a joke", "Tell me a joke.", (0, 0)),
        ("spasticity spasticity", "spasticity", (2, 1)),
    ],
)
def test_keyword_recall_counts_set_words_said_and_heard(
    faq_set: FaqSet, said: str, heard: str, counted: tuple[int, int]
) -> None:
    normalizer = faq_set.normalizer()
    tokens = sealed.keyword_tokens(normalizer, sealed.KEYWORDS)
    found = sealed.recall(said, heard, normalizer, tokens)
    assert (found.said, found.heard) == counted


def _heard(file: str, said: Labelled, text: str | None, condition: str, speed: int = 100) -> Heard:
    clip = {"voice": "v", "speed": speed, "noise": "clean", "snr_db": None, "pause_s": 0.0}
    clip |= {"sample_rate": 16_000, "channels": 1, "sample_format": "PCM_16"}
    transcript = None if text is None else Transcript(text, (), "whisper", 2.0, logprob=-0.2)
    return Heard(file, said, condition, clip, transcript)


def test_spoken_scores_pool_conditions_and_count_answers(faq_set: FaqSet) -> None:
    matcher = Matcher(faq_set)
    heard = [
        _heard("a.wav", Labelled("what is a rollator", "mobility-aids"), "What is a rollator?", "clean"),
        _heard("b.wav", Labelled("where do i park", "fallback"), None, "hum 5 dB", speed=140),
        _heard("c.wav", Labelled("i cant breathe", "emergency"), "I can't breathe.", "brown 2 dB"),
    ]
    scores = sealed.spoken_scores(heard, replay(heard, matcher), matcher)
    assert list(scores)[:3] == ["clean", "brown 2 dB", "hum 5 dB"]
    every = scores["all"].report
    assert (every.total, every.answered_right, every.emergencies_recognised) == (3, 1, 1)
    assert scores["5 dB and below"].report.total == 2 and scores["new noise kinds"].report.total == 2
    assert scores[f"slow, {sealed.SLOW_WPM} wpm or less"].report.total == 2
    assert scores["all"].rare is not None and (scores["all"].rare.said, scores["all"].rare.heard) == (1, 1)
    table = sealed.table(scores, "t")
    assert "1/1 100.0%" in table and "answered right" in table.splitlines()[0]
