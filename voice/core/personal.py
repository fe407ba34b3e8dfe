"""A person's own voice, learnt from their enrolment: what the recogniser wrote when they
said each prompt becomes their questions as heard, and a personal map from what it hears
to the set's words.

General recognisers fail many people with MS the same way each time ("boint" for
"point", "de" for "the"), and consistency is what this uses:
- each question prompt, as heard, becomes a phrasing of its entry, for the same question
  asked again (PersonalMatcher: only questions heard like one of them are matched with
  them, and an answer resting on them alone needs a close likeness);
- aligned word by word with the prompt they read, the transcripts say which heard forms
  stand for which of the set's words. The map is read like heard.yaml
  (voice.core.wordmaps), so a later transcript is corrected before it is matched.
The calibrated decision then weighs what is matched as usual. Pure: prompts and
transcripts in, a set and its matcher out (voice.profiles stores them).

What a profile never does, so that it cannot make things worse:
- take a word the set (or its emergencies) uses and read it as another: a typical
  speaker's "walk" stays "walk" even if this person's "what" was heard as "walk";
- keep a form heard as often for two words, or heard as said elsewhere, or a common word
  heard for another only once;
- answer a question only because it sounds a little like the person's way of asking;
- hide an emergency: the personalised set keeps the set as it was (FaqSet.base), and an
  emergency either reading finds counts (voice.core.matcher).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from voice.core.config import MatcherConfig
from voice.core.decision import Standing
from voice.core.faq import FaqSet, trigger_words
from voice.core.matcher import Decision, Match, Matcher, confirmation_text
from voice.core.normalize import Normalizer
from voice.core.transcript import Transcript

Kind = Literal["command", "question"]
WAKE = "wake"
"""The command name the wake phrase is enrolled under."""
SPEAKING_WORDS_PER_MINUTE = 90
"""A slow speaker's rate, for how long the prompts take to say."""
BETWEEN_PROMPTS_S = 2.0
"""Hearing or reading the next prompt, and starting to say it."""
MAX_FORM_WORDS = 3
"""Longer stretches heard differently are a different sentence, not a way of saying words."""
MIN_LIKENESS = 35.0
"""How alike (rapidfuzz ratio) a form and the words it is taken for must be spelt: less is
an alignment that paired unrelated words ("the" with "physiatrist"), not a way of saying."""


@dataclass(frozen=True, slots=True)
class EnrolPrompt:
    """One thing a person says when enrolling: a command, or a question for one entry."""

    id: str
    text: str
    kind: Kind
    entry_id: str | None = None
    command: str | None = None
    """The command's name (voice.conversation.events.CommandName), or WAKE."""

    def to_dict(self) -> dict[str, str]:
        """`voicefaq enrol prompts --json`: id, text, kind, and entry_id for a question."""
        out = {"id": self.id, "text": self.text, "kind": self.kind}
        if self.entry_id is not None:
            out["entry_id"] = self.entry_id
        return out


def enrol_prompts(faq_set: FaqSet) -> tuple[EnrolPrompt, ...]:
    """Every spoken command, the wake phrase, and one question per entry (its `enrol:`)."""
    language = faq_set.language_data
    commands = [
        EnrolPrompt(f"command-{name}", text, "command", command=name)
        for name, text in language.enrolment.commands.items()
    ]
    wake = EnrolPrompt(f"command-{WAKE}", language.wake_phrase, "command", command=WAKE)
    questions = [
        EnrolPrompt(f"question-{entry.id}", entry.enrol_prompt, "question", entry_id=entry.id)
        for entry in faq_set.entries
    ]
    return (*commands, wake, *questions)


def speaking_seconds(prompts: tuple[EnrolPrompt, ...]) -> float:
    """About how long a slow speaker takes to say all of `prompts`."""
    words = sum(len(prompt.text.split()) for prompt in prompts)
    return words * 60 / SPEAKING_WORDS_PER_MINUTE + BETWEEN_PROMPTS_S * len(prompts)


@dataclass(frozen=True, slots=True)
class WordMap:
    """What this person's recognised speech writes for the set's words."""

    heard_as: Mapping[str, tuple[str, ...]]
    """The words said (as the prompt wrote them) -> the forms the recogniser wrote for them."""

    def __len__(self) -> int:
        return sum(len(forms) for forms in self.heard_as.values())


