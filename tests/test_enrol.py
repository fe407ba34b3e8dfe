"""Personal enrolment without a recogniser: the prompts, what a profile learns from
transcripts, how it is stored and deleted, and the commands that use it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from voice.audio.decode import SAMPLE_RATE, Audio
from voice.audio.vad import longest_pause_s
from voice.cli import main
from voice.conversation.commands import learn_commands, parse_command, personal_language
from voice.conversation.events import CommandName
from voice.core.config import default_answers_dir
from voice.core.faq import load_set, trigger_words
from voice.core.matcher import Decision, Matcher
from voice.core.personal import WordMap, enrol_prompts, learn_words, personalise, speaking_seconds
from voice.lang import DEFAULT_LANGUAGE
from voice.profiles import Profile, ProfileError, PromptHeard, apply_profile, delete, load, names, save


@pytest.fixture(scope="module")
def faq_set():
    return load_set(default_answers_dir())


@pytest.fixture(scope="module")
def prompts(faq_set):
    return enrol_prompts(faq_set)


def test_prompts_cover_every_command_the_wake_phrase_and_every_entry(faq_set, prompts) -> None:
    commands = {p.command for p in prompts if p.kind == "command"}
    assert commands == {*(name.value for name in CommandName), "wake"}
    assert [p.entry_id for p in prompts if p.kind == "question"] == [e.id for e in faq_set.entries]
    assert len({p.id for p in prompts}) == len(prompts)
    assert all(p.text.strip() and len(p.text.split()) <= 8 for p in prompts)


def test_prompts_take_at_most_five_minutes_for_a_slow_speaker(prompts) -> None:
    assert speaking_seconds(prompts) <= 300


def test_prompts_json_lines(capsys: pytest.CaptureFixture[str], faq_set) -> None:
    assert main(["enrol", "prompts", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == {"id": "command-stop", "text": "stop", "kind": "command"}
    questions = [line for line in lines if line["kind"] == "question"]
    assert {line["entry_id"] for line in questions} == {entry.id for entry in faq_set.entries}
    assert all(set(line) == {"id", "text", "kind", "entry_id"} for line in questions)


def _heard(prompts, **by_entry: str) -> dict[str, str]:
    return {
        p.id: by_entry[p.entry_id.replace("-", "_")]
        for p in prompts
        if p.entry_id and p.entry_id.replace("-", "_") in by_entry
    }


@pytest.mark.parametrize(
    ("entry", "heard", "learnt", "not_learnt"),
    [
        # A misheard word is learnt for the word said.
        ("pt_goals", "what is physical derapy for", {"therapy": ("derapy",)}, ()),
        # A word the set uses is never re-read as another ("walk" stays "walk").
        ("restore_walking", "will I walk a game", {}, ("walk",)),
        # Small words and lone letters are heard everywhere: never learnt.
        ("fes", "what is electrical the simulation", {}, ("the",)),
        # A pairing of unlike words is the alignment's, not the speaker's.
        ("scooter", "should I get a mobility x", {}, ("x",)),
    ],
)
def test_learn_words(faq_set, prompts, entry, heard, learnt, not_learnt) -> None:
    words = learn_words(faq_set, prompts, _heard(prompts, **{entry: heard}))
    for target, forms in learnt.items():
        assert words.heard_as.get(target) == forms
    forms_learnt = {form for forms in words.heard_as.values() for form in forms}
    assert forms_learnt.isdisjoint(not_learnt)


def test_a_form_heard_for_two_words_is_not_learnt(faq_set, prompts) -> None:
    heard = _heard(
        prompts,
        pt_goals="what is physical tirapy for",
        fatigue="I get so tirapy with MS",
    )
    assert learn_words(faq_set, prompts, heard).heard_as == {}


def test_the_profile_corrects_a_later_question(faq_set, prompts) -> None:
    heard = _heard(prompts, leg_stiffness="my legs are taffy in my wheelchair")
    personal = personalise(faq_set, learn_words(faq_set, prompts, heard))
    question = "why are my legs so taffy"
    assert Matcher(personal).match(question).entry.id == "leg-stiffness"  # type: ignore[union-attr]
    assert Matcher(faq_set).standings(question)[0].entry_id != "leg-stiffness"
    assert personal.base is faq_set


def test_a_profile_never_hides_an_emergency(faq_set) -> None:
    # Even a map that re-reads the words of a call for help as others (which learning
    # never makes) leaves the emergency found: the set's own reading is checked too.
    hiding = WordMap({"posture": ("fallen",), "walk": ("get up",)})
    plain, personal = Matcher(faq_set), Matcher(personalise(faq_set, hiding))
    for call in ("I've fallen and I can't get up", "I have chest pain"):
        assert plain.match(call).decision is Decision.EMERGENCY
        assert personal.match(call).decision is Decision.EMERGENCY


@pytest.mark.parametrize(
    ("heard", "learnt"),
    [
        ({"stop": "D-H top."}, {"stop": ("d h top",)}),
        ({"stop": "Stop."}, {}),  # understood already
        ({"no": "Yes."}, {}),  # another command's phrase
        ({"slower": "The H lower.", "faster": "The H lower."}, {}),  # heard the same for two
        ({"help": "help me I have fallen"}, {}),  # an emergency's words
        ({"wake": "hey hellberg"}, {}),  # not a command
    ],
)
def test_learn_commands(heard, learnt, faq_set) -> None:
    assert learn_commands(heard, DEFAULT_LANGUAGE, trigger_words(faq_set.emergencies)) == learnt


def test_personal_command_forms_are_understood_as_whole_utterances() -> None:
    language = personal_language(DEFAULT_LANGUAGE, {"stop": ("d h top",)})
    assert parse_command("D-H top.", language) is CommandName.STOP
    assert parse_command("D-H top.", DEFAULT_LANGUAGE) is None
    assert parse_command("can I d h top exercising", language) is None
    assert parse_command("stop", language) is CommandName.STOP


def _profile(name: str = "anna", pauses: tuple[float, ...] = ()) -> Profile:
    heard = [PromptHeard("question-leg-stiffness", "my legs are taffy in my wheelchair", None)]
    heard += [
        PromptHeard(f"command-{n}", n, pause)
        for n, pause in zip(("stop", "help", "yes", "no", "more"), pauses, strict=False)
    ]
    return Profile(name, "ms-physical-therapy", tuple(heard), skipped=("command-goodbye",))


def test_profile_round_trip_list_and_delete(tmp_path: Path) -> None:
    profile = _profile(pauses=(0.4, 0.9, 1.2))
    path = save(profile, tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "my legs are taffy in my wheelchair" in text and "voicefaq profile delete anna" in text
    assert load("anna", tmp_path) == profile
    assert list(names(tmp_path)) == ["anna"]
    (path.parent / "audio").mkdir()
    (path.parent / "audio" / "command-stop.wav").write_bytes(b"RIFF")
    delete("anna", tmp_path)
    assert not path.parent.exists()
    assert list(names(tmp_path)) == []


@pytest.mark.parametrize("name", ["../etc", "Anna", "", "a" * 41, "a/b", ".hidden"])
def test_profile_names_are_checked(name: str, tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="not usable"):
        save(_profile(name), tmp_path)


@pytest.mark.parametrize("content", ["prompts: 3\n", "[unclosed\n", "prompts:\n  - heard: x\n", "\xff\xfe"])
def test_a_damaged_profile_says_how_to_fix_it(content: str, tmp_path: Path) -> None:
    folder = tmp_path / "anna"
    folder.mkdir()
    (folder / "profile.yaml").write_bytes(content.encode("latin-1"))
    with pytest.raises(ProfileError, match="enrol again with `voicefaq enrol --profile anna`"):
        load("anna", tmp_path)


@pytest.mark.parametrize(
    ("pauses", "end_silence"),
    [((), None), ((0.2, 0.3, 0.1), 1.5), ((0.9, 1.0, 1.2), 1.8), ((3.0, 4.0, 6.0), 5.0)],
)
def test_end_silence_follows_the_persons_pauses(pauses, end_silence) -> None:
    assert _profile(pauses=pauses).end_silence_s() == end_silence


def test_longest_pause_between_words() -> None:
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(int(0.4 * SAMPLE_RATE)) / SAMPLE_RATE)
    gap = np.zeros(int(1.2 * SAMPLE_RATE))
    samples = np.concatenate([gap[:8000], tone, gap, tone, gap[:8000]]).astype(np.float32)
    assert longest_pause_s(Audio(samples, SAMPLE_RATE, 1)) == pytest.approx(1.2, abs=0.1)


def test_cli_profile_list_show_delete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save(_profile(pauses=(0.4, 0.9, 1.2)), tmp_path)
    directory = ["--profile-dir", str(tmp_path)]
    assert main(["profile", "list", *directory]) == 0
    assert capsys.readouterr().out.split() == ["anna"]
    assert main(["profile", "show", "anna", "--json", *directory]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["words"] == {"stiff": ["taffy"]} and shown["skipped"] == ["command-goodbye"]
    assert shown["audio_kept"] is False and shown["end_silence_s"] == 1.8
    assert (
        main(["ask", "--json", "--profile", "anna", *directory, "why are my legs so taffy in my wheelchair"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["entry_id"] == "leg-stiffness"
    assert main(["profile", "delete", "anna", *directory]) == 0
    assert not (tmp_path / "anna").exists()
    assert main(["profile", "delete", "anna", *directory]) == 1
    assert "no voice profile named 'anna'" in capsys.readouterr().err


def test_ask_with_a_missing_profile_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "--profile", "bob", "--profile-dir", str(tmp_path), "what is physio"]) == 1
    assert "`voicefaq enrol --profile bob`" in capsys.readouterr().err


def test_apply_profile_from_another_set_keeps_what_fits(faq_set) -> None:
    profile = Profile("x", "another-set", (PromptHeard("question-no-such-entry", "zzz", None),))
    assert apply_profile(faq_set, profile).heard_as == faq_set.heard_as


@pytest.mark.parametrize(
    ("heard", "prompt_text", "control"),
    [
        ("Again.", "repeat", "again"),
        ("Scoop.", "repeat", "skip"),  # how whisper writes a lone "skip"
        ("Keep.", "repeat", "skip"),  # ... and without its quiet "s"
        ("skip this one", "repeat", "skip"),
        ("Stop!", "help", "stop"),
        ("Stop!", "stop", None),  # the prompt said, not the end
        ("Stub.", "stop", None),
        ("Repeat.", "repeat", None),
        ("What is passive exercise?", "what is passive exercise", None),
        ("stop the exercise", "help", None),
    ],
)
def test_enrolment_control_words(heard: str, prompt_text: str, control: str | None) -> None:
    from voice.core.personal import EnrolPrompt
    from voice.terminal.enrol import control_word

    prompt = EnrolPrompt("command-x", prompt_text, "command", command="x")
    assert control_word(heard, prompt, ("again", "skip", "stop")) == control


def test_damaged_command_sounds_are_named(tmp_path: Path) -> None:
    save(_profile(), tmp_path)
    (tmp_path / "anna" / "commands.npz").write_bytes(b"not an archive")
    with pytest.raises(ProfileError, match=r"commands\.npz is damaged .*voicefaq profile delete anna"):
        load("anna", tmp_path)


def test_an_unwritable_profile_place_fails_before_enrolment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    assert (
        main(["enrol", "--profile", "anna", "--profile-dir", str(blocker), "--recordings", str(tmp_path)])
        == 1
    )
    err = capsys.readouterr().err
    assert "cannot write the profile" in err and "--profile-dir" in err and "Traceback" not in err


def test_a_profile_that_is_a_link_is_not_followed_on_delete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    save(_profile(), elsewhere)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "anna").symlink_to(elsewhere / "anna")
    assert main(["profile", "delete", "anna", "--profile-dir", str(profiles)]) == 1
    assert "could not delete" in capsys.readouterr().err
    assert (elsewhere / "anna" / "profile.yaml").is_file()


def test_an_oversized_profile_is_refused(tmp_path: Path) -> None:
    save(_profile(), tmp_path)
    (tmp_path / "anna" / "profile.yaml").write_text("prompts: []\n" + "#" * 2_000_000)
    with pytest.raises(ProfileError, match="too big"):
        load("anna", tmp_path)


def test_the_assistant_reads_with_the_profile(tmp_path: Path) -> None:
    from voice.assistant import Assistant

    profile = _profile(pauses=(0.4, 0.9, 1.2))
    wiring = Assistant(profile=profile)
    assert wiring.end_silence_s == 1.8
    assert wiring.faq_set.base is not None
    assert wiring.matcher.match("why are my legs so taffy in my wheelchair").decision is not Decision.FALLBACK
    assert Assistant().end_silence_s is None


@pytest.fixture(scope="module")
def enrolled_question(faq_set, prompts):
    """A set that knows how one person's question about the point of physical therapy is
    heard: as words that mean nothing to anyone else."""
    from voice.core.personal import learn_phrasings, matcher_for

    heard = _heard(prompts, pt_goals="Walkers, D, bind, fizzle, garage, four.")
    return matcher_for(
        personalise(faq_set, learn_words(faq_set, prompts, heard), learn_phrasings(prompts, heard))
    )


@pytest.mark.parametrize(
    ("question", "answered"),
    [
        # Asked again, heard much the same: answered.
        ("Walkers, D, bind, fizzle, garage, four.", True),
        ("walkers d bind fizzle garage", True),
        # Only sounding a little like it: asked about at most, never answered.
        ("fizzle garage four", False),
        ("walkers d bind of my garage door", False),
    ],
)
def test_an_enrolled_question_asked_again_is_answered(enrolled_question, faq_set, question, answered) -> None:
    from voice.core.personal import PersonalMatcher

    assert isinstance(enrolled_question, PersonalMatcher)
    assert Matcher(faq_set).match(question).decision is Decision.FALLBACK
    match = enrolled_question.match(question)
    assert (match.decision is Decision.ANSWER) is answered
    assert match.entry is None or match.entry.id == "pt-goals"
    assert all(candidate.entry_id == "pt-goals" for candidate in match.offered)


def test_learn_phrasings_keeps_questions_of_two_words_or_more(prompts) -> None:
    from voice.core.personal import learn_phrasings

    heard = _heard(prompts, fatigue="Tired.", pain="Can't fit the lobe, help my pain.")
    assert learn_phrasings(prompts, heard) == {"pain": ("Can't fit the lobe, help my pain.",)}


def test_profiles_live_under_xdg_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from voice.profiles import profiles_dir

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert profiles_dir() == tmp_path / "voicefaq" / "profiles"
    assert save(_profile()) == tmp_path / "voicefaq" / "profiles" / "anna" / "profile.yaml"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert profiles_dir() == tmp_path / "home" / ".local" / "share" / "voicefaq" / "profiles"


def test_a_failed_enrolment_leaves_no_empty_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "recordings"
    empty.mkdir()
    assert (
        main(["enrol", "--profile", "anna", "--recordings", str(empty), "--profile-dir", str(tmp_path / "p")])
        == 1
    )
    assert "none of the 56 prompts has a usable recording" in capsys.readouterr().err
    assert list((tmp_path / "p").iterdir()) == []


def test_the_kiosk_service_reads_with_the_profile() -> None:
    from fastapi.testclient import TestClient

    from voice.service.app import create_app
    from voice.service.runtime import Runtime

    question = {"text": "why are my legs so taffy in my wheelchair"}
    decided = {}
    for name, profile in (("none", None), ("anna", _profile(pauses=(0.4, 0.9, 1.2)))):
        runtime = Runtime(default_answers_dir(), profile=profile)
        with TestClient(create_app(runtime, warm_up=False), base_url="http://localhost") as client:
            response = client.post("/api/ask", json=question)
        assert response.status_code == 200
        decided[name] = response.json()
    assert decided["anna"]["entry_id"] == "leg-stiffness"
    assert decided["none"]["entry_id"] != "leg-stiffness"
