"""The HTTP server: ``create_app()`` builds it over a ledger and its read side; nothing
connects at import time."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import threading
from collections.abc import AsyncIterator, Hashable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread
import asyncpg
import strawberry
from cross_web import HTTPException
from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
)
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.graphql import OperationType as StrawberryOperation

from api.auth import Principal, TokenCache
from api.boundary import (
    BodyLimit,
    ClientError,
    ErrorBoundary,
    correlation_id,
    error_response,
    library_refusal,
    read_body,
)
from api.cache import MISSING, ResultCache, follow_views
from api.context import RequestContext
from api.health import healthz, readyz
from api.limits import MAX_QUERY_CHARS, check_variables, parse_document
from api.observability import Metrics, RequestLog, metrics_endpoint, route_label
from api.plans import Plans
from api.replicas import MAX_LAG_SECONDS, Replica, Replicas
from api.schema import build_schema
from api.verify import verify_page
from ledger.application import Ledger
from ledger.database import as_uri, is_outage, without_password
from ledger.domain.limits import IDENTIFIER_PATTERN
from ledger.domain.values import CST
from ledger.settings import DEFAULT_PUBLIC_URL
from projections.notes import Verifier
from projections.runner import ReadSide
from projections.tokens import create_token_table

log = logging.getLogger("api")

STATIC = Path(__file__).parent / "static"
IDE_PAGE = STATIC / "graphiql.html"
KIOSK_PAGE = STATIC / "kiosk" / "index.html"
MEMBER_PAGE = STATIC / "member" / "index.html"
WORKBENCH_PAGE = STATIC / "workbench" / "index.html"


async def refused_by_router(request: Request, error: Exception) -> Response:
    """Starlette's own refusals (no such path, a method a route does not take, a file
    not there) in the API's error shape, in Chinese."""
    assert isinstance(error, StarletteHTTPException)
    refusal = library_refusal(error.status_code, error.detail)
    cid = correlation_id(request.scope)
    return error_response(refusal.status, refusal.code, refusal.message, cid)


class PageFiles(StaticFiles):
    """The pages' files; under ``--production``, none of GraphiQL's (its page is not
    served there either)."""

    def __init__(self, *, production: bool) -> None:
        super().__init__(directory=STATIC)
        self.production = production

    async def get_response(self, path: str, scope: Scope) -> Response:
        if self.production and Path(path).parts[:1] in (("graphiql.html",), ("graphiql",)):
            raise StarletteHTTPException(404)
        return await super().get_response(path, scope)


async def kiosk_page(_: Request) -> HTMLResponse:
    """The points store's page (积分超市); it holds no data: it signs in with the kiosk's
    token and asks /graphql for everything."""
    return HTMLResponse(KIOSK_PAGE.read_text(encoding="utf-8"))


async def member_page(_: Request) -> HTMLResponse:
    """A member's phone pages (我的志愿): sign-in with a one-time code, tasks, services with
    check-in at the site, needs, points and the kiosk code, messages; all data from /graphql."""
    return HTMLResponse(MEMBER_PAGE.read_text(encoding="utf-8"))


async def workbench_page(_: Request) -> HTMLResponse:
    """The community workbench (社区工作台); it signs in with the community's token and asks
    /graphql for everything."""
    return HTMLResponse(WORKBENCH_PAGE.read_text(encoding="utf-8"))


UNAUTHORIZED_CLOSE = 4401
"""The WebSocket close code graphql-transport-ws gives a connection without authority."""
DB_TIMEOUT_SECONDS = 10.0
"""Every statement the server's reads run."""
CONNECT_TIMEOUT_SECONDS = 3.0
CANCEL_WAIT_SECONDS = 1.0
"""A statement past its timeout is cancelled; the server has this long to acknowledge it."""


