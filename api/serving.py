"""Running the app under uvicorn, with the connection limits a public server needs.

uvicorn bounds idle keep-alive connections but not a client that sends its
request headers a byte at a time: each such client would hold a descriptor for
as long as it trickles. Here a request's headers must arrive within
``HEADER_TIMEOUT_SECONDS`` of its first byte (the body has its own bound in
``api.boundary``), and past ``MAX_CONNECTIONS`` open connections new requests
get 503 at once.
"""

from __future__ import annotations

import asyncio
import gc

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5
MAX_CONNECTIONS = 1000
GRACEFUL_SHUTDOWN_SECONDS = 10
YOUNG_GC_THRESHOLD = 20_000
"""Allocations between collections of the youngest generation (Python's default: 700)."""
GC_THRESHOLDS = (YOUNG_GC_THRESHOLD, 50, 100)
TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """HTTP/1.1 whose request headers must arrive in bounded time."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(HEADER_TIMEOUT_SECONDS, self._timed_out)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _timed_out(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.write(TIMED_OUT)
            self.transport.close()


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


def serve(app: ASGIApp, host: str, port: int) -> None:
    settle_gc()
    uvicorn.run(
        app,
        host=host,
        port=port,
        http=HeaderTimeoutProtocol,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        log_level="warning",
    )
