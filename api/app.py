"""The HTTP server: ``create_app()`` builds everything, nothing connects at import time."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Hashable
from typing import Any

import anyio.to_thread
import asyncpg
from cross_web import HTTPException
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from psycopg.conninfo import conninfo_to_dict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from api.auth import CREATE_TOKENS, LOOKUP, Principal, hash_token
from api.cache import MISSING, ResultCache
from api.context import RequestContext
from api.observability import Metrics, RequestLog, metrics_endpoint
from api.schema import build_schema
from ledger.application import Ledger
from ledger.database import database_url, eventsourcing_env, open_database
from ledger.domain.values import Role
from ledger.settings import Settings, load_settings
from projections.runner import VIEWS_CHANNEL, ReadSide

log = logging.getLogger("api")

MAX_BODY_BYTES = 1_000_000
READY_LAG_EVENTS = 1000
TOKEN_TTL_SECONDS = 5.0
MAX_CACHED_TOKENS = 10_000


class LedgerGraphQL(GraphQL[RequestContext, None]):
    """GraphQL over HTTP and graphql-transport-ws, with bearer tokens.

    The answers to queries are kept, per token and request body, until the read
    models move on: dashboards and kiosks ask the same questions over and over.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await super().__call__(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        state = scope["app"].state
        key = await self._cache_key(state, Request(scope), body)
        if key is not None:
            kept = state.cache.lookup(key)
            if kept is not MISSING:
                await Response(kept, media_type="application/json")(scope, replay, send)
                return
        version = state.cache.version
        sent: list[Message] = []

        async def capture(message: Message) -> None:
            sent.append(message)
            await send(message)

        await super().__call__(scope, replay, capture)
        if key is not None and sent and sent[0].get("status") == 200:
            answer = b"".join(m.get("body", b"") for m in sent[1:])
            if b'"errors"' not in answer:
                state.cache.store(key, answer, version)

    def encode_json(self, data: object) -> str:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @staticmethod
    async def _cache_key(state: Any, request: Request, body: bytes) -> Hashable | None:
        """Queries (not mutations) are answered from the cache, per token."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        principal = await state.tokens.principal(state.pool, token.strip())
        if principal is None:
            return None
        try:
            payload = json.loads(body)
            query, operation = payload["query"], payload.get("operationName")
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(query, str) or not _is_cacheable(query, operation):
            return None
        return ("response", principal.token_id, body)

    async def get_context(self, request: Request | WebSocket, response: Any) -> RequestContext:
        state = request.app.state
        header = request.headers.get("authorization", "")
        principal = None
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "bearer" and token:
                principal = await state.tokens.principal(state.pool, token.strip())
            if principal is None:
                raise HTTPException(401, "令牌无效或已被吊销")
        elif isinstance(request, Request) and request.method == "POST":
            raise HTTPException(401, "需要令牌:请在 Authorization 头中提供 Bearer 令牌")
        return RequestContext(
            principal=principal,
            pool=state.pool,
            ledger=state.ledger,
            read_side=state.read_side,
            cache=state.cache,
            correlation_id=request.headers.get("x-correlation-id") or uuid.uuid4().hex,
            device=request.headers.get("x-device-id"),
            database_url=state.database_url,
            signing_key=state.signing_key,
            metrics=state.metrics,
        )


@functools.lru_cache(maxsize=256)
def _is_cacheable(query: str, operation_name: str | None) -> bool:
    """A query (not a mutation or subscription) that does not wait for a position."""
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except GraphQLError:
        return False
    return (
        operation is not None
        and operation.operation is OperationType.QUERY
        and "waitFor" not in query
    )


class TokenCache:
    """Principals by token, looked up once every few seconds rather than per request:
    a revocation takes effect within ``TOKEN_TTL_SECONDS``."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[float, Principal | None]] = {}

    async def principal(self, pool: asyncpg.Pool, token: str) -> Principal | None:
        digest = hash_token(token)
        now = time.monotonic()
        cached = self._known.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        row = await pool.fetchrow(LOOKUP, digest)
        found = (
            None
            if row is None
            else Principal(row["id"], Role(row["role"]), frozenset(row["scope"]))
        )
        if len(self._known) > MAX_CACHED_TOKENS:
            self._known.clear()
        self._known[digest] = (now + TOKEN_TTL_SECONDS, found)
        return found


class BodyLimit:
    """Refuse request bodies over a size, before anything reads them."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and int(declared) > self.limit:
            await PlainTextResponse("请求体过大", status_code=413)(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, "请求体过大")
            return message

        await self.app(scope, limited, send)


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    try:
        head = await state.pool.fetchval("SELECT max(notification_id) FROM ledger_events") or 0
        positions = await anyio.to_thread.run_sync(
            lambda: [state.read_side.position(m) for m in state.read_side.live.values()]
        )
    except (OSError, asyncpg.PostgresError) as error:
        return JSONResponse({"status": "database unavailable", "detail": str(error)}, 503)
    lag = head - min(positions, default=0)
    status = 200 if positions and lag <= READY_LAG_EVENTS else 503
    return JSONResponse({"status": "ready" if status == 200 else "lagging", "lag": lag}, status)


def create_app(
    settings: Settings | None = None, *, production: bool = False, follow: bool = True
) -> Starlette:
    """The whole server. ``follow`` runs the read models' runner in a thread."""
    settings = settings or load_settings()
    metrics = Metrics()
    graphql = LedgerGraphQL(
        build_schema(production=production),
        graphql_ide=None if production else "graphiql",
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with contextlib.ExitStack() as stack:
            url = stack.enter_context(open_database(settings))
            ledger = Ledger(eventsourcing_env(url), id_hash_key=settings.id_hash_key)
            stack.callback(ledger.close)
            read_side = ReadSide(ledger, signing_key=settings.signing_key)
            await anyio.to_thread.run_sync(read_side.open)
            stop = threading.Event()
            runner = threading.Thread(target=read_side.run, args=(stop,), daemon=True)
            if follow:
                runner.start()
            uri = database_url(url, str(conninfo_to_dict(url).get("dbname") or "ledger"))
            pool = await asyncpg.create_pool(uri, min_size=2, max_size=20)
            await pool.execute(CREATE_TOKENS)
            cache = ResultCache()
            listener = await asyncpg.connect(uri)
            await listener.add_listener(VIEWS_CHANNEL, cache.invalidate)
            app.state.ledger, app.state.read_side = ledger, read_side
            app.state.pool, app.state.cache, app.state.tokens = pool, cache, TokenCache()
            app.state.database_url, app.state.signing_key = url, settings.signing_key
            try:
                yield
            finally:
                stop.set()
                if follow:
                    await anyio.to_thread.run_sync(runner.join)
                await listener.close()
                await pool.close()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit)
    app.add_middleware(RequestLog, metrics=metrics)
    app.state.metrics = metrics
    return app


__all__ = ["create_app"]
