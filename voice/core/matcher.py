"""Choosing the FAQ entry a question asks for, or admitting that none fits.

Pure: text in, Match out. Topic words are weighted by how rare they are in the set
(inverse document frequency, learned from the set itself, so "rollator" outweighs
"exercise"). An entry's score mixes the closest single phrasing (weighted F1 of
shared words), how much of the question the entry as a whole accounts for, and
whole-phrasing likeness. Words the set never uses count against confidence, so
"does insurance cover physio" is not answered as a physio question. Misheard words
are mapped to known ones with rapidfuzz and Metaphone; an answer that rests only on
such a mapping is asked about first.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import jellyfish
from rapidfuzz import fuzz, process

from voice.core.config import MatcherConfig
from voice.core.emergency import EmergencyDetector
from voice.core.faq import Emergency, Entry, FaqSet
from voice.core.normalize import Normalizer
from voice.lang import Language

_FUZZY_MIN_LENGTH = 4
_PHONETIC_SIMILARITY = 0.9
_PHONETIC_MIN_RATIO = 60.0  # spelling likeness a sound match also needs
_PHONETIC_CODE_RATIO = 80.0  # Metaphone codes this alike count as the same sound
_PHONETIC_MIN_LENGTH = 6  # shorter words have too many sound-alikes ("park", "pack")
_PHONETIC_MIN_CODE = 3
_PHONETIC_FUZZY_CODE = 4
_SWALLOW_MIN_SIMILARITY = 0.88
_NOISE_LENGTH = 2  # unknown words this short are recognition debris ("s", "uh"), not topics
_ANSWER_CREDIT = 0.5  # a word in the answer text says less about what people ask than a phrasing
_DETAILS_CREDIT = 0.25


class Decision(StrEnum):
    ANSWER = "answer"
    """Confident: speak the entry's answer."""
    CONFIRM = "confirm"
    """Unsure between candidates, or middling: ask "Did you mean ...?"."""
    FALLBACK = "fallback"
    """Does not know: say what it can answer."""
    EMERGENCY = "emergency"
    """A person signalling an emergency: speak the emergency text at once."""


@dataclass(frozen=True, slots=True)
class Candidate:
    entry_id: str
    question: str
    score: float
    """0..1; higher is a closer match."""


@dataclass(frozen=True, slots=True)
class Match:
    """The matcher's decision about one question."""

    input: str
    decision: Decision
    say: str
    """What the assistant speaks: the answer, the confirmation question, the fallback or
    the emergency text."""
    entry: Entry | None
    """The answered entry; None unless the decision is ANSWER."""
    score: float
    """Score of the best candidate, 0..1 (1.0 for an emergency)."""
    alternatives: tuple[Candidate, ...]
    """Best candidates first; for CONFIRM, the ones offered come first."""
    offered: tuple[Candidate, ...] = ()
    """The candidates named in a confirmation question."""
    emergency: Emergency | None = None
    match_ms: float = 0.0
    """Milliseconds spent deciding."""

    def to_dict(self, **timings_ms: float) -> dict[str, object]:
        """The JSON shape shared by `voicefaq ask --json` and the HTTP API; extra
        timings (load_ms, asr_ms, ...) join match_ms under "timings_ms"."""
        return {
            "input": self.input,
            "decision": self.decision.value,
            "entry_id": self.entry.id if self.entry else None,
            "question": self.entry.question if self.entry else None,
            "answer": self.say,
            "details": self.entry.details if self.entry else None,
            "score": round(self.score, 4),
            "alternatives": [
                {"entry_id": c.entry_id, "question": c.question, "score": c.score} for c in self.alternatives
            ],
            "offered": [c.entry_id for c in self.offered],
            "emergency": self.emergency.id if self.emergency else None,
            "timings_ms": {"match_ms": round(self.match_ms, 3)}
            | {name: round(value, 3) for name, value in timings_ms.items()},
        }

    def __post_init__(self) -> None:
        if (self.decision is Decision.ANSWER) != (self.entry is not None):
            raise ValueError("an entry is given exactly when the decision is ANSWER")
        if (self.decision is Decision.EMERGENCY) != (self.emergency is not None):
            raise ValueError("an emergency is given exactly when the decision is EMERGENCY")


@dataclass(frozen=True, slots=True)
class _Phrasing:
    entry_index: int
    tokens: frozenset[str]
    weight: float
    """Sum of the weights of its tokens."""


def confirmation_text(offered: Sequence[Candidate], language: Language) -> str:
    """The spoken "Did you mean: A? Or: B?", in `language`."""
    questions = [candidate.question.rstrip("?. ") for candidate in offered]
    texts = language.prompts
    return texts.did_you_mean.format(questions=f"? {texts.alternative} ".join(questions) + "?")


