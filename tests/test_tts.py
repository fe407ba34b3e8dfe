"""Speech out: sentence splitting, what espeak-ng is given, synthesis with pyttsx3, WAV files, cues."""

import io
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile

from voice.conversation.events import VoiceSettings
from voice.errors import OutputFileError, SpeechError
from voice.speech.tts import (
    CUES,
    ESPEAK_RATE,
    MAX_WORDS,
    Speech,
    Synthesizer,
    cue,
    load_synthesizer,
    sentences,
    silence,
    speakable,
    wav_bytes,
    write_wav,
)

PHYSIATRIST = (
    "No. A physiatrist is a doctor who specializes in rehabilitation medicine and usually works in a "
    "rehabilitation center or clinic. Physical therapy is a separate specialty, more narrowly focused "
    "on physical or assistive ways to address symptoms and disabilities."
)
LONG = (
    "If you use a wheelchair you can still exercise your arms, shoulders and trunk, and a physical "
    "therapist can show you how; chair yoga, resistance bands and light weights all help, and "
    "stretching your legs with help from a partner keeps them flexible, which makes transfers easier."
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes.", ["Yes."]),
        (
            PHYSIATRIST,
            [
                "No. A physiatrist is a doctor who specializes in rehabilitation medicine and usually "
                "works in a rehabilitation center or clinic.",
                "Physical therapy is a separate specialty, more narrowly focused on physical or "
                "assistive ways to address symptoms and disabilities.",
            ],
        ),
        (
            "Ask Dr. Lee about aids, e.g. a cane. Walk for 2.5 km a day. Is it safe? Yes!",
            ["Ask Dr. Lee about aids, e.g. a cane.", "Walk for 2.5 km a day.", "Is it safe? Yes!"],
        ),
        (
            "Canes, walkers, etc. are all options. Ask about room No. 5 today.",
            ["Canes, walkers, etc. are all options.", "Ask about room No. 5 today."],
        ),
        (
            "Three steps help:\n1. Stretch every morning.\n2. Walk after lunch.\n3. Rest when tired.",
            ["Three steps help:", "1. Stretch every morning.", "2. Walk after lunch.", "3. Rest when tired."],
        ),
        (
            "Aids to ask about:\n- a cane\n- a forearm crutch\n- a rollator walker",
            ["Aids to ask about:", "a cane. a forearm crutch.", "a rollator walker."],
        ),
        (
            'She said "Stretch daily." Then she left the room.',
            ['She said "Stretch daily."', "Then she left the room."],
        ),
        ("  \n ", []),
    ],
)
def test_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_long_sentences_split_at_punctuation_into_short_chunks() -> None:
    chunks = sentences(LONG)
    assert len(chunks) >= 2
    assert all(len(chunk.split()) <= MAX_WORDS for chunk in chunks)
    assert chunks[0].endswith(";")  # the semicolon is preferred to a comma
    assert " ".join(chunks) == LONG  # nothing lost or reordered


def test_a_long_sentence_without_punctuation_still_splits() -> None:
    text = " ".join(["word"] * 75)
    chunks = sentences(text)
    assert all(len(chunk.split()) <= MAX_WORDS for chunk in chunks)
    assert " ".join(chunks) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call 911 now.", "Call 9 1 1 now."),
        ("call or text 988, the lifeline", "call or text 9 8 8, the lifeline"),
        ("Call 1-800-344-4867 today", "Call 1, 8 0 0, 3 4 4, 4 8 6 7 today"),
        ("Room 9110, 911.5 mg and 2.5 km", "Room 9110, 911.5 mg and 2.5 km"),
    ],
)
def test_speakable_reads_service_and_phone_numbers_digit_by_digit(text: str, expected: str) -> None:
    assert speakable(text) == expected


@pytest.fixture(scope="module")
def synthesizer() -> Synthesizer:
    return load_synthesizer()


def _rms(speech: Speech) -> float:
    return float(np.sqrt(np.mean(np.square(speech.samples))))


def test_synthesizes_mono_float_speech(synthesizer: Synthesizer) -> None:
    speech = synthesizer.synthesize("Stretching helps spasticity.", VoiceSettings())
    assert speech.sample_rate == ESPEAK_RATE and speech.samples.dtype == np.float32
    assert speech.samples.ndim == 1 and np.abs(speech.samples).max() <= 1.0
    assert 1.0 < speech.seconds < 4.0 and _rms(speech) > 0.02
    assert speech.text == "Stretching helps spasticity."


def test_rate_volume_and_voice_change_the_sound(synthesizer: Synthesizer) -> None:
    text = "Your physical therapist can help you choose a walker."
    normal = synthesizer.synthesize(text, VoiceSettings(rate=150, volume=0.8))
    slow = synthesizer.synthesize(text, VoiceSettings(rate=100, volume=0.8))
    soft = synthesizer.synthesize(text, VoiceSettings(rate=150, volume=0.4))
    american = synthesizer.synthesize(text, VoiceSettings(rate=150, volume=0.8, voice="en-us"))
    assert 1.3 < slow.seconds / normal.seconds < 1.7
    assert 0.4 < _rms(soft) / _rms(normal) < 0.6  # espeak-ng scales the samples by the volume
    assert not np.array_equal(american.samples[:2000], normal.samples[:2000])


