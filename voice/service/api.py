"""The HTTP API: health, the answers set, typed and recorded questions, spoken answers,
and the staff endpoints (reload, review log).

Bodies are read here rather than by FastAPI so that their size is counted while they
arrive (a missing or false Content-Length cannot get past the limit) and every bad
body gets a message saying what to send instead.
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from voice.audio import decode as audio_io
from voice.audio.decode import Audio
from voice.audio.vad import speech_seconds
from voice.conversation.events import VoiceSettings
from voice.core.config import ADMIN_TOKEN_ENV
from voice.core.question import question_text
from voice.review import ReviewLogError, group, parse_since
from voice.service.errors import (
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
    UnsupportedMediaError,
)
from voice.service.runtime import Runtime, SpeechCache, get_runtime
from voice.spoken import ask_audio, require_speech

router = APIRouter()
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
_AUDIO_TYPES = ("audio/", "application/octet-stream")
_VOICE_ID_CHARS = 200


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, counted as it arrives; PayloadTooLargeError past `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"the body is over the limit of {limit:,} bytes; send less")
        chunks.append(chunk)
    return b"".join(chunks)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


@router.get("/healthz")
async def healthz(runtime: RuntimeDep) -> dict[str, object]:
    """Liveness, the answers set in use, and whether the speech engine is loaded."""
    loaded = runtime.recognizer_loaded
    return {
        "ok": True,
        "set": runtime.faq_set.id,
        "entries": len(runtime.faq_set.entries),
        "engine": loaded.name if loaded is not None else runtime.assistant.engine,
        "engine_loaded": loaded is not None,
        "sessions": runtime.sessions,
        "review": runtime.review is not None,
    }


@router.get("/api/faq")
async def faq(runtime: RuntimeDep) -> dict[str, object]:
    """The answers set for the page: what can be asked, with its source."""
    faq_set = runtime.faq_set
    return {
        "id": faq_set.id,
        "title": faq_set.title,
        "language": faq_set.language,
        "disclaimer": faq_set.disclaimer,
        "fallback": faq_set.fallback,
        "source": {
            "title": faq_set.source.title,
            "author": faq_set.source.author,
            "last_reviewed": faq_set.source.last_reviewed,
            "sections": list(faq_set.source.sections),
        },
        "emergencies": [{"id": e.id, "say": e.say} for e in faq_set.emergencies],
        "entries": [
            {
                "id": e.id,
                "question": e.question,
                "section": e.section,
                "answer": e.answer,
                "details": e.details,
                "related": list(e.related),
            }
            for e in faq_set.entries
        ],
    }


@router.post("/api/ask")
async def ask(request: Request, runtime: RuntimeDep) -> dict[str, object]:
    """A typed question: {"text": "..."} -> the fields of `voicefaq ask --json`."""
    if _media_type(request) != "application/json":
        raise UnsupportedMediaError('send JSON with Content-Type: application/json, e.g. {"text": "..."}')
    body = await read_body(request, runtime.limits.max_body_bytes)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequestError(
            f'the body is not valid JSON ({exc}); send {{"text": "your question"}}'
        ) from None
    except RecursionError:  # "[[[[..." nested deeper than the parser's stack
        raise BadRequestError('the JSON is nested too deeply; send {"text": "your question"}') from None
    if not isinstance(data, dict) or "text" not in data:
        raise BadRequestError('send a JSON object with the question in "text": {"text": "your question"}')
    if not isinstance(data["text"], str):
        raise BadRequestError(f'"text" must be a string, not {type(data["text"]).__name__}')
    text = question_text(data["text"], runtime.limits.max_question_chars)
    match = await runtime.run_blocking(runtime.matcher.match, text)
    await runtime.log_for_review(match, "typed")
    return match.to_dict()


async def _upload(request: Request, runtime: Runtime) -> tuple[bytes, str]:
    """The recording's bytes and a name for messages, from a multipart form or a raw body."""
    media_type = _media_type(request)
    body = await read_body(request, runtime.limits.max_body_bytes)
    if media_type.startswith(_AUDIO_TYPES):
        return body, "the recording"
    if media_type != "multipart/form-data":
        raise UnsupportedMediaError(
            "send the recording as the body with an audio Content-Type (audio/wav, audio/flac, "
            "audio/ogg) or as a multipart form field named 'file'"
        )

    async def replay() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=10)
    except HTTPException as exc:  # Starlette's words for a malformed form
        raise BadRequestError(
            f"the multipart form cannot be read ({exc.detail}); send one recording as the field 'file'"
        ) from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise BadRequestError("the form has no file field named 'file'; attach the recording as 'file'")
        return await upload.read(), upload.filename or "the recording"
    finally:
        await form.close()