class Matcher:
    """Matches questions against one answers set. Build once; match many times."""

    def __init__(self, faq_set: FaqSet, config: MatcherConfig | None = None) -> None:
        self.faq_set = faq_set
        self.config = (config or MatcherConfig()).with_overrides(faq_set.matching)
        self.normalizer = faq_set.normalizer()
        self.language = self.normalizer.language
        """The set's language (voice.lang)."""
        self._emergencies = EmergencyDetector(faq_set.emergencies, self.normalizer, faq_set.entries)
        self._entries = faq_set.entries
        self._index = _Index(faq_set.entries, self.normalizer, self.config.credit_saturation)

    def _resolve(self, analysed: Sequence[tuple[str, str]]) -> _Resolved:
        """The question's topic words as known tokens with weights.

        A topic word the set does not know is tried, by spelling and by sound, joined
        with its neighbours ("row later" -> rollator, "osteo pro sis" -> osteoporosis)
        and alone; if nothing is close it keeps a high weight, which lowers confidence.
        """
        index = self._index
        function_words = self.normalizer.function_words
        surfaces = [surface for surface, _ in analysed]
        weights: dict[str, float] = {}
        approximate: set[str] = set()
        consumed: set[int] = set()
        for position, (_, token) in enumerate(analysed):
            if position in consumed or token in function_words or token in index.idf:
                continue
            best: tuple[str | None, float, range] = (None, 0.0, range(0))
            for span in _spans_around(position, len(analysed)):
                if consumed.intersection(span):
                    continue
                # Swallowing a word the set knows ("physio tryst") needs a close spelling.
                swallows_known = any(
                    analysed[i][1] in index.idf and analysed[i][1] not in function_words for i in span
                )
                known, similarity = index.nearest(
                    "".join(surfaces[i] for i in span), self.config, by_sound=not swallows_known
                )
                if swallows_known and similarity < _SWALLOW_MIN_SIMILARITY:
                    continue
                if known and similarity > best[1]:
                    best = (known, similarity, span)
            known, similarity, span = best
            if known is not None:
                consumed.update(span)
                weights[known] = max(weights.get(known, 0.0), index.idf[known] * similarity)
                if similarity < 1.0:
                    approximate.add(known)
            elif len(token) > _NOISE_LENGTH:
                consumed.add(position)
                weights[token] = max(weights.get(token, 0.0), self.config.unknown_weight * index.max_idf)
        for position, (_, token) in enumerate(analysed):
            if position not in consumed and token in index.idf and token not in function_words:
                weights[token] = max(weights.get(token, 0.0), index.idf[token])
                approximate.discard(token)
        return _Resolved(weights, frozenset(approximate))

    def rank(self, text: str) -> list[Scored]:
        """Every entry sharing a word with `text`, best first."""
        analysed = self.normalizer.analyse(text)
        return self._rank(analysed, self._resolve(analysed))

    def _rank(self, analysed: Sequence[tuple[str, str]], resolved: _Resolved) -> list[Scored]:
        index = self._index
        weights = resolved.weights
        total = sum(weights.values())
        if total <= 0:
            return []
        matched: dict[int, float] = defaultdict(float)
        matched_idf: dict[int, float] = defaultdict(float)
        for token, weight in weights.items():
            for number in index.phrasings_with.get(token, ()):
                matched[number] += weight
                matched_idf[number] += index.idf[token]
        closest: dict[int, float] = defaultdict(float)
        for number, weight in matched.items():
            phrasing = index.phrasings[number]
            precision = weight / total
            recall = matched_idf[number] / phrasing.weight
            f1 = 2 * precision * recall / (precision + recall)
            closest[phrasing.entry_index] = max(closest[phrasing.entry_index], f1)
        # Whole-phrasing likeness, function words included, separates entries that share
        # the same topic words ("how will exercise help me" is one entry's own question).
        wording: dict[int, float] = defaultdict(float)
        spoken = " ".join(token for _, token in analysed)
        for _, likeness, number in process.extract(spoken, index.wordings, scorer=fuzz.ratio, limit=None):
            entry_index = index.phrasings[number].entry_index
            if entry_index in closest:
                wording[entry_index] = max(wording[entry_index], likeness / 100)
        config = self.config
        question_words = self.normalizer.question_words
        exact_entry = index.exact.get(spoken)
        ranked = []
        for entry_index, f1 in closest.items():
            credit = index.credit[entry_index]
            explained = evidence = heard = 0.0
            for token, weight in weights.items():
                share = weight * credit.get(token, 0.0)
                explained += share
                if token not in question_words:
                    evidence += share
                    if token not in resolved.approximate:
                        heard += share
            coverage = explained / total
            topical = config.phrasing_weight * f1 + (1 - config.phrasing_weight) * coverage
            score = (1 - config.wording_weight) * topical + config.wording_weight * wording[entry_index]
            ranked.append(
                Scored(
                    score,
                    coverage,
                    evidence / index.max_idf,
                    entry_index,
                    exact_entry == entry_index,
                    heard / index.max_idf,
                )
            )
        ranked.sort(key=lambda scored: scored.score, reverse=True)
        return ranked

    def match(self, text: str) -> Match:
        """Decide what to do with one question (already checked to be usable text)."""
        started = time.perf_counter()
        analysed = self.normalizer.analyse(text)
        emergency = self._emergencies.detect(
            [token for _, token in analysed], [surface for surface, _ in analysed]
        )
        if emergency is not None:
            return Match(
                text,
                Decision.EMERGENCY,
                emergency.say,
                None,
                1.0,
                (),
                emergency=emergency,
                match_ms=_since(started),
            )
        return self.decide(text, self._rank(analysed, self._resolve(analysed)), started)

    def decide(self, text: str, ranked: Sequence[Scored], started: float | None = None) -> Match:
        """Turn ranked candidates into a decision using the configured thresholds."""
        config = self.config
        elapsed = _since(started) if started is not None else 0.0
        alternatives = tuple(
            Candidate(
                self._entries[s.entry_index].id, self._entries[s.entry_index].question, round(s.score, 4)
            )
            for s in ranked[: config.max_alternatives]
        )
        best = ranked[0] if ranked else Scored(0.0, 0.0, 0.0, -1)
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        confident = (
            best.score >= config.answer_threshold
            and best.score - runner_up >= config.answer_margin
            and best.coverage >= config.min_coverage
            and best.evidence >= config.min_evidence
            and best.heard_evidence >= config.min_heard_evidence
        )
        if confident or best.exact:
            entry = self._entries[best.entry_index]
            return Match(
                text, Decision.ANSWER, entry.answer, entry, best.score, alternatives, match_ms=elapsed
            )
        if best.score >= config.confirm_threshold and best.evidence >= config.min_confirm_evidence:
            offered = tuple(c for c in alternatives[:2] if best.score - c.score <= config.confirm_window)
            return Match(
                text,
                Decision.CONFIRM,
                confirmation_text(offered, self.language),
                None,
                best.score,
                alternatives,
                offered=offered,
                match_ms=elapsed,
            )
        return Match(
            text, Decision.FALLBACK, self.faq_set.fallback, None, best.score, alternatives, match_ms=elapsed
        )

    def emergency(
        self, text: str, min_words: int = 1, best: str | None = None, guessing: bool = False
    ) -> Emergency | None:
        """The emergency `text` signals, if any. `text` may be a less likely reading of the
        audio than `best` (see EmergencyDetector.detect for `min_words`, `best` and `guessing`)."""
        analysed = self.normalizer.analyse(text)
        context = None
        if best is not None:
            other = self.normalizer.analyse(best)
            context = ([token for _, token in other], [surface for surface, _ in other])
        return self._emergencies.detect(
            [token for _, token in analysed],
            [surface for surface, _ in analysed],
            min_words,
            context,
            guessing,
        )


