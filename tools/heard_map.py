"""Learn how the recogniser mishears the set's own words, from the training corpus's recordings,
and write them to the set's heard.yaml (`heard_as:`), for a person to review.

    .venv/bin/python -m tools.heard_map probe      # each specific word said in carrier sentences
                                                   # by the training voices -> WORDS (minutes)
    .venv/bin/python -m tools.heard_map [--min-hits 2] [--min-precision 0.75] [--dry-run]

For every recorded clip (the probe's WORDS, tools/corpus/*-heard.jsonl and the spoken dev
set; never an evaluation set) the words said are aligned with the words heard (difflib).
Where a span of at most three words holding one of the set's specific words (its keywords,
synonyms and acronyms) was heard as something else, that is a candidate ("rollator" heard
as "row later"). A candidate is kept
when it was heard that way at least --min-hits times, spells like the word (MIN_LIKENESS), is
no word of the training questions (what people say for other things), and when, of all the
recordings whose transcript holds it, at least --min-precision had the set's word said: so a
common word the recogniser writes for many things ("best") is not taken for "FES".
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence

from rapidfuzz import fuzz

from tools import corpus, transcripts
from tools.decision_model import training_heard
from tools.quality import Labelled
from voice.core.config import default_answers_dir
from voice.core.faq import HEARD_FILE, FaqSet, load_set
from voice.core.normalize import Normalizer
from voice.vocabulary import key_terms

WORDS = corpus.CORPUS / f"{corpus.SET_NAME}-words.jsonl"
"""What whisper heard for the set's specific words said alone in CARRIERS (`probe`)."""
CARRIERS = ("tell me about {w}", "what is {w}")
PROBE_VOICES = corpus.VOICES[:5]
PROBE_MIN_LETTERS = 7
"""Words this long, and acronyms, used by one or two entries: those a recogniser knows least."""
PROBE_SPEED = 130
MAX_SPAN = 3
MIN_LIKENESS = 60
"""rapidfuzz ratio of a form (spaces removed) to the set's word: a mishearing sounds like the
word ("clogging" for "clotting"); a form unlike it is a misalignment or a guess at noise."""
MIN_LETTERS = 4
MAX_ENTRIES = 3
"""A word of the set counts as specific when at most this many entries use it: mishearing
"back" or "exercise" is not what keeps people from an answer."""


def plain_words(text: str) -> list[str]:
    return re.sub(r"[^\w'\s]", " ", text.lower()).split()


def targets(faq_set: FaqSet, normalizer: Normalizer, most_entries: int = MAX_ENTRIES) -> dict[str, str]:
    """The set's specific words: token -> the word as the set writes it."""
    words = [*key_terms(faq_set), *(key for key in faq_set.synonyms if key.isalpha())]
    users: Counter[str] = Counter()
    for entry in faq_set.entries:
        texts = " ".join((entry.question, *entry.phrasings, *entry.keywords))
        users.update(set(normalizer.tokens(texts)))
    found: dict[str, str] = {}
    for word in words:
        tokens = normalizer.content(normalizer.tokens(word))
        if len(tokens) == 1 and users[tokens[0]] <= most_entries:
            found.setdefault(tokens[0], word)
    return found