def _checked_audio(data: bytes, name: str, runtime: Runtime) -> Audio:
    audio = audio_io.decode(data, name)
    limits = runtime.limits
    if audio.seconds > limits.max_audio_s:
        raise PayloadTooLargeError(
            f"{name}: {audio.seconds:.0f} s is too long; the limit is {limits.max_audio_s:.0f} s"
        )
    require_speech(audio, name)  # silence is refused before the engine is loaded for it
    if speech_seconds(audio) > limits.max_utterance_s:
        raise PayloadTooLargeError(
            f"{name}: holds more than {limits.max_utterance_s:.0f} s of speech; send one question at a time"
        )
    return audio


@router.post("/api/ask/audio")
async def ask_spoken(request: Request, runtime: RuntimeDep) -> dict[str, object]:
    """A recorded question (WAV, FLAC, OGG) -> the fields of `voicefaq ask --audio --json`."""
    started = time.perf_counter()
    data, name = await _upload(request, runtime)
    audio = await runtime.run_blocking(_checked_audio, data, name, runtime)
    decode_ms = (time.perf_counter() - started) * 1000
    recognizer = await runtime.run_blocking(runtime.recognizer)
    spoken = await runtime.run_engine(ask_audio, audio, recognizer, runtime.matcher, name)
    await runtime.log_for_review(spoken.match, "spoken", spoken.transcript.text)
    return {"audio": name, **spoken.to_dict(decode_ms=decode_ms)}


class _Unprocessable(BadRequestError):
    """Well-formed but out of range (a speaking rate of 500)."""

    status = 422


def _settings(rate: int | None, volume: float | None, voice: str | None) -> VoiceSettings:
    defaults = VoiceSettings()
    if voice is not None and (len(voice) > _VOICE_ID_CHARS or not voice.isprintable()):
        raise BadRequestError("voice must be a voice id from the speech engine, at most 200 characters")
    try:
        return VoiceSettings(
            rate=defaults.rate if rate is None else rate,
            volume=defaults.volume if volume is None else volume,
            voice=voice or None,
        )
    except ValueError as exc:
        raise _Unprocessable(str(exc)) from None


async def _wav(request: Request, runtime: Runtime, text: str, settings: VoiceSettings) -> Response:
    """WAV for `text`; 304 when the browser already has it (the ETag names text and settings)."""
    etag = f'"{SpeechCache.key(text, settings)}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}  # revalidate: a reload may change the text
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if settings.voice is not None:
        synthesizer = await runtime.run_blocking(runtime.synthesizer)
        voices = await runtime.run_blocking(synthesizer.voices)
        if settings.voice not in {v.id for v in voices}:
            english = [v.id for v in voices if any(lang.startswith("en") for lang in v.languages)]
            raise _Unprocessable(
                f"unknown voice {settings.voice!r}; voices include {', '.join(english[:5])} "
                "(`voicefaq say --voices` lists all); leave voice out for the default"
            )
    data = await runtime.speech_wav(text, settings)
    return Response(data, media_type="audio/wav", headers=headers)


