"""The HTTP boundary: every request gets a correlation id, a bounded body (its time is
bounded by ``api.serving``), and, whatever goes wrong, an answer in GraphQL's JSON
error shape (never a bare 500 or a plain-text body)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.database import is_outage
from ledger.domain.limits import IDENTIFIER_PATTERN

log = logging.getLogger("api")

MAX_BODY_BYTES = 1_000_000
BODY_CUT_OFF = "body_cut_off"
"""Set in a request's state by the server (``api.serving``) when it cut the request off
for a body that did not arrive in time: the application hears why the client left."""


class ClientError(Exception):
    """A request refused before GraphQL sees it: status, stable code, Chinese message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(
    status: int, code: str, message: str, correlation_id: str, **headers: str
) -> JSONResponse:
    extensions = {"code": code, "correlation_id": correlation_id}
    body = {"errors": [{"message": message, "extensions": extensions}]}
    return JSONResponse(body, status, headers={"x-correlation-id": correlation_id, **headers})


def correlation_id(scope: Scope) -> str:
    """The request's correlation id: the client's ``X-Correlation-Id`` if well formed
    (it is provenance only), else one made up; set once by ``ErrorBoundary``."""
    state: dict[str, Any] = scope.setdefault("state", {})
    if "correlation_id" not in state:
        given = dict(scope.get("headers") or []).get(b"x-correlation-id", b"")
        text = given.decode("latin-1")
        state["correlation_id"] = text if IDENTIFIER_PATTERN.fullmatch(text) else uuid.uuid4().hex
    return str(state["correlation_id"])


class ErrorBoundary:
    """Outermost middleware: a refused request gets its status and a JSON error; an
    unexpected failure gets 500 ``INTERNAL`` (503 ``UNAVAILABLE`` when the database is
    away) with the correlation id under which the details are logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = correlation_id(scope)
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-correlation-id", cid.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except ClientError as error:
            if started:
                raise
            log.info("request refused code=%s correlation_id=%s", error.code, cid)
            extra = {"www-authenticate": "Bearer"} if error.status == 401 else {}
            await error_response(error.status, error.code, error.message, cid, **extra)(
                scope, receive, send
            )
        except Exception as error:
            if started:
                raise
            if is_outage(error):
                log.warning("database unavailable correlation_id=%s: %r", cid, error)
                response = error_response(
                    503, "UNAVAILABLE", f"数据库暂时不可用,请稍后重试(编号 {cid})", cid
                )
            else:
                log.error("unexpected error correlation_id=%s", cid, exc_info=error)
                response = error_response(
                    500, "INTERNAL", f"服务器内部错误,请联系管理员(编号 {cid})", cid
                )
            await response(scope, receive, send)


class BodyLimit:
    """Refuse request bodies over a size, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            raise ClientError(413, "PAYLOAD_TOO_LARGE", f"请求体过大(上限 {self.limit} 字节)")
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise ClientError(413, "PAYLOAD_TOO_LARGE", f"请求体过大(上限 {self.limit} 字节)")
            return message

        await self.app(scope, limited, send)


async def read_body(scope: Scope, receive: Receive) -> bytes:
    chunks = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            if scope.get("state", {}).get(BODY_CUT_OFF):
                raise ClientError(408, "REQUEST_TIMEOUT", "请求体未在时限内发送完")
            raise ClientError(400, "BAD_REQUEST", "客户端在请求体发送完之前断开")
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)