class LedgerGraphQL(GraphQL[RequestContext, None]):
    """GraphQL over HTTP and graphql-transport-ws, with bearer tokens.

    Over HTTP the token is checked before the request is parsed: without one,
    nothing but GraphiQL's page (outside production) is served. The answers to
    queries are kept, per token and request body, until the read models move on:
    dashboards and kiosks ask the same questions over and over.
    """

    def __init__(self, *args: Any, production: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.production = production
        assert isinstance(self.schema, strawberry.Schema)
        self.plans = Plans(self.schema)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope)
        device = request.headers.get("x-device-id")
        if device is not None and not IDENTIFIER_PATTERN.fullmatch(device):
            raise ClientError(400, "BAD_REQUEST", "X-Device-Id 须为 1–128 个字母、数字或 ._:- 字符")
        principal: Principal | None = None
        refusal: ClientError | None = None
        try:
            principal = await self._authenticate(request)
        except ClientError as error:
            if self._serves_ide(request):
                await self._view(scope, receive, send)
                return
            if scope["method"] != "POST":
                raise
            refusal = error
        scope.setdefault("state", {})["principal"] = principal
        if scope["method"] != "POST":
            await self._view(scope, receive, send)
            return
        body = await read_body(scope, receive)
        try:
            payload = json.loads(body)
        except RecursionError:
            raise ClientError(400, "BAD_REQUEST", "请求体 JSON 嵌套过深") from None
        except ValueError:
            raise ClientError(400, "BAD_REQUEST", "请求体不是有效的 JSON") from None
        if refusal is not None and not _tokenless(payload):
            raise refusal

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        state = scope["app"].state
        key = _cache_key(principal, payload, body)
        if key is not None:
            kept = state.cache.lookup(key)
            if kept is not MISSING:
                await Response(kept, media_type="application/json")(scope, replay, send)
                return
        version = state.cache.version
        replica, replayed = await _standby(state.reads)
        scope["state"]["replica"] = replica
        if key is not None and _plain_query(request, payload):
            answer: bytes | None = await self._answer_query(request, payload, replay, send)
        else:
            answer = await self._answer_through_view(scope, replay, send)
        context = scope["state"].get("context")
        keep = context is None or context.keep_answer
        if context is not None and context.replica is not None:
            keep = keep and replayed >= state.cache.changed_at  # the standby showed it all
        if key is not None and keep and answer is not None and b'"errors"' not in answer:
            state.cache.store(key, answer, version)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A subscription's upgrade request carries the token: without a valid one the
        socket is accepted only to be closed at once with 4401 (graphql-transport-ws's
        code for it), logged in one line."""
        try:
            principal = await self._authenticate(HTTPConnection(scope))
        except ClientError as error:
            log.info(
                "websocket refused code=%s correlation_id=%s", error.code, correlation_id(scope)
            )
            socket = WebSocket(scope, receive, send)
            offered = scope.get("subprotocols") or []
            chosen = (
                GRAPHQL_TRANSPORT_WS_PROTOCOL if GRAPHQL_TRANSPORT_WS_PROTOCOL in offered else None
            )
            await socket.accept(subprotocol=chosen)
            await socket.close(UNAUTHORIZED_CLOSE, "需要有效令牌")
            return
        scope.setdefault("state", {})["principal"] = principal
        await super().__call__(scope, receive, send)

    async def _answer_query(
        self, request: Request, payload: dict[str, Any], receive: Receive, send: Send
    ) -> bytes:
        """A query over plain JSON, executed and answered here rather than through
        strawberry's view: the same schema, context, result and encoding, without the
        view's request adapters and a second reading of the body (docs/decisions/0026).
        A query answered once is planned, and answered by its plan after that when it
        can be (docs/decisions/0030)."""
        query, operation = payload["query"], payload.get("operationName")
        variables = payload.get("variables")
        plan = None if payload.get("extensions") else self.plans.get(query, operation)
        answer = None
        if plan is not None:
            try:
                check_variables(variables or {})
                data = await plan.answer(variables, await self.get_context(request, None))
                answer = self.encode_json({"data": data}).encode()
            except Exception as error:  # graphql-core answers it, errors and all,
                if is_outage(error):  # but would wait for the database again
                    raise
            outcome = "long_way" if answer is None else "answered"
            request.app.state.metrics.planned[outcome].inc()
        if answer is not None:
            await Response(answer, media_type="application/json")(request.scope, receive, send)
            return answer
        result = await self.schema.execute(
            query,
            variable_values=variables,
            context_value=await self.get_context(request, None),
            operation_name=operation,
            allowed_operation_types=(StrawberryOperation.QUERY,),
            operation_extensions=payload.get("extensions"),
        )
        if not result.errors and plan is None:
            self.plans.learn(query, operation)
        answer = self.encode_json(await self.process_result(request, result)).encode()
        await Response(answer, media_type="application/json")(request.scope, receive, send)
        return answer

    async def _answer_through_view(
        self, scope: Scope, receive: Receive, send: Send
    ) -> bytes | None:
        """Strawberry's view answers; the body of a 200 answer is returned for keeping."""
        sent: list[Message] = []

        async def capture(message: Message) -> None:
            sent.append(message)
            await send(message)

        await self._view(scope, receive, capture)
        if not sent or sent[0].get("status") != 200:
            return None
        return b"".join(m.get("body", b"") for m in sent[1:])

    async def _view(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's view over HTTP; what it refuses (in plain English text) is refused
        in the API's error shape, in Chinese, by ``ErrorBoundary``."""
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as error:
            raise library_refusal(error.status_code, error.reason) from None
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from the app's own files (``api/static``): no CDN, works offline. Its
        example asks for the ranking of the year yesterday belonged to (in China Standard
        Time): the year with the latest complete day of services, even on the 1st of January."""
        page = IDE_PAGE.read_text(encoding="utf-8")
        yesterday = datetime.now(CST).date() - timedelta(days=1)
        return HTMLResponse(page.replace("{{year}}", str(yesterday.year)))

    def _serves_ide(self, request: Request) -> bool:
        """GraphiQL's page, which holds no data, is the one thing served without a token."""
        return (
            not self.production
            and request.method == "GET"
            and "query" not in request.query_params
            and "text/html" in request.headers.get("accept", "")
        )

    @staticmethod
    async def _authenticate(request: HTTPConnection) -> Principal:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ClientError(
                401, "UNAUTHENTICATED", "需要令牌:请在 Authorization 头中提供 Bearer 令牌"
            )
        state = request.app.state
        principal = await state.tokens.principal(state.pool, token.strip())
        if principal is None:
            raise ClientError(401, "UNAUTHENTICATED", "令牌无效、已过期或已被吊销")
        return principal

    def encode_json(self, data: object) -> str:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    async def get_context(self, request: Request | WebSocket, response: Any) -> RequestContext:
        state = request.app.state
        principal = request.scope.get("state", {}).get("principal")
        # Subscriptions LISTEN, which a standby cannot: they stay on the primary.
        replica = None if isinstance(request, WebSocket) else request.scope["state"].get("replica")
        context = RequestContext(
            principal=principal,
            pool=state.pool if replica is None else replica.pool,
            reads=state.reads,
            replica=replica,
            ledger=state.ledger,
            read_side=state.read_side,
            cache=state.cache,
            tokens=state.tokens,
            correlation_id=correlation_id(request.scope),
            device=request.headers.get("x-device-id"),
            database_url=state.database_url,
            verifier=state.verifier,
            checkpoint_log=state.checkpoint_log,
            public_url=state.public_url,
            metrics=state.metrics,
        )
        request.scope.setdefault("state", {})["context"] = context
        return context


async def _standby(reads: Replicas | None) -> tuple[Replica | None, int]:
    """The standby to read from (None: the primary) and how far it had replayed
    before the read; a standby that does not answer leaves the read to the primary
    at once, and leaves the rotation until the watch sees it in step again."""
    replica = None if reads is None else reads.choose()
    if replica is None or reads is None:
        return None, -1
    replayed = await reads.probe(replica)
    return (None, -1) if replayed is None else (replica, replayed)


def _plain_query(request: Request, payload: Any) -> bool:
    """A request strawberry's view would answer as one JSON result (not a batch, an
    upload or a stream), whose variables and extensions are objects if given."""
    accept = request.headers.get("accept", "")
    return (
        isinstance(payload, dict)
        and "application/json" in request.headers.get("content-type", "")
        and "multipart/mixed" not in accept
        and "text/event-stream" not in accept
        and isinstance(payload.get("variables"), dict | None)
        and isinstance(payload.get("extensions"), dict | None)
    )


def _cache_key(principal: Principal | None, payload: Any, body: bytes) -> Hashable | None:
    """Queries (not mutations) are answered from the cache, per token."""
    if principal is None or not isinstance(payload, dict):
        return None
    query, operation = payload.get("query"), payload.get("operationName")
    if not isinstance(query, str) or not isinstance(operation, str | None):
        return None
    if len(query) > MAX_QUERY_CHARS or not _is_cacheable(query, operation):
        return None
    return ("response", principal.token_id, body)


TOKENLESS_FIELDS = frozenset({"activateSignIn"})
"""What a request without a token may ask: a phone signing in with a one-time code."""


def _tokenless(payload: Any) -> bool:
    """Whether a request is one mutation asking only what needs no token."""
    if not isinstance(payload, dict):
        return False
    query = payload.get("query")
    if not isinstance(query, str) or len(query) > MAX_QUERY_CHARS:
        return False
    return _only_tokenless_fields(query)


@functools.lru_cache(maxsize=256)
def _only_tokenless_fields(query: str) -> bool:
    try:
        document = parse_document(query)
    except GraphQLError:
        return False
    [operation, *others] = document.definitions
    if others or not isinstance(operation, OperationDefinitionNode):
        return False
    fields = operation.selection_set.selections
    return (
        operation.operation is OperationType.MUTATION
        and bool(fields)
        and all(
            isinstance(f, FieldNode) and f.name.value in TOKENLESS_FIELDS and not f.directives
            for f in fields
        )
    )


@functools.lru_cache(maxsize=256)
def _is_cacheable(query: str, operation_name: str | None) -> bool:
    """A query (not a mutation or subscription) that does not wait for a position."""
    try:
        operation = get_operation_ast(parse_document(query), operation_name)
    except GraphQLError:
        return False
    return (
        operation is not None
        and operation.operation is OperationType.QUERY
        and "waitFor" not in query
    )


async def _keep_session(_: asyncpg.Connection) -> None:
    """A connection given back to a read pool keeps its session: the reads change no
    setting, take no advisory lock and leave no cursor open, and the one that LISTENs
    (the ledger entries subscription) UNLISTENs itself. asyncpg still rolls back an
    open transaction and forgets the connection's listeners; what is saved is the
    reset statement (``RESET ALL``, ``UNLISTEN *``, …), a round trip on every release
    (docs/decisions/0026)."""


class ReadPool(asyncpg.Pool):  # type: ignore[misc]  # asyncpg has no types
    """asyncpg's pool, but a connection given back after a statement that timed out waits
    at most ``CANCEL_WAIT_SECONDS`` for the server to acknowledge the cancel, and is
    closed past it. asyncpg waits for as long as the acquire's timeout, which
    ``pool.fetch`` and its like leave unbounded: a paused server held every read past
    its statement timeout until it woke (docs/decisions/0037)."""

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:
        """Given back in a task of its own: a caller that stops waiting (its request
        was cut off) leaves it to finish, and its failure is not reported as unheard."""
        giving_back = asyncio.ensure_future(
            super().release(connection, timeout=timeout or CANCEL_WAIT_SECONDS)
        )
        giving_back.add_done_callback(_heard)
        await asyncio.shield(giving_back)


def _heard(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        task.exception()  # the connection is closed; asyncpg makes a new one when needed


async def _pool(uri: str, min_size: int) -> asyncpg.Pool:
    """The server's reads: every statement bounded, every connection attempt too, and
    the wait for a cancelled statement (``ReadPool``); asyncpg's ``create_pool`` with its
    defaults otherwise."""
    pool = ReadPool(
        uri,
        min_size=min_size,
        max_size=20,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        timeout=CONNECT_TIMEOUT_SECONDS,
        command_timeout=DB_TIMEOUT_SECONDS,
        reset=_keep_session,
    )
    return await pool


async def _replicas(primary: asyncpg.Pool, urls: Sequence[str], max_lag: float) -> Replicas | None:
    """Pools on the standbys (connected when first used, so a standby that is down
    at start is only out of rotation), watched once before the first request."""
    if not urls:
        return None
    replicas = []
    for url in urls:
        uri = as_uri(url)
        replicas.append(Replica(name=without_password(uri), pool=await _pool(uri, 0)))
    reads = Replicas(primary, replicas, max_lag)
    await reads.watch_once()
    return reads


def create_app(
    url: str,
    ledger: Ledger,
    read_side: ReadSide,
    verifier: Verifier,
    *,
    checkpoint_log: Path | None = None,
    production: bool = False,
    follow: bool = True,
    read_replicas: Sequence[str] = (),
    replica_max_lag: float = MAX_LAG_SECONDS,
    public_url: str = DEFAULT_PUBLIC_URL,
) -> Starlette:
    """The whole server over a ledger and its read side (``entrypoints.bootstrap``
    makes them). ``follow`` runs the read models' runner in a thread;
    ``read_replicas`` are standbys of ``url`` that answer queries (``api.replicas``);
    ``public_url`` is where the public pages are reached (certificates' QR codes point
    there)."""
    metrics = Metrics()
    graphql = LedgerGraphQL(
        build_schema(production=production),
        graphql_ide=None if production else "graphiql",
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        production=production,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(read_side.open)
        stop = threading.Event()
        runner = threading.Thread(target=read_side.run, args=(stop,), daemon=True)
        if follow:
            runner.start()
        uri = as_uri(url)
        pool = await _pool(uri, 2)
        if read_side.create_tables:
            await create_token_table(pool)
        cache = ResultCache()
        listener = asyncio.create_task(follow_views(uri, cache))
        reads = await _replicas(pool, read_replicas, replica_max_lag)
        watcher = asyncio.create_task(reads.watch()) if reads is not None else None
        app.state.ledger, app.state.read_side = ledger, read_side
        app.state.pool, app.state.cache, app.state.tokens = pool, cache, TokenCache()
        app.state.database_url, app.state.verifier = url, verifier
        app.state.checkpoint_log = checkpoint_log
        app.state.reads = reads
        app.state.public_url = public_url
        try:
            yield
        finally:
            stop.set()
            for task in (listener, watcher):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if reads is not None:
                await reads.close()
            if follow:
                await anyio.to_thread.run_sync(runner.join)
            await pool.close()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/kiosk", kiosk_page),
            Route("/me", member_page),
            Route("/workbench", workbench_page),
            Route("/verify", verify_page),
            Route("/verify/{number}", verify_page),
            Route("/", lambda _: RedirectResponse("/kiosk")),
            Mount("/static", PageFiles(production=production), name="static"),
            WebSocketRoute("/graphql", graphql),
        ],
        lifespan=lifespan,
        exception_handlers={StarletteHTTPException: refused_by_router},
    )
    app.add_middleware(BodyLimit)
    app.add_middleware(ErrorBoundary)
    app.add_middleware(RequestLog, metrics=metrics, label=functools.partial(route_label, app))
    app.state.metrics = metrics
    return app


__all__ = ["create_app"]