Rate = Annotated[int | None, Query(description="words a minute, 80-260")]
Volume = Annotated[float | None, Query(description="0.2-1.0 of full scale")]
VoiceId = Annotated[str | None, Query(description="speech engine voice id")]


@router.get("/api/answers/{entry_id}/audio")
async def answer_audio(
    entry_id: str,
    request: Request,
    runtime: RuntimeDep,
    rate: Rate = None,
    volume: Volume = None,
    voice: VoiceId = None,
    part: Literal["answer", "details", "question"] = "answer",
) -> Response:
    """An entry's answer, details or question, spoken."""
    settings = _settings(rate, volume, voice)
    try:
        entry = runtime.faq_set.entry(entry_id)
    except KeyError:
        raise NotFoundError(f"no entry {entry_id!r}; GET /api/faq lists the entries") from None
    text = {"answer": entry.answer, "details": entry.details, "question": entry.question}[part]
    if text is None:
        raise NotFoundError(f"entry {entry_id!r} has no details; ask for part=answer")
    return await _wav(request, runtime, text, settings)


@router.get("/api/say/{kind}")
async def say_audio(
    kind: Literal["fallback", "disclaimer"],
    request: Request,
    runtime: RuntimeDep,
    rate: Rate = None,
    volume: Volume = None,
    voice: VoiceId = None,
) -> Response:
    """The set's fallback ("I'm not sure...") or disclaimer, spoken."""
    settings = _settings(rate, volume, voice)
    faq_set = runtime.faq_set
    return await _wav(
        request, runtime, faq_set.fallback if kind == "fallback" else faq_set.disclaimer, settings
    )


@router.get("/api/say/emergency/{emergency_id}")
async def emergency_audio(
    emergency_id: str,
    request: Request,
    runtime: RuntimeDep,
    rate: Rate = None,
    volume: Volume = None,
    voice: VoiceId = None,
) -> Response:
    """What is said at once for one kind of emergency, spoken."""
    settings = _settings(rate, volume, voice)
    for emergency in runtime.faq_set.emergencies:
        if emergency.id == emergency_id:
            return await _wav(request, runtime, emergency.say, settings)
    known = ", ".join(e.id for e in runtime.faq_set.emergencies)
    raise NotFoundError(f"no emergency {emergency_id!r}; this set has: {known}")


def require_admin(request: Request, runtime: RuntimeDep) -> None:
    """Staff endpoints need `Authorization: Bearer <token>`."""
    if runtime.admin_token is None:
        raise ForbiddenError(
            "staff endpoints are off: start the service with --admin-token-file FILE "
            f"or set {ADMIN_TOKEN_ENV}, then send Authorization: Bearer <token>"
        )
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode("utf-8"), runtime.admin_token.encode("utf-8")
    ):
        raise UnauthorizedError("send the staff token as Authorization: Bearer <token>")


Admin = Depends(require_admin)


@router.post("/api/admin/reload", dependencies=[Admin])
async def reload(runtime: RuntimeDep) -> dict[str, object]:
    """Load the answers set again; a broken set answers 422 and the old one stays in use."""
    faq_set = await runtime.run_blocking(runtime.reload)
    return {"ok": True, "set": faq_set.id, "entries": len(faq_set.entries)}


@router.get("/api/admin/review", dependencies=[Admin])
async def review(
    runtime: RuntimeDep, since: Annotated[str | None, Query(description="YYYY-MM-DD")] = None
) -> dict[str, object]:
    """The review log grouped by similar wording, largest groups first."""
    log = runtime.review
    if log is None:
        raise NotFoundError("the review log is off (the service was started with --no-review)")
    try:
        moment = parse_since(since) if since else None
    except ReviewLogError as exc:
        raise _Unprocessable(str(exc)) from None
    entries = await runtime.run_blocking(log.entries, moment)
    groups = await runtime.run_blocking(group, entries)
    return {"total": len(entries), "groups": [g.to_dict() for g in groups]}
