"""Telling the database being away (retry later) from a bug (INTERNAL)."""

from __future__ import annotations

import asyncpg
import psycopg
from eventsourcing import persistence

DB_TIMEOUT_SECONDS = 10.0
"""Every statement the server runs, and waiting for a pooled connection."""
CONNECT_TIMEOUT_SECONDS = 3.0

OUTAGES: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable (ConnectionError is one)
    TimeoutError,  # asyncpg's statement and connect timeouts
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.QueryCanceledError,  # statement_timeout
    psycopg.OperationalError,  # psycopg_pool.PoolTimeout is one
    psycopg.InterfaceError,
    persistence.OperationalError,
    persistence.InterfaceError,
)


def is_outage(error: BaseException | None) -> bool:
    """True for errors that mean the database is away or overloaded, not a bug."""
    while error is not None:
        if isinstance(error, OUTAGES):
            return True
        error = error.__cause__
    return False
