"""Speaking Speak actions sentence by sentence; stop cuts in; prepared sentences are reused.

The synthesiser is the real pyttsx3/espeak-ng one. The player here stands for the
speaker device (tests/test_listen.py plays through a real, virtual one): it takes a
tenth of each sentence's duration and notes what it was given.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import scaled
from voice.conversation.events import Speak, SpeechKind, VoiceSettings
from voice.speech.output import SpeechOutput
from voice.speech.tts import Speech, Synthesizer, load_synthesizer

TWO_SENTENCES = "Exercise helps strength and balance. Start slowly and rest when you need to."


class TimedPlayer:
    def __init__(self) -> None:
        self.played: list[str] = []
        self.started = threading.Event()
        self.pace = 0.1
        """Seconds of waiting per second of speech: a tenth, so that speaking is quick."""

    def play(
        self,
        speech: Speech,
        stop: threading.Event | None = None,
        on_first_sample: Callable[[], None] | None = None,
    ) -> bool:
        if on_first_sample is not None:
            on_first_sample()
        self.started.set()
        if stop is not None and stop.wait(speech.seconds * self.pace):
            return False
        self.played.append(speech.text)
        return True


class CountingSynthesizer:
    """The real synthesiser, counting its calls."""

    def __init__(self, inner: Synthesizer) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def synthesize(self, text: str, settings: VoiceSettings) -> Speech:
        self.calls.append(text)
        return self.inner.synthesize(text, settings)

    def voices(self):  # type: ignore[no-untyped-def]
        return self.inner.voices()


@pytest.fixture
def output() -> Iterator[tuple[SpeechOutput, TimedPlayer, CountingSynthesizer, list[tuple[int, bool]]]]:
    player, done = TimedPlayer(), []
    synthesizer = CountingSynthesizer(load_synthesizer())
    speech_output = SpeechOutput(synthesizer, player, lambda i, interrupted: done.append((i, interrupted)))
    speech_output.start()
    yield speech_output, player, synthesizer, done
    speech_output.close()


def _speak(speak_id: int, text: str = TWO_SENTENCES) -> Speak:
    return Speak(speak_id, text, SpeechKind.ANSWER, VoiceSettings())


def _wait(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + scaled(seconds)
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_speaks_sentence_by_sentence_and_reports_done(output) -> None:  # type: ignore[no-untyped-def]
    speech_output, player, _, done = output
    speech_output.say(_speak(1))
    _wait(lambda: done == [(1, False)])
    assert player.played == [
        "Exercise helps strength and balance.",
        "Start slowly and rest when you need to.",
    ]
    assert not speech_output.busy


def test_stop_cuts_the_sentence_and_drops_what_waits(output) -> None:  # type: ignore[no-untyped-def]
    speech_output, player, _, done = output
    # The first sentence "plays" in real time, stretched on a busy machine, so that the stop
    # lands while it plays (at a tenth, a test thread 0.25 s late would find it played).
    player.pace = scaled(1.0)
    speech_output.say(_speak(1))
    speech_output.say(_speak(2, "This waits its turn."))
    assert speech_output.busy
    assert player.started.wait(scaled(10))
    speech_output.stop()
    _wait(lambda: len(done) == 2)
    assert done == [(1, True), (2, True)]
    assert player.played == []
    player.pace = 0.1
    speech_output.say(_speak(3, "After a stop, speech goes on."))  # a stop is not sticky
    _wait(lambda: len(done) == 3)
    assert done[-1] == (3, False)


def test_a_prepared_first_sentence_is_not_synthesised_again(output) -> None:  # type: ignore[no-untyped-def]
    speech_output, _, synthesizer, done = output
    speech_output.prepare(TWO_SENTENCES, VoiceSettings())
    assert synthesizer.calls == ["Exercise helps strength and balance."]
    speech_output.say(_speak(1))
    _wait(lambda: len(done) == 1)
    assert synthesizer.calls.count("Exercise helps strength and balance.") == 1
    speech_output.prepare(TWO_SENTENCES, VoiceSettings().slower())  # other settings: other sound
    assert synthesizer.calls.count("Exercise helps strength and balance.") == 2


def test_cues_play(output) -> None:  # type: ignore[no-untyped-def]
    speech_output, player, _, _ = output
    speech_output.cue("listening")
    _wait(lambda: player.played == [""])
