"""Choosing the FAQ entry a question asks for, or admitting that none fits.

Pure: text in, Match out. Topic words are weighted by how rare they are in the set
(inverse document frequency, learned from the set itself, so "rollator" outweighs
"exercise"). An entry's score mixes the closest single phrasing (weighted F1 of
shared words), how much of the question the entry as a whole accounts for, and
whole-phrasing likeness. Words the set never uses count against confidence, so
"does insurance cover physio" is not answered as a physio question. Misheard words
are mapped to known ones with rapidfuzz and Metaphone (voice.core.index). Whether to
answer, ask or admit not knowing follows from each candidate's chance of being the one
asked for, estimated by a calibrated model (voice.core.decision).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
from rapidfuzz import fuzz, process

from voice.core.config import MatcherConfig
from voice.core.decision import (
    FEATURES,
    CandidateSignals,
    DecisionModel,
    Hearing,
    QuestionSignals,
    Standing,
    exclusive,
    load_model,
    standings,
)
from voice.core.emergency import EmergencyDetector
from voice.core.faq import Emergency, Entry, FaqSet, question_as_topic
from voice.core.index import SetIndex
from voice.core.transcript import Transcript
from voice.lang import Language

_SWALLOW_MIN_SIMILARITY = 0.88
_NOISE_LENGTH = 2  # unknown words this short are recognition debris ("s", "uh"), not topics
_EXACT = FEATURES.index("exact")
_SPOKEN = FEATURES.index("spoken")
_EVIDENCE = FEATURES.index("evidence")


class Decision(StrEnum):
    ANSWER = "answer"
    """Confident: speak the entry's answer."""
    CONFIRM = "confirm"
    """Unsure between candidates, or middling: ask "Do you mean ...?"."""
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
    topic: str = ""
    """The entry's short topic ("walking aids"), named in a confirmation; "" when unknown
    (a candidate read back from a review log), and the question is named instead."""
    probability: float = 0.0
    """The decision model's estimate that this is the entry asked for (voice.core.decision)."""

    @classmethod
    def of(cls, entry: Entry, score: float, probability: float = 0.0) -> Candidate:
        return cls(entry.id, entry.question, round(score, 4), entry.topic, probability)


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
                {
                    "entry_id": c.entry_id,
                    "question": c.question,
                    "score": c.score,
                    "probability": round(c.probability, 4),
                }
                for c in self.alternatives
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


def confirmation_text(offered: Sequence[Candidate], language: Language) -> str:
    """The spoken confirmation, in `language`, naming each offered entry by its topic:
    "Do you mean walking aids?" for one, "Do you mean walking aids, or pain from
    crutches?" for two or more."""
    topics = [candidate.topic or question_as_topic(candidate.question) for candidate in offered]
    texts = language.prompts
    if len(topics) == 1:
        return texts.confirm_one.format(topic=topics[0])
    return texts.confirm_choices.format(topics=", ".join(topics[:-1]), last=topics[-1])


