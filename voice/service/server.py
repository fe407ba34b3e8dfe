"""The HTTP server around the app (uvicorn), with the limits a public waiting room needs.

uvicorn closes an idle kept-alive connection, but not one that never finishes sending its
request: 20,000 sockets each holding half a `GET /healthz` took every file descriptor, and
then /healthz itself. So every connection here must finish its request headers within
`header_timeout_s` of opening (or of its previous response), the number of connections is
capped below the open-file limit, and the accept loop's "Too many open files" is logged
once a minute rather than once per attempt.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
import time
from collections import Counter

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from voice.service.limits import ServerLimits


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection whose request headers do not
    arrive in time (a "slowloris" client) and refusing a client's connections past its
    share; once a request is read, the app's own limits apply."""

    header_timeout_s = ServerLimits().header_timeout_s
    max_per_client = ServerLimits().max_connections_per_client
    open_by_client: Counter[str] = Counter()
    """Open connections by client address, shared by one server's connections (each server
    gets its own subclass, see serve)."""
    _deadline: asyncio.TimerHandle | None = None
    _counted: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else None
        if address is not None:
            if self.open_by_client[address] >= self.max_per_client:
                transport.abort()  # refused before anything is read: no response to write
                return
            self.open_by_client[address] += 1
            self._counted = address
        self._arm_deadline()

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm_deadline()  # a request is being answered: its headers came

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_deadline()  # the next request on this connection gets the same time

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        # The WebSocket protocol takes the connection over (and its connection_lost): the
        # session limits (Limits.max_sessions, the idle rule) hold it from here.
        self._release()
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._release()
        super().connection_lost(exc)

    def _release(self) -> None:
        self._disarm_deadline()
        if self._counted is not None:
            self.open_by_client[self._counted] -= 1
            if self.open_by_client[self._counted] <= 0:
                del self.open_by_client[self._counted]
            self._counted = None

    def _arm_deadline(self) -> None:
        self._disarm_deadline()
        self._deadline = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_too_slow(self) -> None:
        self._deadline = None
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()


class OncePerMinute(logging.Filter):
    """Lets a recurring message through once a minute, with how often it was held back:
    one "Too many open files" per refused connection filled 38 MB of log in 15 s."""

    def __init__(self, interval_s: float = 60.0) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = f"{record.name}:{record.msg}"
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        held = self._held.pop(key, 0)
        self._last[key] = now
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last minute)"
        return True


def connection_cap(wanted: int) -> int:
    """`wanted`, lowered to fit the open-file limit (raised to its hard maximum first)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65_536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    reserve = 200  # the engine, its worker's pipes, the review log, static files, the log
    return max(20, min(wanted, soft - reserve))


def serve(
    app: object, sock: socket.socket, limits: ServerLimits, *, access_log: bool, ws_max_size: int
) -> None:
    """Run `app` on the bound `sock` until interrupted."""
    protocol = type(
        "KioskHttpProtocol",
        (HeaderDeadlineProtocol,),
        {
            "header_timeout_s": limits.header_timeout_s,
            "max_per_client": limits.max_connections_per_client,
            "open_by_client": Counter(),
        },
    )
    for name in ("asyncio", "uvicorn.error"):  # the accept loop's and the server's own reports
        logging.getLogger(name).addFilter(OncePerMinute())
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        http=protocol,
        log_level="info",
        access_log=access_log,
        proxy_headers=False,  # the kiosk talks to it directly; no X-Forwarded-* spoofing
        server_header=False,
        limit_concurrency=connection_cap(limits.max_connections),
        timeout_keep_alive=int(limits.keep_alive_s),
        ws_max_size=ws_max_size,
        # Replies are WAV: deflate saved little and took milliseconds of the event loop each.
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run(sockets=[sock])
