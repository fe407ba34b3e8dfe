"""Accuracy floors on the spoken dev set: espeak-ng voices and speeds, babble and pink
noise at 20/10/5 dB SNR, assorted sample rates and formats (tests/spoken_set.py).

These floors guard against regressions at the level reached today with whisper
tiny.en; they are below the issue's targets for real voices (90% reached, at most 3%
wrong, 90% of out-of-scope not answered, every emergency recognised). Synthetic
espeak voices under competing espeak babble are harder for whisper than people are.
"""

from pathlib import Path

import pytest

from tests.quality import DATA, Report, evaluate_spoken
from tests.spoken_set import Clip, build
from voice.asr import load_recognizer, speech_prompt, speech_vocabulary
from voice.faq import load_set
from voice.matcher import Matcher

pytestmark = [pytest.mark.whisper, pytest.mark.slow]

SPOKEN_DIR = Path(__file__).parent / "artifacts" / "spoken-dev"
# set: (in-scope reached, most wrong answers, out-of-scope not answered, emergencies recognised)
FLOORS = {
    "clean and 20 dB": (0.78, 0.03, 0.9, 0.7),
    "all": (0.62, 0.03, 0.9, 0.5),
}


def _easy(clip: Clip) -> bool:
    return clip.noise == "clean" or clip.snr_db == 20


@pytest.fixture(scope="module")
def reports(bundled_set: Path) -> dict[str, Report]:
    faq_set = load_set(bundled_set)
    recognizer = load_recognizer("whisper", None, speech_vocabulary(faq_set), speech_prompt(faq_set))
    matcher = Matcher(faq_set)
    clips = build(SPOKEN_DIR, DATA / "dev.jsonl")
    easy = evaluate_spoken(recognizer, matcher, [clip for clip in clips if _easy(clip)])
    hard = evaluate_spoken(recognizer, matcher, [clip for clip in clips if not _easy(clip)])
    combined = Report(
        **{name: getattr(easy, name) + getattr(hard, name) for name in Report.__dataclass_fields__}
    )
    for name, report in (("clean and 20 dB", easy), ("10 and 5 dB", hard), ("all", combined)):
        print(f"\nspoken dev set, {name} ({report.total} clips, whisper): {report.summary()}")
    return {"clean and 20 dB": easy, "all": combined}


@pytest.mark.parametrize("subset", sorted(FLOORS))
def test_spoken_questions_meet_their_floors(reports: dict[str, Report], subset: str) -> None:
    report = reports[subset]
    reached, wrong, out_of_scope, emergencies = FLOORS[subset]
    assert report.reach_rate >= reached, report.summary()
    assert report.wrong_rate <= wrong, report.summary()
    assert report.out_of_scope_rate >= out_of_scope, report.summary()
    assert report.emergency_rate >= emergencies, report.summary()
