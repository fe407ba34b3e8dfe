"""Turns to answer: the recorded spoken dev set replayed through the real dialogue, with a
scripted person who answers "Do you mean ...?" and asks once more when it goes wrong.

    .venv/bin/python -m tools.turns [--heard FILE] [--answers DIR]

Each in-scope clip starts a fresh conversation (voice.conversation.dialogue, driven as the
front ends drive it: the shell's match of the transcript comes with the words, and every
reply is played to its end). The person:

1. asks the question: the recorded transcript (tests/fixtures/spoken-dev-heard.jsonl);
2. when asked to confirm and a right entry is offered, says "yes" (one offered) or "the
   first" / "the second" (two offered): one more turn;
3. when the reply is anything but the right answer (a wrong answer, a fallback, an
   emergency, a confirmation without the right entry), asks again once, with the same
   transcript (a repeat sounds alike and is heard alike), then gives up.

Turns count what the person says until the right answer is heard; a give-up counts as
GIVE_UP_TURNS and is also reported as a share. Words count what the assistant says before
the right answer starts (confirmations, wrong answers and their follow-ups, fallbacks),
over the clips that reach it. Deterministic: no recogniser runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.spoken_plan import CONDITIONS
from tools.transcripts import HEARD, ROOT, Heard, decide, read_heard
from voice.conversation import events
from voice.conversation.dialogue import Dialogue
from voice.conversation.events import Action, Event, Offer, Speak, SpeechDone, SpeechKind, Started
from voice.core.faq import FaqSet
from voice.core.matcher import Match, Matcher

GIVE_UP_TURNS = 4
"""What a give-up counts as: the most a person says here (question, reply, question, reply)."""
ASKS = 2
"""The question is asked at most this often (once more after a miss), then the person gives up."""
PICKS = {1: ("yes",), 2: ("the first", "the second")}
"""What the person says to pick the right entry, by how many were offered and its place."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One clip's conversation."""

    file: str
    condition: str
    turns: int
    """Utterances the person said until the right answer was heard (GIVE_UP_TURNS on a give-up)."""
    gave_up: bool
    words: int
    """Words the assistant spoke before the right answer (all it said, on a give-up)."""
    said: tuple[str, ...]
    """The conversation, for reading: "person: ..." and "assistant: ..." lines."""
    confirmations: tuple[int, ...] = ()
    """The words of each confirmation question the assistant asked ("Do you mean ...?")."""


class _Conversation:
    """One Dialogue, fed one event a second; every Speak is played to its end."""

    def __init__(self, faq_set: FaqSet, matcher: Matcher) -> None:
        self.dialogue = Dialogue(faq_set, matcher)
        self.at = 0.0
        self.log: list[str] = []
        self.confirmations: list[int] = []
        self._feed(Started(self.at))  # the greeting is not counted: it comes before any question

    def _feed(self, event: Event) -> list[Action]:
        actions = self.dialogue.handle(event)
        done: list[Action] = []
        while True:
            done += actions
            spoken = [action for action in actions if isinstance(action, Speak)]
            if not spoken:
                return done
            self.at += 1.0
            actions = self.dialogue.handle(SpeechDone(spoken[-1].id, self.at))

    def say(self, text: str, match: Match | None = None) -> list[Action]:
        """What the assistant does after the person says `text` (with the shell's `match`)."""
        self.at += 1.0
        self.log.append(f"person: {text}")
        actions = self._feed(events.Heard(text, self.at, match=match))
        spoken = [action for action in actions if isinstance(action, Speak)]
        self.log += [f"assistant: {speak.text}" for speak in spoken]
        self.confirmations += [len(s.text.split()) for s in spoken if s.kind is SpeechKind.CONFIRM]
        return actions

    def outcome(self, clip: Heard, turns: int | None, words: int) -> Outcome:
        """The conversation so far: the right answer heard after `turns`, or None on a give-up."""
        gave_up = turns is None
        count = GIVE_UP_TURNS if turns is None else turns
        log, confirmations = tuple(self.log), tuple(self.confirmations)
        return Outcome(clip.file, clip.condition, count, gave_up, words, log, confirmations)


def converse(clip: Heard, faq_set: FaqSet, matcher: Matcher) -> Outcome:
    """The scripted conversation for one in-scope clip."""
    right = clip.said.acceptable
    answers = {faq_set.entry(entry_id).answer for entry_id in right if _known(faq_set, entry_id)}
    talk = _Conversation(faq_set, matcher)
    text = clip.transcript.text if clip.transcript is not None else ""
    match = decide(clip, matcher)
    turns = words = 0
    for _ in range(ASKS):
        turns += 1
        actions = talk.say(text, match)
        reached, spoken = _until_answer(actions, answers)
        words += spoken
        if reached:
            return talk.outcome(clip, turns, words)
        pick = _pick(actions, right)
        if pick is None:
            continue
        turns += 1
        reached, spoken = _until_answer(talk.say(pick), answers)
        words += spoken
        if reached:
            return talk.outcome(clip, turns, words)
    return talk.outcome(clip, None, words)


