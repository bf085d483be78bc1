"""Running the app under uvicorn, with the connection limits a public server needs.

uvicorn bounds an idle keep-alive connection only until it gets a byte, bounds neither
a request's headers nor its body in time, and its ``limit_concurrency`` counts every open
connection, idle ones included, then answers everyone 503 in plain text, ``/healthz``
too. Here (``ConnectionLimits`` in ``ledger.settings``; docs/decisions/0006 and 0036):

- a connection must finish a request's headers within ``header_seconds`` of its first
  byte (of the connection, or of the last answer), and the request's body within
  ``body_seconds`` of the headers, whatever its pace; else 408 and it is closed;
- at most ``per_client`` connections from one address and ``total`` in all are admitted.
  A connection past either may still ask ``/healthz`` or ``/readyz`` (so an orchestrator
  sees the truth under a flood) within ``REFUSAL_SECONDS``, and is then closed; anything
  else it asks is refused (429 or 503, GraphQL-shaped JSON) and it is closed.
"""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.boundary import BODY_CUT_OFF, Refusal
from ledger.settings import ConnectionLimits

KEEP_ALIVE_SECONDS = 5
GRACEFUL_SHUTDOWN_SECONDS = 10
REFUSAL_SECONDS = 1.0
"""How long a connection past a cap has to send a health probe's headers."""
HEALTH_PATHS = frozenset({"/healthz", "/readyz"})
YOUNG_GC_THRESHOLD = 20_000
"""Allocations between collections of the youngest generation (Python's default: 700)."""
GC_THRESHOLDS = (YOUNG_GC_THRESHOLD, 50, 100)


TIMED_OUT = Refusal(408, "REQUEST_TIMEOUT", "请求接收超时:请求头或请求体未在时限内发送完")
MALFORMED = Refusal(400, "BAD_REQUEST", "无法解析的 HTTP 请求,连接已关闭")


@dataclass
class Admissions:
    """The connections admitted, by client address, in one server process."""

    limits: ConnectionLimits
    by_client: Counter[str] = field(default_factory=Counter)
    total: int = 0

    def admit(self, client: str) -> Refusal | None:
        """None: admitted (and counted until ``release``); else why not."""
        if self.by_client[client] >= self.limits.per_client:
            return Refusal(
                429,
                "TOO_MANY_CONNECTIONS",
                f"来自同一地址的连接过多(上限 {self.limits.per_client} 个),请稍后重试",
            )
        if self.total >= self.limits.total:
            return Refusal(
                503, "SERVER_BUSY", f"服务器连接已满(上限 {self.limits.total} 个),请稍后重试"
            )
        self.by_client[client] += 1
        self.total += 1
        return None

    def release(self, client: str) -> None:
        self.total -= 1
        self.by_client[client] -= 1
        if not self.by_client[client]:
            del self.by_client[client]


class HealthOnly:
    """The app as a connection past a cap sees it: health probes, then the connection
    is closed; anything else, the refusal."""

    def __init__(self, app: ASGIApp, refusal: Refusal) -> None:
        self.app, self.refusal = app, refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in HEALTH_PATHS:

            async def closing(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
                await send(message)

            await self.app(scope, receive, closing)
            return
        refusal = self.refusal
        await send(
            {"type": "http.response.start", "status": refusal.status, "headers": refusal.headers()}
        )
        await send({"type": "http.response.body", "body": refusal.body()})


class LimitedProtocol(HttpToolsProtocol):
    """HTTP/1.1 with the limits above; ``limited_protocol`` makes one per server."""

    admissions: ClassVar[Admissions] = Admissions(ConnectionLimits())
    _timer: asyncio.TimerHandle | None = None
    _waiting_for = "headers"
    _admitted: str | None = None
    """The client address this connection is counted under (None: not counted)."""
    _refusal: Refusal | None = None
    """Why this connection was not admitted (None: it was)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        client = self.client[0] if self.client else ""
        self._refusal = self.admissions.admit(client)
        if self._refusal is None:
            self._admitted = client
        else:
            self.app = HealthOnly(self.app, self._refusal)
        self._arm("headers")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm("headers")

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        if not (self.parser.should_upgrade() and self._should_upgrade()):
            self._arm("body")

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()

    def on_response_complete(self) -> None:
        idle = not self.pipeline
        super().on_response_complete()
        if idle and not self.transport.is_closing():
            self._arm("headers")  # the next request's; a body still arriving keeps its own

    def handle_websocket_upgrade(self) -> None:
        """A WebSocket leaves the HTTP connections' count (uvicorn's protocol for it
        takes over the transport); a connection past a cap is refused instead."""
        self._disarm()
        if self._refusal is not None:
            self.transport.write(self._refusal.response())
            self.transport.close()
            return
        self._release()
        super().handle_websocket_upgrade()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._release()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """A request uvicorn cannot parse: refused in the API's error shape (uvicorn's
        own answer is plain English text)."""
        self.transport.write(MALFORMED.response())
        self.transport.close()

    def _release(self) -> None:
        if self._admitted is not None:
            self.admissions.release(self._admitted)
            self._admitted = None

    def _arm(self, waiting_for: str) -> None:
        """Start the clock for the headers (unless one runs) or for the body (anew)."""
        if waiting_for == "body":
            self._disarm()
        if self._timer is None:
            limits = self.admissions.limits
            seconds = limits.body_seconds if waiting_for == "body" else limits.header_seconds
            if self._refusal is not None and waiting_for == "headers":
                seconds = min(seconds, REFUSAL_SECONDS)
            self._waiting_for = waiting_for
            self._timer = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self._waiting_for == "headers":
            self.transport.write((self._refusal or TIMED_OUT).response())
        elif not self.cycle.response_started:
            # The application may be waiting for the body: it hears the client was cut off.
            self.cycle.scope["state"][BODY_CUT_OFF] = True
            self.cycle.response_started = self.cycle.disconnected = True
            self.cycle.message_event.set()
            self.transport.write(TIMED_OUT.response())
        self.transport.close()


def limited_protocol(limits: ConnectionLimits) -> type[LimitedProtocol]:
    """The protocol class for one server, counting its own connections."""
    return type("LimitedProtocol", (LimitedProtocol,), {"admissions": Admissions(limits)})


def settle_gc() -> None:
    """Garbage collection for a server that has finished starting: what exists now
    (the schema, the modules, the pools) is moved out of the collector's sight for
    good, and the youngest generation is collected less often. A GraphQL request
    leaves some hundred objects in reference cycles; with Python's defaults the
    collector ran every few requests and walked everything the server had made at
    start, a pause of tens of milliseconds each time it reached the oldest generation
    (docs/decisions/0027-server-garbage-collection.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def serve(app: ASGIApp, host: str, port: int, limits: ConnectionLimits) -> None:
    settle_gc()
    uvicorn.run(
        app,
        host=host,
        port=port,
        http=limited_protocol(limits),
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        log_level="warning",
    )
