import pytest

from voice.emergency import EmergencyDetector
from voice.faq import FaqSet, load_set


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
        ("i don't want to live anymore", "self-harm"),
        ("call an ambulance", "urgent"),
        ("call nine one one", "urgent"),
        ("i think he is having a stroke", "urgent"),
    ],
)
def test_recognises_emergencies(detector: EmergencyDetector, bundled: FaqSet, text: str, kind: str) -> None:
    found = detector.detect(bundled.normalizer().tokens(text))
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
    ],
)
def test_ordinary_questions_are_not_emergencies(
    detector: EmergencyDetector, bundled: FaqSet, text: str
) -> None:
    assert detector.detect(bundled.normalizer().tokens(text)) is None
