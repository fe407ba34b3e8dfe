"""`voicefaq wyoming`: one Wyoming service with three programs (handle, asr, tts).

Home Assistant adds it through the Wyoming integration (host and port, or discovered by
zeroconf) and can then pick voicefaq as conversation agent, speech-to-text and
text-to-speech in an Assist pipeline (docs/home-assistant.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import signal
import sys
from collections.abc import Callable
from urllib.parse import urlparse

from wyoming.info import (
    AsrModel,
    AsrProgram,
    Attribution,
    HandleModel,
    HandleProgram,
    Info,
    TtsProgram,
    TtsVoice,
)
from wyoming.server import AsyncServer, AsyncTcpServer

from voice import __version__
from voice.asr import models
from voice.assistant import Assistant
from voice.errors import VoiceError
from voice.wyoming.conversations import Conversations
from voice.wyoming.handler import MAX_CLIENTS, STALL_S, Shared, VoiceHandler

log = logging.getLogger("voice.wyoming")

ATTRIBUTION = Attribution(name="voicefaq", url="https://github.com/voicefaq/voicefaq")


def build_info(assistant: Assistant, engine: str, voices: list[tuple[str, str, list[str]]]) -> Info:
    """The three programs Home Assistant sees, in the answers set's language."""
    language = assistant.faq_set.language
    title = assistant.faq_set.title
    return Info(
        handle=[
            HandleProgram(
                name="voicefaq",
                description=f"Answers {title}; out-of-scope questions are not handled",
                models=[
                    HandleModel(
                        name=title,
                        description=title,
                        languages=[language],
                        attribution=ATTRIBUTION,
                        installed=True,
                        version=__version__,
                    )
                ],
                attribution=ATTRIBUTION,
                installed=True,
                version=__version__,
            )
        ],
        asr=[
            AsrProgram(
                name="voicefaq-asr",
                description=f"Offline {engine} speech recognition biased to the answers set",
                models=[
                    AsrModel(
                        name=engine,
                        description=engine,
                        languages=[language],
                        attribution=ATTRIBUTION,
                        installed=True,
                        version=__version__,
                    )
                ],
                supports_transcript_streaming=False,
                attribution=ATTRIBUTION,
                installed=True,
                version=__version__,
            )
        ],
        tts=[
            TtsProgram(
                name="voicefaq-tts",
                description="espeak-ng through pyttsx3",
                voices=[
                    TtsVoice(
                        name=voice_id,
                        description=name,
                        languages=languages or [language],
                        attribution=ATTRIBUTION,
                        installed=True,
                        version=__version__,
                    )
                    for voice_id, name, languages in voices
                ],
                supports_synthesize_streaming=True,
                attribution=ATTRIBUTION,
                installed=True,
                version=__version__,
            )
        ],
    )


def _voices(assistant: Assistant) -> list[tuple[str, str, list[str]]]:
    try:
        found = assistant.synthesizer().voices()
    except VoiceError as exc:
        log.warning("text-to-speech is unavailable: %s", exc)
        return []
    language = assistant.faq_set.language
    # espeak-ng has over a hundred voices; those for the set's language come first.
    found.sort(key=lambda v: not any(lang.startswith(language) for lang in v.languages))
    return [(v.id, v.name, list(v.languages)) for v in found]


def engine_name(assistant: Assistant) -> str:
    return assistant.engine or models.default_engine(assistant.recognition.model_path)


async def serve(
    assistant: Assistant,
    uri: str,
    *,
    zeroconf: str | None = None,
    stall_s: float = STALL_S,
    max_clients: int = MAX_CLIENTS,
    announce: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> None:
    """Serve until SIGINT or SIGTERM. `zeroconf`: a service name to announce ("" for the default)."""
    voices = await asyncio.to_thread(_voices, assistant)
    info = build_info(assistant, engine_name(assistant), voices)
    shared = Shared(assistant, info, Conversations(assistant), stall_s=stall_s, max_clients=max_clients)
    # What is loaded now lives as long as the service: out of the collector's sight, as in
    # `voicefaq serve`, so full collections do not walk the answers set while a reply waits.
    gc.freeze()
    server = AsyncServer.from_uri(uri)
    await server.start(functools.partial(VoiceHandler, shared))
    where = uri
    port: int | None = None
    if isinstance(server, AsyncTcpServer):
        listening = getattr(server, "_server", None)
        sockets = getattr(listening, "sockets", None) or ()
        host = urlparse(uri).hostname or server.host
        port = int(sockets[0].getsockname()[1]) if sockets else server.port
        where = f"tcp://{host}:{port}"
    announce(f"voicefaq: Wyoming service for {assistant.faq_set.title!r} on {where}")
    warm = asyncio.create_task(asyncio.to_thread(_warm_up, assistant))
    registered = None
    if zeroconf is not None:
        if port is None:
            raise VoiceError("--zeroconf needs a tcp:// URI")
        from wyoming.zeroconf import HomeAssistantZeroconf

        bound = urlparse(uri).hostname or ""
        if bound in ("127.0.0.1", "localhost", "::1"):
            announce(
                "voicefaq: warning: --zeroconf announces this machine on the network, but the "
                f"service listens on {bound} only; give --uri tcp://0.0.0.0:{port} for Home Assistant "
                "on another machine"
            )
        announced_host = None if bound in ("", "0.0.0.0", "::", "127.0.0.1", "localhost", "::1") else bound
        registered = HomeAssistantZeroconf(port=port, name=zeroconf or "voicefaq", host=announced_host)
        await registered.register_server()
        announce(f"voicefaq: announced by zeroconf as {registered.name!r}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
        warm.cancel()
        if registered is not None:
            with contextlib.suppress(Exception):
                await registered._aiozc.async_close()


def _warm_up(assistant: Assistant) -> None:
    """Load the recogniser now, so the first spoken question is not the slow one."""
    try:
        assistant.recognizer()
    except VoiceError as exc:
        log.warning("speech recognition is unavailable: %s", exc)