@dataclass(frozen=True, slots=True)
class Scored:
    """One entry's standing for one question, before a decision is made."""

    score: float
    coverage: float
    """Share of the question's weight the entry accounts for."""
    evidence: float
    """Weight of the question's words the entry accounts for, in units of the weight of a
    word that only one entry uses (so thresholds suit sets of any size)."""
    entry_index: int
    exact: bool = False
    """The question, normalised, is one of this entry's own phrasings word for word."""
    heard_evidence: float = 0.0
    """The part of `evidence` from words heard as the set spells them (or as a synonym),
    not only mapped from a misheard word by spelling or sound."""


@dataclass(frozen=True, slots=True)
class _Resolved:
    """A question's topic words, resolved against the set's vocabulary."""

    weights: dict[str, float]
    """Known (or unknown, with a high weight) tokens and how much each counts."""
    approximate: frozenset[str]
    """Known tokens reached only from a misheard word ("cutting" for "clotting")."""


class _Index:
    """What the matcher knows about a set's words, built once."""

    def __init__(self, entries: Sequence[Entry], normalizer: Normalizer, saturation: float) -> None:
        analyse = normalizer.analyse
        function_words = normalizer.function_words
        counts: list[dict[str, float]] = []
        phrasing_tokens: list[tuple[int, frozenset[str]]] = []
        self.wordings: list[str] = []
        """Each phrasing's full token string, aligned with self.phrasings."""
        self.exact: dict[str, int] = {}
        """Full token string of each question, phrasing and keyword to its entry."""
        self.surface: dict[str, str] = {}
        """Every word the set uses, as written, to its token."""
        for entry_index, entry in enumerate(entries):
            count: dict[str, float] = defaultdict(float)
            texts = [(text, 1.0, True) for text in (entry.question, *entry.phrasings, *entry.keywords)]
            texts += [(entry.answer, _ANSWER_CREDIT, False)]
            texts += [(entry.details, _DETAILS_CREDIT, False)] if entry.details else []
            for text, amount, is_phrasing in texts:
                analysed = analyse(text)
                pairs = [(w, t) for w, t in analysed if t not in function_words]
                for word, token in pairs:
                    self.surface.setdefault(word, token)
                tokens = frozenset(token for _, token in pairs)
                for token in tokens:
                    count[token] += amount
                if is_phrasing and tokens:
                    phrasing_tokens.append((entry_index, tokens))
                    wording = " ".join(token for _, token in analysed)
                    self.wordings.append(wording)
                    self.exact.setdefault(wording, entry_index)
            counts.append(count)
        self.credit = [{token: min(1.0, n / saturation) for token, n in count.items()} for count in counts]
        """How strongly each entry stands for each word, 0..1: saturates with repeated use."""
        soft_frequency: dict[str, float] = defaultdict(float)
        for credit in self.credit:
            for token, amount in credit.items():
                soft_frequency[token] += amount
        self.idf = {token: math.log(1 + len(entries) / max(1.0, df)) for token, df in soft_frequency.items()}
        self.max_idf = math.log(1 + len(entries))
        """The weight of a word only one entry uses: the unit of evidence."""
        self.phrasings = [
            _Phrasing(entry_index, tokens, sum(self.idf[token] for token in tokens))
            for entry_index, tokens in phrasing_tokens
        ]
        self.phrasings_with: dict[str, list[int]] = defaultdict(list)
        for number, phrasing in enumerate(self.phrasings):
            for token in phrasing.tokens:
                self.phrasings_with[token].append(number)
        self._spellings = [word for word in self.surface if len(word) >= _FUZZY_MIN_LENGTH]
        self._sounds: dict[str, list[str]] = defaultdict(list)
        for word in self._spellings:
            self._sounds[jellyfish.metaphone(word)].append(word)
        self._sound_codes = list(self._sounds)

    def nearest(self, heard: str, config: MatcherConfig, by_sound: bool = True) -> tuple[str | None, float]:
        """The set's token that `heard` is probably a misrecognition of, and how sure (0..1)."""
        if heard in self.surface:
            return self.surface[heard], 1.0
        if len(heard) < _FUZZY_MIN_LENGTH:
            return None, 0.0
        found = process.extractOne(
            heard, self._spellings, scorer=fuzz.ratio, score_cutoff=config.fuzzy_token_cutoff
        )
        if found is not None:
            return self.surface[found[0]], found[1] / 100
        code = jellyfish.metaphone(heard)
        if not by_sound or len(heard) < _PHONETIC_MIN_LENGTH or len(code) < _PHONETIC_MIN_CODE:
            return None, 0.0
        # Short codes must agree exactly; longer ones may differ a little.
        cutoff = _PHONETIC_CODE_RATIO if len(code) >= _PHONETIC_FUZZY_CODE else 100.0
        # By sound: Metaphone codes that (nearly) agree, and some spelling in common,
        # since a code alone is too lossy ("permit" sounds like "paramedic").
        best_word, best_likeness = None, 0.0
        for similar_code, code_likeness, _ in process.extract(
            code, self._sound_codes, scorer=fuzz.ratio, score_cutoff=cutoff, limit=5
        ):
            for word in self._sounds[similar_code]:
                spelling = fuzz.ratio(heard, word)
                likeness = (code_likeness + spelling) / 200
                if spelling >= _PHONETIC_MIN_RATIO and likeness > best_likeness:
                    best_word, best_likeness = word, likeness
        if best_word is not None:
            return self.surface[best_word], _PHONETIC_SIMILARITY * best_likeness
        return None, 0.0


def _spans_around(position: int, length: int) -> list[range]:
    """Word spans containing `position` to try as one misheard word, the word alone first."""
    spans = [range(position, position + 1)]
    for size in (2, 3):
        for start in range(position - size + 1, position + 1):
            if start >= 0 and start + size <= length:
                spans.append(range(start, start + size))
    return spans


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
