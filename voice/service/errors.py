"""The service's errors and how each VoiceError becomes an HTTP status or a WebSocket
close code. Messages say how to fix the request, as everywhere in voicefaq."""

from __future__ import annotations

from voice.errors import (
    AnswersFormatError,
    AudioDeviceError,
    AudioFormatError,
    AudioTooLargeError,
    EngineStoppedError,
    InputTextError,
    ModelNotFoundError,
    NoSpeechError,
    SpeechError,
    VoiceError,
)


class ServiceError(VoiceError):
    """A request the service refuses; `status` is the HTTP status it answers with."""

    status = 400


class BadRequestError(ServiceError):
    status = 400


class UnauthorizedError(ServiceError):
    status = 401


class ForbiddenError(ServiceError):
    status = 403


class OriginRefusedError(ForbiddenError):
    """A browser page from another origin tried to use the kiosk's API."""


class NotFoundError(ServiceError):
    status = 404


class PayloadTooLargeError(ServiceError):
    status = 413


class UnsupportedMediaError(ServiceError):
    status = 415


class SessionsFullError(ServiceError):
    """Every listening session is taken; the client should try again shortly."""

    status = 503


# Most specific first: AnswersFormatError on reload is the staff's to fix (the old set
# stays in use); a missing model or device is the server's state, not the request's.
_STATUS: tuple[tuple[type[VoiceError], int], ...] = (
    (ServiceError, 0),
    (InputTextError, 400),
    (AudioTooLargeError, 413),
    (AudioFormatError, 400),
    (NoSpeechError, 422),
    (AnswersFormatError, 422),
    (ModelNotFoundError, 503),
    (EngineStoppedError, 503),  # the engine's process died; the next request starts it again
    (AudioDeviceError, 503),
    (SpeechError, 503),  # espeak-ng missing or failing; a bad voice id is refused before (422)
)

WS_POLICY_VIOLATION = 1008
WS_TRY_AGAIN_LATER = 1013
WS_MESSAGE_TOO_BIG = 1009


def status_for(error: VoiceError) -> int:
    """The HTTP status for a VoiceError: 4xx for anything the request can fix."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return error.status if isinstance(error, ServiceError) else status
    return 400


def close_code_for(error: VoiceError) -> int:
    """The WebSocket close code for an error that ends a session."""
    if isinstance(error, SessionsFullError):
        return WS_TRY_AGAIN_LATER
    if isinstance(error, PayloadTooLargeError):
        return WS_MESSAGE_TOO_BIG
    return WS_POLICY_VIOLATION
