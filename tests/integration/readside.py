"""Helpers for tests of the read side."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from projections.runner import READ_MODELS


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every read model, as readers see them, in key order."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with psycopg.connect(url) as conn:
        for model in READ_MODELS:
            for table in model.tables:
                order = SQL(", ").join(Identifier(k) for k in table.key)
                rows[table.name] = conn.execute(
                    SQL("SELECT * FROM {} ORDER BY {}").format(Identifier(table.name), order)
                ).fetchall()
    return rows


def assert_same_rows(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> None:
    assert before.keys() == after.keys()
    for table, rows in before.items():
        assert rows == after[table], f"{table} differs"
