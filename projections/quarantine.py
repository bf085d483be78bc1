"""Events a read model could not apply, set aside with their reason.

The runner applies a failed batch one event at a time; an event that still fails
alone is recorded here in the same transaction that moves the read model past it,
so nothing is skipped without a trace and the runner goes on. Rows belong to a
generation of a read model and go with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg import Connection, Cursor
from psycopg.rows import DictRow

TABLE = "read_model_quarantine"
CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    generation text, position bigint, model text NOT NULL, topic text NOT NULL,
    originator_id text NOT NULL, error text NOT NULL, at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (generation, position))
"""
INSERT = (
    f"INSERT INTO {TABLE} (generation, position, model, topic, originator_id, error) "
    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)
SELECT = (
    f"SELECT model, generation, position, topic, originator_id, error, at FROM {TABLE} "
    "WHERE generation = ANY(%s) ORDER BY position, model"
)
FORGET = f"DELETE FROM {TABLE} WHERE generation = %s"
MAX_REASON_CHARS = 2000


@dataclass(frozen=True)
class Quarantined:
    """An event a read model could not apply, so that an operator can see it, mend the
    code and rebuild (``ledger quarantine list``, ``ledger quarantine retry``)."""

    model: str
    generation: str
    position: int
    topic: str
    originator_id: str
    error: str
    at: datetime


def record(
    curs: Cursor[DictRow],
    generation: str,
    position: int,
    model: str,
    topic: str,
    originator_id: str,
    error: Exception,
) -> str:
    reason = f"{type(error).__name__}: {error}"[:MAX_REASON_CHARS]
    curs.execute(INSERT, (generation, position, model, topic, originator_id, reason))
    return reason


def held(conn: Connection[DictRow], generations: list[str]) -> list[Quarantined]:
    return [Quarantined(**row) for row in conn.execute(SELECT, (generations,)).fetchall()]


def forget(curs: Cursor[DictRow], generation: str) -> None:
    curs.execute(FORGET, (generation,))