class Matcher:
    """Matches questions against one answers set. Build once; match many times."""

    def __init__(self, faq_set: FaqSet, config: MatcherConfig | None = None) -> None:
        self.faq_set = faq_set
        self.config = (config or MatcherConfig()).with_overrides(faq_set.matching)
        self.normalizer = faq_set.normalizer()
        self.language = self.normalizer.language
        """The set's language (voice.lang)."""
        self._entries = faq_set.entries
        self._index = SetIndex(faq_set.entries, self.normalizer, self.config.credit_saturation)
        self._emergencies = EmergencyDetector(faq_set.emergencies, self.normalizer, self._index.asked_with)
        self._as_written = (
            None
            if faq_set.base is None
            else EmergencyDetector(
                faq_set.base.emergencies, faq_set.base.normalizer(), self._index.asked_with
            )
        )
        """For a set personalised to one voice, emergencies as the set's own words read them:
        one either reading finds counts, so a profile never hides one."""
        self.model: DecisionModel = load_model()
        """The calibrated model behind every decision (voice.core.decision)."""
        config = self.config
        self.answer_at = _either(config.answer_probability, self.model.answer_at)
        self.heard_answer_at = _either(config.heard_answer_probability, self.model.heard_answer_at)
        self.confirm_at = _either(config.confirm_probability, self.model.confirm_at)
        self.second_at = _either(config.second_probability, self.model.second_at)

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
        spoken = " ".join(token for _, token in analysed)
        likeness = process.cdist([spoken], index.wordings, scorer=fuzz.ratio, dtype=np.float64)[0] / 100
        best_likeness = np.zeros(len(self._entries))
        np.maximum.at(best_likeness, index.phrasing_entries, likeness)
        wording = {entry_index: float(best_likeness[entry_index]) for entry_index in closest}
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
                    f1,
                    wording[entry_index],
                )
            )
        ranked.sort(key=lambda scored: scored.score, reverse=True)
        return ranked

    def match(self, text: str) -> Match:
        """Decide what to do with one typed question (already checked to be usable text)."""
        return self._match(text, None)

    def match_heard(self, transcript: Transcript) -> Match:
        """Decide what to do with what a recogniser heard: its best reading, weighed with the
        recogniser's confidence and whether its other readings point to the same entry."""
        return self._match(transcript.text, transcript)

    def _match(self, text: str, heard: Transcript | None) -> Match:
        started = time.perf_counter()
        analysed = self.normalizer.analyse(text)
        emergency = self._emergencies.detect(
            [token for _, token in analysed], [surface for surface, _ in analysed]
        )
        if emergency is None and self._as_written is not None:
            emergency = self._as_written.detect_text(text)
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
        return self.decide(text, self._standings(analysed, heard), started, heard)

    def standings(self, text: str, heard: Transcript | None = None) -> list[Standing]:
        """The best candidates for `text` with the decision model's features, best score first
        (what tools.decision_model fits the model on)."""
        return self._standings(self.normalizer.analyse(text), heard)

    def _standings(self, analysed: Sequence[tuple[str, str]], heard: Transcript | None) -> list[Standing]:
        resolved = self._resolve(analysed)
        ranked = self._rank(analysed, resolved)
        index = self._index
        weights = resolved.weights
        total = sum(weights.values()) or 1.0
        unknown = [token for token in weights if token not in index.idf]
        tokens = {token for _, token in analysed} | set(weights)
        question = QuestionSignals(
            unknown_share=sum(weights[token] for token in unknown) / total,
            unknown_words=len(unknown),
            approximate_share=sum(weights[token] for token in resolved.approximate) / total,
            topic_words=len(weights),
            words=len(analysed),
            candidates=len(ranked),
            named_topics=frozenset(
                self._entries[i].id for i, topic in enumerate(index.topics) if topic and topic <= tokens
            ),
        )
        ranked, promoted = self._narrower_first(ranked, question.named_topics)
        signals = [
            CandidateSignals(
                s.entry_index,
                self._entries[s.entry_index].id,
                s.score,
                s.coverage,
                s.evidence,
                s.heard_evidence,
                s.phrasing,
                s.wording,
                s.exact,
                promoted and position == 0,
            )
            for position, s in enumerate(ranked[: self.config.max_alternatives])
        ]
        return standings(signals, question, None if heard is None else self._hearing(heard))

    def _narrower_first(self, ranked: list[Scored], named: frozenset[str]) -> tuple[list[Scored], bool]:
        """A question naming the topic of an entry the best one lists as `narrower` goes to that
        entry: "what is passive exercise" asks for passive exercise, not all kinds."""
        if not ranked or not named:
            return ranked, False
        best = self._entries[ranked[0].entry_index]
        if best.id in named:
            return ranked, False
        for position, scored in enumerate(ranked[1:], start=1):
            entry_id = self._entries[scored.entry_index].id
            if entry_id in named and entry_id in best.narrower:
                promoted = replace(scored, score=max(scored.score, ranked[0].score))
                return [promoted, *ranked[:position], *ranked[position + 1 :]], True
        return ranked, False

    def _hearing(self, heard: Transcript) -> Hearing:
        """How the recogniser's other readings of the audio vote."""
        votes: dict[str, float] = defaultdict(float)
        readings = heard.alternatives
        for reading in readings:
            analysed = self.normalizer.analyse(reading)
            ranked = self._rank(analysed, self._resolve(analysed))
            if ranked:
                votes[self._entries[ranked[0].entry_index].id] += 1 / len(readings)
        return Hearing(heard.logprob, dict(votes))

    def decide(
        self,
        text: str,
        ranked: Sequence[Standing],
        started: float | None = None,
        heard: Transcript | None = None,
    ) -> Match:
        """Turn the candidates into a decision with the decision model's probabilities:
        answer, ask about the likeliest one or two, or admit not knowing. `heard`: the
        transcript `ranked` was made from, if any (voice.core.personal.PersonalMatcher)."""
        model = self.model
        elapsed = _since(started) if started is not None else 0.0
        probabilities = exclusive(model.probabilities([standing.features for standing in ranked]))
        weighed = sorted(
            zip(probabilities, ranked, strict=True),
            key=lambda pair: (pair[1].named_narrower, pair[0]),
            reverse=True,
        )
        alternatives = tuple(Candidate.of(self._entries[s.entry_index], s.score, p) for p, s in weighed)
        if not weighed:
            return Match(text, Decision.FALLBACK, self.faq_set.fallback, None, 0.0, (), match_ms=elapsed)
        best_p, best = weighed[0]
        exact = best.features[_EXACT] > 0
        answer_at = self.heard_answer_at if best.features[_SPOKEN] > 0 else self.answer_at
        if best_p >= answer_at or exact:
            entry = self._entries[best.entry_index]
            return Match(
                text, Decision.ANSWER, entry.answer, entry, best.score, alternatives, match_ms=elapsed
            )
        second_p = weighed[1][0] if len(weighed) > 1 else 0.0
        # A confirmation needs a word of the set's topics in the question: sharing only
        # "where" or "what" with an entry is no reason to ask about it.
        if best_p + second_p >= self.confirm_at and best.features[_EVIDENCE] > 0:
            offered = alternatives[: 2 if second_p >= self.second_at else 1]
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
        found = self._emergencies.detect_text(text, min_words, best, guessing)
        if found is None and self._as_written is not None:
            found = self._as_written.detect_text(text, min_words, best, guessing)
        return found


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
    phrasing: float = 0.0
    """F1 of shared words with the entry's closest single phrasing."""
    wording: float = 0.0
    """Whole-phrasing likeness, function words included, 0..1."""


@dataclass(frozen=True, slots=True)
class _Resolved:
    """A question's topic words, resolved against the set's vocabulary."""

    weights: dict[str, float]
    """Known (or unknown, with a high weight) tokens and how much each counts."""
    approximate: frozenset[str]
    """Known tokens reached only from a misheard word ("cutting" for "clotting")."""


def _spans_around(position: int, length: int) -> list[range]:
    """Word spans containing `position` to try as one misheard word, the word alone first."""
    spans = [range(position, position + 1)]
    for size in (2, 3):
        for start in range(position - size + 1, position + 1):
            if start >= 0 and start + size <= length:
                spans.append(range(start, start + size))
    return spans


def _either(setting: float | None, fitted: float) -> float:
    return fitted if setting is None else setting


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
