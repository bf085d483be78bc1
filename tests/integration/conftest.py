"""A module's read side over its ledger, opened once, and a connection to read it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from ledger.application import Ledger
from projections.runner import ReadSide


@pytest.fixture(scope="module")
def read_side(ledger: Ledger) -> ReadSide:
    side = ReadSide(ledger)
    side.open()
    return side


@pytest.fixture
async def db(database_url: str, read_side: ReadSide) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()