def _known(faq_set: FaqSet, entry_id: str) -> bool:
    return any(entry.id == entry_id for entry in faq_set.entries)


def _until_answer(actions: Sequence[Action], answers: set[str]) -> tuple[bool, int]:
    """Whether a right answer was spoken, and the words spoken before it (all, if none was)."""
    words = 0
    for action in actions:
        if isinstance(action, Speak):
            if action.kind is SpeechKind.ANSWER and action.text in answers:
                return True, words
            words += len(action.text.split())
    return False, words


def _pick(actions: Sequence[Action], right: frozenset[str]) -> str | None:
    """What the person says to a confirmation offering a right entry; None when none asks."""
    offers = [a for a in actions if isinstance(a, Offer) and a.kind is SpeechKind.CONFIRM]
    if not offers:
        return None
    offered = [entry_id for entry_id, _ in offers[-1].choices]
    place = next((index for index, entry_id in enumerate(offered) if entry_id in right), None)
    picks = PICKS.get(len(offered))
    if place is None or picks is None:
        return None
    return picks[place]


@dataclass(frozen=True, slots=True)
class Summary:
    clips: int
    mean_turns: float
    first_turn: float
    """Share answered right on the first turn."""
    gave_up: float
    """Share given up on."""
    mean_words: float
    """Mean words the assistant spoke before the right answer, over the clips that reached it."""
    confirm_words: float
    """Mean words of a confirmation question, over all those asked."""


def summarise(outcomes: Sequence[Outcome]) -> Summary:
    count = len(outcomes)
    reached = [o for o in outcomes if not o.gave_up]
    confirmations = [words for o in outcomes for words in o.confirmations]
    return Summary(
        count,
        sum(o.turns for o in outcomes) / count if count else 0.0,
        sum(o.turns == 1 and not o.gave_up for o in outcomes) / count if count else 0.0,
        (count - len(reached)) / count if count else 0.0,
        sum(o.words for o in reached) / len(reached) if reached else 0.0,
        sum(confirmations) / len(confirmations) if confirmations else 0.0,
    )


def in_scope(heard: Sequence[Heard]) -> list[Heard]:
    return [clip for clip in heard if clip.said.kind == "in_scope"]


def run(heard: Sequence[Heard], faq_set: FaqSet, matcher: Matcher | None = None) -> list[Outcome]:
    """Every in-scope clip of `heard` through its own conversation."""
    matcher = matcher or Matcher(faq_set)
    return [converse(clip, faq_set, matcher) for clip in in_scope(heard)]


def by_condition(outcomes: Sequence[Outcome]) -> dict[str, Summary]:
    """A summary per condition present (CONDITIONS order, then any other), then "all"."""
    names = [name for name in CONDITIONS if any(o.condition == name for o in outcomes)]
    names += sorted({o.condition for o in outcomes} - set(names))
    found = {name: summarise([o for o in outcomes if o.condition == name]) for name in names}
    found["all"] = summarise(outcomes)
    return found


def table(summaries: dict[str, Summary]) -> str:
    lines = [
        f"{'turns to answer':16} {'clips':>5} {'mean turns':>10} {'1 turn':>7} {'gave up':>7} "
        f"{'words before answer':>19} {'words a confirmation':>20}"
    ]
    for name, s in summaries.items():
        lines.append(
            f"{name:16} {s.clips:5d} {s.mean_turns:10.2f} {s.first_turn:7.0%} {s.gave_up:7.0%} "
            f"{s.mean_words:19.1f} {s.confirm_words:20.1f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from voice.core.config import default_answers_dir
    from voice.core.faq import load_set

    parser = argparse.ArgumentParser(
        prog="python -m tools.turns", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--heard", type=Path, default=HEARD, help="recorded transcripts (tools.transcripts)")
    parser.add_argument("--answers", type=Path, default=None, help="answers set (default: the bundled one)")
    parser.add_argument(
        "--show", action="store_true", help="print each conversation that took more than 1 turn"
    )
    args = parser.parse_args(argv)
    try:
        _, heard = read_heard(args.heard)
    except OSError:
        print(f"error: no {args.heard}; run `python -m tools.transcripts record` first", file=sys.stderr)
        return 1
    faq_set = load_set(args.answers or default_answers_dir())
    outcomes = run(heard, faq_set)
    if args.show:
        for outcome in outcomes:
            if outcome.turns > 1:
                print(f"{outcome.file} [{outcome.condition}], {outcome.turns} turns:")
                print("\n".join(f"  {line}" for line in outcome.said))
    source = args.heard.resolve()
    shown = source.relative_to(ROOT) if source.is_relative_to(ROOT) else source
    print(f"recorded spoken dev set ({shown}), in-scope clips, scripted person")
    print(table(by_condition(outcomes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
