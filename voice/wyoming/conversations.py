"""Home Assistant's conversations, each a Dialogue, answered as Wyoming's handle program.

A `transcript` to the handle program carries `context.conversation_id`; each id gets a
Dialogue of its own, so "Do you mean A, or B?" is resolved by the next transcript in the
same conversation, and "more", "repeat" and "help" act on that conversation's last reply.
Conversations idle for longer than `idle_s` are dropped, and at most `max_count` are
kept (the longest idle goes first), like the kiosk's sessions.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from voice.assistant import Assistant
from voice.conversation.dialogue import Dialogue, DialogueConfig
from voice.conversation.events import Heard, Speak, SpeechDone, Started, Took, Understood
from voice.core.matcher import Decision, Match

MAX_CONVERSATIONS = 256
"""Conversations remembered at once; a new one beyond this drops the longest idle."""
IDLE_S = 300.0
"""A conversation not heard from for this long is forgotten (the dialogue's idle reset)."""
ANONYMOUS = ""
"""The conversation of transcripts that carry no conversation id."""


@dataclass(frozen=True, slots=True)
class Reply:
    """What the handle program answers: `handled` when voicefaq took the utterance on,
    `not-handled` (with the fallback text) when it is out of scope, for Home Assistant's
    own agent to try."""

    handled: bool
    text: str
    took: Took
    decision: Decision | None = None
    entry_id: str | None = None


@dataclass(slots=True)
class _Conversation:
    dialogue: Dialogue
    last_seen: float


class HeardLately:
    """Decisions for what the asr program recognised lately, by its words: Home Assistant
    passes the transcript on to the handle program as text, and this brings the spoken
    rules with it (an emergency in another reading, words the engine was unsure of)."""

    def __init__(self, max_count: int = 256, keep_s: float = 120.0) -> None:
        self.max_count = max_count
        self.keep_s = keep_s
        self._lock = threading.Lock()
        self._matches: OrderedDict[str, tuple[float, Match]] = OrderedDict()

    @staticmethod
    def key(text: str) -> str:
        return " ".join(text.lower().split())

    def remember(self, text: str, match: Match) -> None:
        with self._lock:
            self._matches[self.key(text)] = (time.monotonic(), match)
            self._matches.move_to_end(self.key(text))
            while len(self._matches) > self.max_count:
                self._matches.popitem(last=False)

    def match_for(self, text: str) -> Match | None:
        with self._lock:
            found = self._matches.get(self.key(text))
        if found is None or time.monotonic() - found[0] > self.keep_s:
            return None
        return found[1]


class Conversations:
    """Dialogues by conversation id; safe to call from any thread (one lock, no I/O)."""

    def __init__(
        self,
        assistant: Assistant,
        *,
        max_count: int = MAX_CONVERSATIONS,
        idle_s: float = IDLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.assistant = assistant
        self.max_count = max_count
        self.idle_s = idle_s
        self.clock = clock
        self._lock = threading.Lock()
        self._open: OrderedDict[str, _Conversation] = OrderedDict()

    def __len__(self) -> int:
        return len(self._open)

    def reply(self, text: str, conversation_id: str | None, match: Match | None = None) -> Reply:
        """The answer to one utterance in one conversation. `match`: the decision for
        these words as heard (voice.spoken.match_transcript), when the asr program heard them."""
        with self._lock:
            now = self.clock()
            conversation = self._conversation(conversation_id or ANONYMOUS, now)
            dialogue = conversation.dialogue
            actions = dialogue.handle(Heard(text, now, match=match))
            understood = next((a for a in actions if isinstance(a, Understood)), None)
            spoken: list[str] = []
            for action in actions:
                if isinstance(action, Speak):
                    spoken.append(action.text)
                    # Home Assistant plays the reply; the dialogue must not take the next
                    # transcript as talking over it.
                    dialogue.handle(SpeechDone(action.id, now))
        took = understood.took if understood is not None else Took.FILLER
        match = understood.match if understood is not None else None
        decision = match.decision if match is not None else None
        entry_id = match.entry.id if match is not None and match.entry is not None else None
        said = " ".join(spoken)
        out_of_scope = took is Took.QUESTION and decision is Decision.FALLBACK
        return Reply(not out_of_scope and bool(said), said, took, decision, entry_id)

    def _conversation(self, key: str, now: float) -> _Conversation:
        for old_key in [k for k, c in self._open.items() if now - c.last_seen > self.idle_s]:
            del self._open[old_key]
        conversation = self._open.pop(key, None)
        if conversation is None:
            while len(self._open) >= self.max_count:
                self._open.popitem(last=False)
            faq_set, matcher = self.assistant.faq_set, self.assistant.matcher
            config = DialogueConfig(idle_reset_s=self.idle_s)
            conversation = _Conversation(Dialogue(faq_set, matcher, config), now)
            conversation.dialogue.handle(Started(now))  # its greeting is not spoken here
        conversation.last_seen = now
        self._open[key] = conversation  # most recently used last
        return conversation