def _same_sound(a: Speech, b: Speech) -> bool:
    """espeak-ng's output varies by a few samples from call to call: compare length and level."""
    return abs(a.seconds - b.seconds) < 0.01 * a.seconds and abs(_rms(a) - _rms(b)) < 0.03 * _rms(a)


def test_settings_do_not_stick_between_calls(synthesizer: Synthesizer) -> None:
    text = "Aerobic exercise can help reduce fatigue."
    before = synthesizer.synthesize(text, VoiceSettings())
    changed = synthesizer.synthesize(text, VoiceSettings(rate=80, volume=0.2, voice="en-gb-scotland"))
    after = synthesizer.synthesize(text, VoiceSettings())
    assert not _same_sound(before, changed)
    assert _same_sound(before, after)


def test_concurrent_calls_are_serialised(synthesizer: Synthesizer) -> None:
    """Each thread gets its own text at its own rate: nothing crossed over between calls."""
    jobs = [(" ".join(["walking aids"] * (n + 1)) + ".", VoiceSettings(rate=100 + 30 * n)) for n in range(5)]
    expected = [synthesizer.synthesize(text, settings) for text, settings in jobs]
    results: list[Speech | None] = [None] * len(jobs)

    def speak(n: int) -> None:
        results[n] = synthesizer.synthesize(*jobs[n])

    threads = [threading.Thread(target=speak, args=(n,)) for n in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result, wanted in zip(results, expected, strict=True):
        assert result is not None and result.text == wanted.text and _same_sound(result, wanted)


def test_unknown_voice_lists_some_voices(synthesizer: Synthesizer) -> None:
    with pytest.raises(SpeechError, match=r"unknown voice 'no-such-voice'; voices include .*en-us.*--voices"):
        synthesizer.synthesize("Hello there.", VoiceSettings(voice="no-such-voice"))
    assert synthesizer.synthesize("Hello there.", VoiceSettings()).seconds > 0.5  # still usable


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_is_refused(synthesizer: Synthesizer, text: str) -> None:
    with pytest.raises(SpeechError, match="nothing to say"):
        synthesizer.synthesize(text, VoiceSettings())


def test_long_text_in_one_call(synthesizer: Synthesizer) -> None:
    speech = synthesizer.synthesize(" ".join([LONG] * 6), VoiceSettings(rate=200))
    assert speech.seconds > 60


def test_voices_include_american_english(synthesizer: Synthesizer) -> None:
    voices = {voice.id: voice for voice in synthesizer.voices()}
    assert "en-us" in voices["gmw/en-us"].languages
    assert len(voices) > 20


def test_prints_nothing_on_standard_output(
    synthesizer: Synthesizer, capfd: pytest.CaptureFixture[str]
) -> None:
    synthesizer.synthesize("Quiet please.", VoiceSettings())
    assert capfd.readouterr().out == ""  # pyttsx3's "Audio saved to ..." would break --json


def test_wav_round_trip(tmp_path: Path) -> None:
    speech = cue("listening")
    data, rate = soundfile.read(io.BytesIO(wav_bytes(speech)), dtype="float32")
    assert rate == speech.sample_rate and len(data) == len(speech.samples)
    assert np.abs(data - speech.samples).max() < 1e-4
    target = tmp_path / "cue.wav"
    write_wav(speech, target)
    info = soundfile.info(target)
    assert (info.samplerate, info.channels, info.subtype) == (speech.sample_rate, 1, "PCM_16")
    assert [p.name for p in tmp_path.iterdir()] == ["cue.wav"]  # no temporary file left


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("missing/reply.wav", "does not exist; create the folder first"),
        ("a-file/reply.wav", "is not a folder"),
        (".", "is a folder; give a file name"),
    ],
)
def test_write_wav_explains_bad_paths(tmp_path: Path, where: str, message: str) -> None:
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(OutputFileError, match=message):
        write_wav(silence(0.1), tmp_path / where)


@pytest.mark.parametrize("name", CUES)
def test_cues_are_short_soft_and_click_free(name: str) -> None:
    sound = cue(name)
    assert 0.15 <= sound.seconds <= 0.3 and sound.text == ""
    assert 0.1 < np.abs(sound.samples).max() <= 0.3
    assert abs(sound.samples[0]) < 0.01 and abs(sound.samples[-1]) < 0.01
    assert cue(name, 48_000).sample_rate == 48_000


def _dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()])


def test_listening_cue_rises_and_still_listening_is_low() -> None:
    chime = cue("listening")
    half = len(chime.samples) // 2
    assert _dominant_hz(chime.samples[:half], chime.sample_rate) < _dominant_hz(
        chime.samples[half:], chime.sample_rate
    )
    low = cue("still_listening")
    assert _dominant_hz(low.samples, low.sample_rate) < 500


def test_unknown_cue() -> None:
    with pytest.raises(ValueError, match="unknown cue 'beep'; cues: listening, still_listening"):
        cue("beep")


def test_silence() -> None:
    pause = silence(0.5, 16_000)
    assert pause.seconds == 0.5 and not pause.samples.any()
    with pytest.raises(ValueError):
        silence(-1)