COMMON_FORM_HEARINGS = 2
"""A form made of common words ("rest" for "range") is one a typical speaker says for what
it means: it is kept only when this person's prompts gave it this often for one word."""


def learn_words(
    faq_set: FaqSet,
    prompts: tuple[EnrolPrompt, ...],
    heard: Mapping[str, str],
    common: frozenset[str] = frozenset(),
) -> WordMap:
    """The map from the question prompts' transcripts (`heard`: prompt id -> transcript).
    `common`: the language's common words (voice.asr.whisper.common_words)."""
    normalizer = faq_set.normalizer()
    protected = _protected_stems(faq_set, normalizer)
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    heard_right: Counter[str] = Counter()
    for prompt in prompts:
        transcript = heard.get(prompt.id)
        if prompt.kind != "question" or not transcript:
            continue
        said, written = normalizer.words(prompt.text), normalizer.words(transcript)
        for op in Levenshtein.opcodes(said, written):
            said_part, written_part = said[op.src_start : op.src_end], written[op.dest_start : op.dest_end]
            if op.tag == "equal":
                heard_right.update(written_part)
            elif op.tag == "replace":
                for words_said, written_words in _pairs(said_part, written_part):
                    if _usable(written_words, words_said, normalizer, protected):
                        votes[" ".join(written_words)][" ".join(words_said)] += 1
    heard_as: dict[str, list[str]] = defaultdict(list)
    for form, targets in sorted(votes.items()):
        (target, count), *others = targets.most_common()
        if others and others[0][1] == count:  # heard for two words as often: no telling
            continue
        if count <= sum(heard_right[word] for word in form.split()):
            continue
        if count < COMMON_FORM_HEARINGS and all(word in common for word in form.split()):
            continue
        heard_as[target].append(form)
    return WordMap({target: tuple(forms) for target, forms in sorted(heard_as.items())})


def _usable(form: list[str], said: list[str], normalizer: Normalizer, protected: frozenset[str]) -> bool:
    """Whether `form` may be read as `said` from now on: it holds none of the set's own
    words, is more than small words and lone letters (heard everywhere), and is spelt
    something like what was said."""
    stems = [normalizer.stem(word) for word in form]
    if any(stem in protected for stem in stems):
        return False
    small = normalizer.function_words
    if all(stem in small or len(word) == 1 for stem, word in zip(stems, form, strict=True)):
        return False
    return fuzz.ratio(" ".join(form), " ".join(said)) >= MIN_LIKENESS


def _pairs(said: list[str], written: list[str]) -> list[tuple[list[str], list[str]]]:
    """Which written words stand for which said ones in one differing stretch: word for word
    when the counts agree, else the whole stretch for the whole, when both are short."""
    if len(said) == len(written):
        return [([word_said], [word_written]) for word_said, word_written in zip(said, written, strict=True)]
    if len(said) <= MAX_FORM_WORDS and len(written) <= MAX_FORM_WORDS:
        return [(said, written)]
    return []


def _protected_stems(faq_set: FaqSet, normalizer: Normalizer) -> frozenset[str]:
    """Stems the set itself uses as topic words, or its emergencies use: a form containing
    one is a real word people say, never re-read as another."""
    texts: list[str] = []
    for entry in faq_set.entries:
        texts.extend((entry.question, entry.topic, *entry.phrasings, *entry.keywords))
    for canonical, variants in faq_set.synonyms.items():
        texts.extend((canonical, *variants))
    stems = {normalizer.stem(word) for text in texts for word in normalizer.words(text)}
    stems |= {normalizer.stem(word) for word in trigger_words(faq_set.emergencies)}
    return frozenset(stems - normalizer.function_words)


MIN_PHRASING_WORDS = 2
"""A transcript of fewer words is too little to tell one of the person's questions by."""


