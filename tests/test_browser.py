"""The kiosk page in a real browser: `voicefaq serve` on a free port, the system Chromium
driven by Playwright with a fake microphone that plays a question spoken by espeak-ng, and
the page operated with the keyboard only (Tab, Space, Enter, Escape).

Chromium comes from the system package `chromium` (`make test` installs it); Playwright's
own browser download is never used. Waits are on page state, never fixed sleeps: a slow
2-core machine only makes them longer. The screenshot goes to tests/artifacts/browser/.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from tests.conftest import scaled
from voice.core.config import default_answers_dir
from voice.core.faq import FaqSet, load_set

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts" / "browser"
QUESTION = "can my physical therapist help me choose a walking aid"
"""Whisper hears this (espeak-ng, 140 words a minute) as the entry below, with a clear lead."""
ENTRY = "mobility-aids"
LEADING_SILENCE_S = scaled(10.0, cap=40.0)
"""The fake microphone starts with the page's first press; the greeting is stopped before
the question begins: 10 s on an idle machine, longer on a busy one."""
TRAILING_SILENCE_S = 4.0
STEP_MS = int(scaled(90) * 1000)
"""Milliseconds to wait for one step (a reply to be heard, played, answered)."""
MIN_CONTRAST = 7.0
MIN_TEXT_PX = 32.0

pytestmark = [
    pytest.mark.browser,
    pytest.mark.whisper,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs /usr/bin/chromium (`make test` installs it where Debian packages it)",
    ),
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng (make setup installs it)"),
]


@pytest.fixture(scope="module")
def faq_set() -> FaqSet:
    return load_set(default_answers_dir())


@pytest.fixture(scope="module")
def question_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The question as the fake microphone plays it: silence, the words, silence."""
    folder = tmp_path_factory.mktemp("browser")
    spoken = folder / "spoken.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(spoken), QUESTION], check=True)
    samples, rate = soundfile.read(spoken, dtype="int16")
    padded = np.concatenate(
        [
            np.zeros(int(LEADING_SILENCE_S * rate), np.int16),
            samples,
            np.zeros(int(TRAILING_SILENCE_S * rate), np.int16),
        ]
    )
    path = folder / "question.wav"
    soundfile.write(path, padded, rate, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """`voicefaq serve` on a free port; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "voice", "serve", "--port", "0", "--no-review"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    found = threading.Event()
    url: list[str] = []
    log: list[str] = []

    def read(stream: Any) -> None:  # keeps draining the log so the server never blocks on it
        for line in stream:
            log.append(line)
            address = re.search(r"serving .* on (http://\S+/)", line)
            if address and not url:
                url.append(address.group(1))
                found.set()
        found.set()

    threading.Thread(target=read, args=(process.stderr,), daemon=True).start()
    try:
        assert found.wait(scaled(120)) and url, "voicefaq serve did not start:\n" + "".join(log)
        yield url[0]
    finally:
        process.terminate()
        process.wait(scaled(30))
        process.stderr.close()
    assert not [line for line in log if "Traceback" in line or line.startswith("ERROR")], "".join(log)


@pytest.fixture(scope="module")
def browser(question_wav: Path) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install -e '.[dev]')")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",  # as root in a container, Chromium's sandbox cannot start
                "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={question_wav}%noloop",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield chromium
        chromium.close()


class Console:
    """Everything the page logs, and its uncaught errors."""

    def __init__(self, page: Any) -> None:
        self.messages: list[str] = []
        page.on("console", lambda message: self.messages.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.messages.append(f"pageerror: {error}"))

    def problems(self) -> list[str]:
        return [m for m in self.messages if m.startswith(("error", "pageerror")) or "Content Security" in m]


def _wait(page: Any, expression: str, what: str) -> None:
    """Polls `expression` in the page until it is true. Playwright's wait_for_function would
    need eval(), which the page's Content-Security-Policy rightly refuses."""
    deadline = time.monotonic() + STEP_MS / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            state = page.evaluate(
                "({...document.body.dataset, heard: document.getElementById('heard')?.textContent})"
            )
            raise AssertionError(f"timed out waiting for {what}; the page: {state}")
        page.wait_for_timeout(100)


def _data(page: Any, name: str) -> int:
    return int(page.evaluate(f"Number(document.body.dataset.{name} || 0)"))


def _wait_data(page: Any, name: str, least: int) -> None:
    _wait(page, f"Number(document.body.dataset.{name} || 0) >= {least}", f"data-{name} >= {least}")


def _tab_to(page: Any, selector: str) -> None:
    """Tab through the page until `selector` has the focus."""
    for _ in range(30):
        if page.evaluate(f"document.activeElement === document.querySelector({selector!r})"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


# The contrast ratio of an element's text on its (first opaque) background, WCAG 2.
_CONTRAST_JS = """element => {
  const rgb = text => text.match(/[\\d.]+/g).slice(0, 4).map(Number);
  const luminance = ([r, g, b]) => {
    const channel = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  let background = null;
  for (let node = element; node && !background; node = node.parentElement) {
    const color = rgb(getComputedStyle(node).backgroundColor);
    if (color.length < 4 || color[3] > 0) background = color;
  }
  const [a, b] = [luminance(rgb(getComputedStyle(element).color)), luminance(background || [255, 255, 255])];
  return {
    contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
    size: parseFloat(getComputedStyle(element).fontSize),
    height: element.getBoundingClientRect().height,
  };
}"""


def test_a_spoken_question_is_answered_aloud_and_captioned_by_keyboard_alone(
    browser: Any, server: str, faq_set: FaqSet
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    console = Console(page)
    # The page returns to its start screen after 120 s without speech; a busy machine can take
    # longer than that to hear the question (whisper runs at the lowest priority).
    response = page.goto(f"{server}?idle={round(scaled(120, cap=3600))}")
    assert response is not None and response.ok
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.get_attribute("#captions", "aria-live") == "polite"

    _tab_to(page, "#talk")
    page.keyboard.press("Space")  # start: microphone, socket, greeting
    _wait_data(page, "started", 1)
    page.keyboard.press("Space")  # the big button stops the greeting, so the question counts
    _wait_data(page, "stopped", 1)

    entry = faq_set.entry(ENTRY)
    decided = f"document.body.dataset.entry === {ENTRY!r} && document.body.dataset.decision === 'answer'"
    _wait(page, decided, f"the decision to answer {ENTRY}")
    _wait(page, f"document.getElementById('answer').textContent === {entry.answer!r}", "the answer's caption")
    assert page.text_content("#heard").startswith("I heard: ")
    _wait_data(page, "playedAnswer", 1)  # the reply's audio played to its end

    # After the answer the follow-ups are offered as buttons, and said: the answer stays the
    # caption, the follow-up is shown below it, smaller.
    page.wait_for_selector("#offer:not([hidden]) #choices button", timeout=STEP_MS)
    choice = page.text_content("#choices button")
    assert choice is not None
    _wait(
        page, f"document.getElementById('prompt').textContent.includes({choice!r})", "the follow-up's caption"
    )
    assert page.is_visible("#answer") and page.text_content("#answer") == entry.answer
    assert page.get_attribute("#answer", "data-kind") == "answer"
    answer_look, prompt_look = (page.eval_on_selector(s, _CONTRAST_JS) for s in ("#answer", "#prompt"))
    assert (
        prompt_look["contrast"] >= MIN_CONTRAST and MIN_TEXT_PX <= prompt_look["size"] < answer_look["size"]
    )
    answer_box, prompt_box = page.locator("#answer").bounding_box(), page.locator("#prompt").bounding_box()
    assert answer_box and prompt_box and prompt_box["y"] >= answer_box["y"] + answer_box["height"], "below it"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "kiosk.png"), full_page=True)
    _wait_data(page, "playedFollowUp", 1)
    assert page.text_content("#answer") == entry.answer, "the answer stays once the follow-up is said"
    follow_up = next(e for e in faq_set.entries if e.question == choice)
    _tab_to(page, "#choices button")
    started = _data(page, "started")
    page.keyboard.press("Enter")
    _wait(
        page, f"document.getElementById('answer').textContent === {follow_up.answer!r}", "the chosen answer"
    )
    assert page.is_hidden("#prompt"), "a new answer replaces the follow-up too"
    _wait_data(page, "started", started + 1)
    stopped = _data(page, "stopped")
    page.keyboard.press("Escape")  # stops the speech at once
    _wait_data(page, "stopped", stopped + 1)

    # Readable from a distance: contrast of at least 7:1, text of at least 32 px, big targets.
    for selector in ("#status", "#heard", "#answer", "#talk", "[data-command='repeat']", "#choices button"):
        look = page.eval_on_selector(selector, _CONTRAST_JS)
        assert look["contrast"] >= MIN_CONTRAST and look["size"] >= MIN_TEXT_PX, (selector, look)
        assert look["height"] >= 44, (selector, look)
    _tab_to(page, "[data-command='stop']")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid", "the focused button must show its focus"
    assert console.problems() == []
    page.close()


def test_an_idle_page_returns_to_the_start_screen_and_ends_its_session(browser: Any, server: str) -> None:
    page = browser.new_page()
    console = Console(page)
    page.goto(server + "?idle=2")
    start_status = page.text_content("#status")
    _tab_to(page, "#talk")
    page.keyboard.press("Enter")
    _wait_data(page, "started", 1)
    page.keyboard.press("Enter")  # stop the greeting; then nothing is said or pressed
    _wait(page, "document.body.dataset.state === 'start'", "the start screen")
    assert page.text_content("#status") == start_status
    assert page.is_hidden("#heard") and page.is_hidden("#answer")
    _wait(page, "fetch('/healthz').then(r => r.json()).then(health => health.sessions === 0)", "no sessions")
    assert console.problems() == []
    page.close()
