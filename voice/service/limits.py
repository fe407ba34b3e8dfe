"""Every limit the kiosk service holds a client to, with its default, in one place
(docs/security.md explains each and what an operator should set). Plain data: the CLI
reads the defaults for its options without loading the web stack."""

from __future__ import annotations

from dataclasses import dataclass

from voice.core.question import MAX_QUESTION_CHARS


@dataclass(frozen=True, slots=True)
class Limits:
    """What one request or session may ask of the service."""

    max_body_bytes: int = 10 * 1024 * 1024
    """Bytes: uploads and JSON bodies."""
    max_utterance_s: float = 30.0
    """Seconds: one spoken question (WebSocket and upload)."""
    max_audio_s: float = 120.0
    """Seconds: an uploaded file."""
    max_sessions: int = 20
    """Concurrent /api/listen sessions."""
    max_idle_s: float = 180.0
    """Seconds: a listening session in which nothing happens (no speech heard, no message,
    no reply playing) is closed to free its place; a stream of silent frames is not use.
    Longer than the page's own idle end (120 s), which the page reports to the person."""
    max_audio_ahead_s: float = 5.0
    """Seconds of audio a session may send ahead of real time (a page catching up after a
    stall); faster is refused, since a client streaming at 100x queued minutes of speech
    in front of every other kiosk's questions."""
    max_question_chars: int = MAX_QUESTION_CHARS
    """Characters of a typed question."""
    speech_cache_bytes: int = 64 * 1024 * 1024
    """Bytes of synthesised WAV kept in memory (least recently used dropped first)."""
    worker_threads: int = 8
    """Threads for blocking work (matching, engines, synthesis, SQLite)."""

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            if getattr(self, name) <= 0:
                raise ValueError(f"limit {name} must be positive, not {getattr(self, name)}")


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """What a connection may hold of the server."""

    header_timeout_s: float = 10.0
    """Seconds a connection has to send its request line and headers."""
    max_connections: int = 500
    """Open connections (HTTP and WebSocket); more are answered 503 and closed. Lowered to
    fit the process's open-file limit, with room for files, models and the engine."""
    max_connections_per_client: int = 64
    """Open connections from one address: a kiosk's browser uses a handful, so one client
    flooding the service leaves room for every other kiosk."""
    keep_alive_s: float = 5.0
    """Seconds an idle kept-alive connection stays open."""
