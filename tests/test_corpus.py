"""The decision model's training corpus: reproducible, and apart from every evaluation set."""

from tools import corpus, sealed_set, spoken_plan
from tools.quality import DATA, load


def _plain(text: str) -> str:
    return " ".join(text.lower().split())


def test_the_typed_corpus_is_the_same_every_time() -> None:
    assert corpus.typed() == corpus.typed()


def test_the_corpus_holds_no_evaluation_question() -> None:
    training = {_plain(row.text) for row in corpus.typed(with_dev=False)}
    for name in ("holdout.jsonl", "sealed.jsonl"):
        shared = training & {_plain(row.text) for row in load(DATA / name)}
        assert not shared, f"{len(shared)} questions of {name} are in the training corpus"


def test_every_entry_and_out_of_scope_is_in_the_corpus() -> None:
    rows = corpus.typed(with_dev=False)
    kinds = {row.kind for row in rows}
    assert kinds == {"in_scope", "fallback"}
    written = corpus.written()
    assert {row.expect for row in rows if row.kind == "in_scope"} == set(written.questions)


def test_spoken_training_uses_no_held_out_voice() -> None:
    held_out = {voice for voice, _ in sealed_set.BABBLE_TALKERS} | set(sealed_set.VOICES)
    held_out |= set(spoken_plan.FRESH_VOICES) | {voice for voice, _ in spoken_plan.FRESH_BABBLE_TALKERS}
    assert not held_out & set(corpus.VOICES)


def test_the_spoken_plan_is_the_same_every_time() -> None:
    rows = corpus.typed(with_dev=False)
    first = corpus.utterances(rows, 40, seed=3, prefix="t")
    assert first == corpus.utterances(rows, 40, seed=3, prefix="t")
    assert len(first) == 40 and len({u.name for u in first}) == 40
    assert sum(u.said.kind == "in_scope" for u in first) == 30
