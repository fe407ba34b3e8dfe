import pytest

from voice.core.emergency import EmergencyDetector
from voice.core.faq import FaqSet, load_set


@pytest.fixture(scope="module")
def bundled(bundled_set) -> FaqSet:  # type: ignore[no-untyped-def]
    return load_set(bundled_set)


@pytest.fixture(scope="module")
def detector(bundled: FaqSet) -> EmergencyDetector:
    return EmergencyDetector(bundled.emergencies, bundled.normalizer())


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("I've fallen and I can't get up", "fall"),
        ("i fell in the bathroom and cant get back up", "fall"),
        ("help I'm on the floor and can't stand", "fall"),
        ("my husband fell and he's not moving", "fall"),
        ("I have chest pain", "chest-pain"),
        ("my chest hurts really bad", "chest-pain"),
        ("i think im having a hard attack", "chest-pain"),  # misheard "heart"
        ("I can't breathe", "breathing"),
        ("i'm so short of breath", "breathing"),
        ("I want to kill myself", "self-harm"),
        ("i want to kill my shelf", "self-harm"),  # misheard "myself"
        ("i've been coding myself", "self-harm"),  # misheard "cutting": the same sound
        ("i can't get my breath", "breathing"),
        ("she is gasping for air", "breathing"),
        ("i don't want to live anymore", "self-harm"),
        ("call an ambulance", "urgent"),
        ("call nine one one", "urgent"),
        ("i think he is having a stroke", "urgent"),
        # Signs added for what recognisers keep of a spoken emergency.
        ("I fell in the bathroom, and I can't get to my cup.", "fall"),  # "get back up"
        ("And I can't get up.", "fall"),  # "I've fallen" lost to noise
        ("My chest really close, and my left arm is, um...", "chest-pain"),
        ("His face is moving, and he can't talk.", "urgent"),  # "drooping"
        ("my husband is not moving", "urgent"),
        ("she collapsed in the kitchen", "urgent"),
        ("He won the floor and can't stand.", "fall"),  # "I'm on the floor"
        ("My chest, really, oh, my lip, calm, it's numb.", "chest-pain"),  # "left arm is numb"
        ("She freaked her and went wake up.", "urgent"),  # "fainted and won't wake up"
    ],
)
def test_recognises_emergencies(detector: EmergencyDetector, bundled: FaqSet, text: str, kind: str) -> None:
    analysed = bundled.normalizer().analyse(text)
    found = detector.detect([t for _, t in analysed], [w for w, _ in analysed])
    assert found is not None and found.id == kind


@pytest.mark.parametrize(
    "text",
    [
        "I keep falling",
        "what can a physio do about my falls",
        "i'm scared of falling",
        "it's hard to get up out of my chair",
        "my back is killing me",
        "can my pt help me pick a mobility aid",
        "how do i get a disabled parking permit",
        "active is sisted exercise",
        "what resources in my community can help me keep up with what i learn in pt",
        "i've been coding all day and my hands are stiff",
        "i get out of breath when i exercise",
        "i find it hard to walk",  # "find" sounds like "fainted", but alone is not enough
        "can you help me find a physio near me",
        "is cutting back on exercise bad for me",
        # Near the signs added for spoken emergencies, but questions.
        "my husband cant move his legs at all can the therapist exercise them for him",
        "my wife can't move on her own can the exercises be done for her",
        "my face gets tired when i talk",
        "i can't stand floor exercises",
    ],
)
def test_ordinary_questions_are_not_emergencies(
    detector: EmergencyDetector, bundled: FaqSet, text: str
) -> None:
    analysed = bundled.normalizer().analyse(text)
    assert detector.detect([t for _, t in analysed], [w for w, _ in analysed]) is None


@pytest.mark.parametrize(
    ("text", "min_words", "kind"),
    [
        ("what is passive exercise suicide", 1, "self-harm"),
        ("what is passive exercise suicide", 2, None),  # one word: often invented over noise
        ("exercise call an ambulance", 2, None),  # copied from whisper's prompt over noise
        ("somebody called 911", 2, "urgent"),
        ("she went wake up", 2, "urgent"),  # "won't wake up" as recognisers hear it
        ("i want to kill myself", 2, "self-harm"),
        ("my wife fell and can't get up", 2, "fall"),  # words from two groups add up
        ("i've been coding myself", 2, "self-harm"),
    ],
)
def test_min_words_asks_for_longer_triggers(
    detector: EmergencyDetector, bundled: FaqSet, text: str, min_words: int, kind: str | None
) -> None:
    analysed = bundled.normalizer().analyse(text)
    found = detector.detect([t for _, t in analysed], [w for w, _ in analysed], min_words)
    assert (found.id if found else None) == kind


def test_nothing_the_set_asks_or_says_is_an_emergency(detector: EmergencyDetector, bundled: FaqSet) -> None:
    normalizer = bundled.normalizer()
    alarms = []
    for entry in bundled.entries:
        # Answers too: the microphone hears them while they are spoken (the dialogue also
        # ignores echoes, but an answer that raised the alarm would be a bad content error).
        for text in (entry.question, *entry.phrasings, *entry.keywords, entry.answer, entry.details or ""):
            analysed = normalizer.analyse(text)
            if detector.detect([t for _, t in analysed], [w for w, _ in analysed]) is not None:
                alarms.append(text)
    assert alarms == []
