import pytest

from voice.core.normalize import Normalizer, words

NORMALIZER = Normalizer(
    {
        "pt": ["physical therapist", "physio"],
        "walker": ["rollator", "walking frame"],
        "ms": ["multiple sclerosis"],
    }
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I can't walk", ["i", "can", "not", "walk"]),
        ("I CANT walk", ["i", "can", "not", "walk"]),
        ("I\u2019ve fallen", ["i", "have", "fallen"]),
        ("What's a rollator?", ["what", "is", "a", "rollator"]),
        ("my doctor's advice", ["my", "doctor", "advice"]),
        ("they're tired", ["they", "are", "tired"]),
        ("call nine one one", ["call", "911"]),
        ("call 9 1 1", ["call", "911"]),
        ("twenty one days", ["21", "days"]),
        ("a four wheeled walker", ["a", "4", "wheeled", "walker"]),
        ("oh no", ["oh", "no"]),
        ("", []),
        ("!!!", []),
    ],
)
def test_words(text: str, expected: list[str]) -> None:
    assert words(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Um, so, excuse me, is my physio a physiatrist?", ("is", "my", "pt", "a", "physiatrist")),
        ("Physical Therapists and walking frames", ("pt", "and", "walker")),
        ("uh i was wondering about multiple sclerosis", ("about", "ms")),
        ("rollators", ("walker",)),
        ("falling and exercises", ("fall", "and", "exercis")),
    ],
)
def test_tokens_apply_fillers_stemming_and_synonyms(text: str, expected: tuple[str, ...]) -> None:
    assert NORMALIZER.tokens(text) == expected


def test_analyse_keeps_the_words_a_synonym_replaced() -> None:
    assert NORMALIZER.analyse("my physical therapist") == [("my", "my"), ("physicaltherapist", "pt")]


def test_content_drops_function_words_only() -> None:
    assert NORMALIZER.content(NORMALIZER.tokens("can a physio help with my walker")) == ("pt", "walker")