def learn_phrasings(prompts: tuple[EnrolPrompt, ...], heard: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """Each question prompt as the recogniser wrote it, by entry id: how this person's
    question about the entry reads ("Walk, hit the point of physical therapy"). Asked
    again, it is heard much the same, and matches its entry as a phrasing does."""
    phrasings: dict[str, tuple[str, ...]] = {}
    for prompt in prompts:
        transcript = " ".join(heard.get(prompt.id, "").split())
        if prompt.entry_id is not None and len(transcript.split()) >= MIN_PHRASING_WORDS:
            phrasings[prompt.entry_id] = (*phrasings.get(prompt.entry_id, ()), transcript)
    return phrasings


def personalise(
    faq_set: FaqSet, words: WordMap, phrasings: Mapping[str, tuple[str, ...]] | None = None
) -> FaqSet:
    """`faq_set` reading this person's forms as the words they stand for, and knowing their
    questions as they are heard (`phrasings`, by entry id); the set as it was stays as
    `base`, for emergencies (voice.core.matcher)."""
    base = faq_set.base or faq_set
    heard_as = {key: tuple(forms) for key, forms in base.heard_as.items()}
    for target, forms in words.heard_as.items():
        heard_as[target] = (*heard_as.get(target, ()), *forms)
    phrasings = phrasings or {}
    entries = tuple(
        replace(entry, phrasings=(*entry.phrasings, *phrasings[entry.id])) if entry.id in phrasings else entry
        for entry in base.entries
    )
    return replace(base, heard_as=heard_as, entries=entries, base=base, personal_phrasings=dict(phrasings))


ASKED_AGAIN = 80.0
"""How alike (rapidfuzz ratio, on the normalised words) a transcript and one of the
person's enrolled questions must be for an answer that rests on those questions alone."""
LIKE_ENROLLED = 70.0
"""How alike they must be for the enrolled questions to count at all: a question unlike
all of them is matched as the set's own phrasings read it."""


class PersonalMatcher(Matcher):
    """The matcher for a set with a person's enrolled questions among its phrasings.

    A question heard like one of them is matched with them; any other question as the
    set's own phrasings read it, so that the person's other questions compete with
    nothing new. And an answer that only the enrolled questions give goes to a question
    heard much like one of them (asked again); a question that merely sounds a little
    like one is asked about instead, so that a profile never turns an out-of-scope
    question into an answer.
    """

    def __init__(self, faq_set: FaqSet, config: MatcherConfig | None = None) -> None:
        super().__init__(faq_set, config)
        own = {entry.id: entry.phrasings for entry in (faq_set.base or faq_set).entries}
        entries = tuple(
            replace(entry, phrasings=own.get(entry.id, entry.phrasings)) for entry in faq_set.entries
        )
        self._set_phrasings_only = Matcher(replace(faq_set, entries=entries, personal_phrasings={}), config)
        self._enrolled = {
            entry_id: tuple(" ".join(self.normalizer.words(question)) for question in questions)
            for entry_id, questions in faq_set.personal_phrasings.items()
        }

    def _likeness(self, said: str, entry_ids: Iterable[str]) -> float:
        return max(
            (
                fuzz.ratio(said, enrolled)
                for entry_id in entry_ids
                for enrolled in self._enrolled.get(entry_id, ())
            ),
            default=0.0,
        )

    def _match(self, text: str, heard: Transcript | None) -> Match:
        if self._like_enrolled(text):
            return super()._match(text, heard)
        return self._set_phrasings_only._match(text, heard)  # ranked once, not twice

    def _like_enrolled(self, text: str) -> bool:
        return self._likeness(" ".join(self.normalizer.words(text)), self._enrolled) >= LIKE_ENROLLED

    def decide(
        self,
        text: str,
        ranked: Sequence[Standing],
        started: float | None = None,
        heard: Transcript | None = None,
    ) -> Match:
        plain = self._set_phrasings_only
        said = " ".join(self.normalizer.words(text))
        if self._likeness(said, self._enrolled) < LIKE_ENROLLED:
            return plain.decide(text, plain.standings(text, heard), started, heard)
        match = super().decide(text, ranked, started, heard)
        entry = match.entry
        if entry is None or self._likeness(said, (entry.id,)) >= ASKED_AGAIN:
            return match
        unaided = plain.decide(text, plain.standings(text, heard), heard=heard)
        if unaided.entry is not None and unaided.entry.id == entry.id:
            return match
        offered = match.alternatives[:1]
        say = confirmation_text(offered, self.language)
        return replace(match, decision=Decision.CONFIRM, say=say, entry=None, offered=offered)


def matcher_for(faq_set: FaqSet, config: MatcherConfig | None = None) -> Matcher:
    """The matcher a set needs: PersonalMatcher for one with enrolled questions."""
    return PersonalMatcher(faq_set, config) if faq_set.personal_phrasings else Matcher(faq_set, config)
