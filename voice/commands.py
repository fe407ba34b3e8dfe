"""The spoken commands that are always available, whatever is being said.

Speech recognition is biased towards these (with the FAQ's words) so that a quiet
or slurred "stop" is still heard. The conversation that acts on them is the
dialogue's job.
"""

from __future__ import annotations

COMMAND_PHRASES: tuple[str, ...] = (
    "repeat",
    "say that again",
    "slower",
    "slow down",
    "faster",
    "speed up",
    "louder",
    "softer",
    "quieter",
    "stop",
    "be quiet",
    "more",
    "tell me more",
    "help",
    "what can i ask",
    "go back",
    "goodbye",
    "bye",
    "yes",
    "no",
    "the first",
    "the first one",
    "the second",
    "the second one",
    "hey helper",
)
