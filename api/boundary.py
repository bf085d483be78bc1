"""The HTTP boundary: every request gets a correlation id, a bounded body (its time is
bounded by ``api.serving``), and, whatever goes wrong, an answer in GraphQL's JSON
error shape (never a bare 500 or a plain-text body)."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from http import HTTPStatus
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


def error_document(code: str, message: str, correlation_id: str | None = None) -> dict[str, Any]:
    """The one shape of every refusal, whoever makes it: GraphQL's errors, a stable code
    and a Chinese message."""
    extensions = {"code": code}
    if correlation_id is not None:
        extensions["correlation_id"] = correlation_id
    return {"errors": [{"message": message, "extensions": extensions}]}


def error_response(
    status: int, code: str, message: str, correlation_id: str, **headers: str
) -> JSONResponse:
    body = error_document(code, message, correlation_id)
    return JSONResponse(body, status, headers={"x-correlation-id": correlation_id, **headers})


@dataclass(frozen=True)
class Refusal:
    """A refusal written by the server's own HTTP protocol, before any app sees the
    request (no correlation id yet), in the same shape: a whole HTTP/1.1 response that
    closes the connection."""

    status: int
    code: str
    message: str

    def body(self) -> bytes:
        return json.dumps(error_document(self.code, self.message), ensure_ascii=False).encode()

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(self.body())).encode()),
            (b"connection", b"close"),
        ]

    def response(self) -> bytes:
        reason = HTTPStatus(self.status).phrase.encode()
        head = b"".join(name + b": " + value + b"\r\n" for name, value in self.headers())
        return b"HTTP/1.1 %d %s\r\n%s\r\n%s" % (self.status, reason, head, self.body())


CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 415: "UNSUPPORTED_MEDIA_TYPE"}
"""The code of a refusal by its HTTP status (anything else a client sent: ``BAD_REQUEST``)."""
LIBRARY_REASONS = {
    "Unsupported content type": "不支持的内容类型:GraphQL 请求须以 application/json 发送",
    "Batching is not enabled": "不支持批量请求:一次只发送一个 GraphQL 请求",
    "Too many operations": "不支持批量请求:一次只发送一个 GraphQL 请求",
    "No GraphQL query found in the request": "请求中没有 GraphQL 查询",
    "Unable to parse request body as JSON": "请求体不是有效的 JSON",
    "Unable to parse the multipart body": "不支持的内容类型:GraphQL 请求须以 application/json 发送",
    "File(s) missing in form data": "不支持的内容类型:GraphQL 请求须以 application/json 发送",
    "GraphQL only supports GET and POST requests.": "GraphQL 只接受 GET 和 POST 请求",
    "Not Found": "没有这个地址",
    "Method Not Allowed": "该地址不接受这种请求方法",
}
"""What the libraries (strawberry, Starlette) say when they refuse, in Chinese."""


def library_refusal(status: int, reason: str) -> ClientError:
    """A refusal a library made in plain English text, as the API makes its own."""
    if "not allowed when using GET" in reason:  # strawberry: a mutation or subscription
        return ClientError(405, "METHOD_NOT_ALLOWED", "GET 只能用于查询,变更须用 POST 发送")
    message = LIBRARY_REASONS.get(reason, f"请求无法处理(HTTP {status})")
    return ClientError(status, CODES.get(status, "BAD_REQUEST"), message)


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