def learn(
    faq_set: FaqSet, heard: Sequence[transcripts.Heard], min_hits: int, min_precision: float
) -> dict[str, list[str]]:
    """The set's word -> the forms it is heard as, most often first."""
    normalizer = Normalizer(faq_set.synonyms, faq_set.fillers, faq_set.language_data)
    wanted = targets(faq_set, normalizer)
    hits: Counter[tuple[str, str]] = Counter()
    texts: list[tuple[frozenset[str], str]] = []
    for clip in heard:
        if clip.transcript is None:
            continue
        said, got = plain_words(clip.said.text), plain_words(clip.transcript.text)
        said_tokens = frozenset(normalizer.tokens(" ".join(said)))
        texts.append((said_tokens, " " + " ".join(got) + " "))
        heard_tokens = frozenset(normalizer.tokens(" ".join(got)))
        matcher = difflib.SequenceMatcher(None, said, got, autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            # The set's word alone, heard as one to three other words.
            if op != "replace" or i2 - i1 != 1 or j2 - j1 > MAX_SPAN:
                continue
            form = " ".join(got[j1:j2])
            for token in normalizer.tokens(" ".join(said[i1:i2])):
                if token in wanted and token not in heard_tokens:
                    hits[(token, form)] += 1
    kept: dict[str, list[tuple[int, str]]] = defaultdict(list)
    function_words = normalizer.function_words
    everyday = {word for row in corpus.typed() for word in plain_words(row.text)}
    for (token, form), count in hits.items():
        letters = sum(c.isalpha() for c in form)
        if count < min_hits or letters < MIN_LETTERS:
            continue
        form_tokens = normalizer.tokens(form)
        if all(t in function_words for t in form_tokens) or any(t in wanted for t in form_tokens):
            continue
        if fuzz.ratio(form.replace(" ", ""), wanted[token]) < MIN_LIKENESS or form in everyday:
            continue
        holding = [said for said, text in texts if f" {form} " in text]
        precision = sum(token in said for said in holding) / max(1, len(holding))
        if precision >= min_precision:
            kept[wanted[token]].append((count, form))
    return {word: [form for _, form in sorted(forms, reverse=True)] for word, forms in sorted(kept.items())}


def render(mapped: dict[str, list[str]], clips: int) -> str:
    lines = [
        "# How speech recognition mishears this set's words: read like synonyms, but never given to",
        "# a recogniser as words to expect. Made by `python -m tools.heard_map` from what whisper",
        f"# tiny.en heard in {clips} recordings of the training corpus; review before committing,",
        "# and delete a form that is a real word people might say about something else.",
        "heard_as:",
    ]
    for word, forms in mapped.items():
        lines.append(f"  {word}: [{', '.join(forms)}]")
    return "\n".join(lines) + "\n"


def probe(faq_set: FaqSet) -> int:
    """Each specific word of the set in each carrier, said by each probe voice, clean, heard by
    the recogniser as `voicefaq ask --audio` hears it; appended to WORDS (resumable)."""
    normalizer = Normalizer(faq_set.synonyms, faq_set.fillers, faq_set.language_data)
    acronyms = {key for key in faq_set.synonyms if len(key) <= 3}
    words = sorted(
        word
        for word in set(targets(faq_set, normalizer, most_entries=2).values())
        if len(word) >= PROBE_MIN_LETTERS or word in acronyms
    )
    planned = [
        corpus.Utterance(
            f"word-{word}-{c}-{v}",
            Labelled(carrier.format(w=word.upper() if word in acronyms else word), "probe"),
            voice,
            PROBE_SPEED,
            "clean",
            None,
            0.0,
            0,
        )
        for word in words
        for c, carrier in enumerate(CARRIERS)
        for v, voice in enumerate(PROBE_VOICES)
    ]
    return corpus.speak(planned, WORDS)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.heard_map", description=__doc__)
    parser.add_argument("command", nargs="?", choices=("learn", "probe"), default="learn")
    parser.add_argument("--min-hits", type=int, default=2)
    parser.add_argument("--min-precision", type=float, default=0.75)
    parser.add_argument("--dry-run", action="store_true", help="print, do not write")
    args = parser.parse_args(argv)
    faq_set = load_set(default_answers_dir())
    if args.command == "probe":
        print(f"{probe(faq_set)} recordings added to {WORDS}")
        return 0
    heard = training_heard() + (transcripts.read_heard(WORDS)[1] if WORDS.exists() else [])
    text = render(learn(faq_set, heard, args.min_hits, args.min_precision), len(heard))
    if args.dry_run:
        print(text)
    else:
        (faq_set.directory / HEARD_FILE).write_text(text, encoding="utf-8")
        print(f"wrote {faq_set.directory / HEARD_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
