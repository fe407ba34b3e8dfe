"""The FastAPI app: routes, the kiosk page, security headers, and errors as JSON.

Every error answers `{"error": "what went wrong and how to fix it"}`: VoiceErrors map to
4xx centrally (voice.service.errors.status_for), anything unexpected is logged and
answers 500 (in Guard) while the server keeps serving. There is no CORS middleware on purpose:
only pages this service serves may call it, and a request whose Origin names another
site is refused before it reaches a route.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voice.errors import VoiceError
from voice.service import api, session
from voice.service.errors import status_for
from voice.service.runtime import Runtime, host_allowed, own_origin, same_origin

STATIC_DIR = Path(__file__).resolve().parent / "static"
log = logging.getLogger("voice.service")

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "microphone=(self), camera=(), geolocation=()",
}


def content_security_policy(origin: str | None) -> str:
    """The page may load and connect to this service only. `connect-src 'self'` covers the
    WebSocket in current browsers; the explicit ws(s):// origin is for older ones."""
    sockets = ""
    if origin is not None:
        host = origin.split("://", 1)[1]
        sockets = f" ws://{host} wss://{host}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"media-src 'self' blob:; connect-src 'self'{sockets}; worker-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def _error_body(message: str) -> bytes:
    return json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")


class Guard:
    """ASGI middleware: refuses other sites' requests and oversized bodies before any route
    runs, and adds the security headers to every response."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, allowed_hosts: frozenset[str]) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            conn = HTTPConnection(scope)
            if not host_allowed(conn, self.allowed_hosts):
                await receive()
                await send({"type": "websocket.close", "code": 1008, "reason": "unknown host"})
                return
            if not same_origin(conn):
                await receive()  # websocket.connect; closing before accept refuses with HTTP 403
                await send({"type": "websocket.close", "code": 1008, "reason": "cross-origin"})
                return
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        headers = [(name.encode(), value.encode()) for name, value in _HEADERS.items()]
        headers.append((b"content-security-policy", content_security_policy(own_origin(conn)).encode()))
        if not host_allowed(conn, self.allowed_hosts):
            message = (
                f"this kiosk service does not answer to the host {conn.headers.get('host', '')!r}; "
                "reach it by an allowed name, or start it with --allowed-host NAME"
            )
            await _reply(send, 400, message, headers)
            return
        if scope["method"] not in _SAFE_METHODS and not same_origin(conn):
            message = (
                f"requests from {conn.headers.get('origin')!r} are refused: only pages served by "
                "this kiosk service may use its API"
            )
            await _reply(send, 403, message, headers)
            return
        length = conn.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            limit = self.max_body_bytes
            message = (
                f"the body is {length} bytes; the limit is {limit:,} (send a shorter question or recording)"
                if length.isdigit()
                else "the Content-Length header is not a number"
            )
            await _reply(send, 413 if length.isdigit() else 400, message, headers)
            return

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # The one place unexpected errors end: logged once, answered as JSON, and not
            # raised further, so the server (and a test client) carries on.
            log.exception("unexpected error answering %s %s", scope["method"], scope["path"])
            if not started:
                await _reply(send, 500, "internal error; the service log has the details", headers)


async def _reply(send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = _error_body(message)
    start_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": body})


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body"))
        problems.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg")))
    return "; ".join(problems) or "the request is invalid"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(VoiceError)
    async def voice_error(request: Request, exc: VoiceError) -> JSONResponse:
        status = status_for(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse({"error": str(exc)}, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _validation_message(exc)}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        defaults = {404: f"no such page: {request.url.path}", 405: f"{request.method} is not allowed here"}
        generic = exc.detail in ("Not Found", "Method Not Allowed")  # Starlette's own wording
        message = defaults[exc.status_code] if generic else str(exc.detail)
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)


def _warm_up(runtime: Runtime) -> None:
    """Load the speech engine in the background so the first spoken question is quick."""
    try:
        runtime.recognizer()
        log.info("speech engine ready")
    except VoiceError as exc:
        log.warning("speech engine not loaded: %s", exc)


def create_app(runtime: Runtime, *, warm_up: bool = False) -> FastAPI:
    """The service around `runtime`; `warm_up` loads the speech engine at startup."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm_up:
            threading.Thread(target=_warm_up, args=(runtime,), name="warm-up", daemon=True).start()
        try:
            yield
        finally:
            runtime.close()

    # No /docs: the interactive docs load scripts from a CDN, which is neither offline nor
    # allowed by the page's Content-Security-Policy. The schema stays at /api/openapi.json.
    app = FastAPI(
        title="voicefaq kiosk service",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.runtime = runtime
    _install_error_handlers(app)
    app.include_router(api.router)
    app.include_router(session.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        index = STATIC_DIR / "index.html"
        if not index.is_file():
            raise HTTPException(404, "the kiosk page is not installed (voice/service/static/index.html)")
        return FileResponse(
            index, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"}
        )

    app.add_middleware(
        Guard, max_body_bytes=runtime.limits.max_body_bytes, allowed_hosts=runtime.allowed_hosts
    )
    return app
