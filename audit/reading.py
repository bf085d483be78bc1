"""Reading the event store itself, in notification order, in batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg

READ_BATCH = 20_000


def stream(conn: psycopg.Connection[Any], name: str, query: str) -> Iterator[Any]:
    """The rows of ``query`` through a server-side cursor, ``READ_BATCH`` at a time."""
    with conn.cursor(name=name) as cursor:
        cursor.itersize = READ_BATCH
        cursor.execute(query)
        yield from cursor
