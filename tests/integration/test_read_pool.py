"""The server's read pools give a connection back without the reset statement; what the
reset was for still holds for our reads: the subscription's LISTEN, ended by the
subscription, is gone when the next user takes the same connection."""

from __future__ import annotations

import asyncio

from api.app import _pool
from ledger.database import as_uri


async def test_a_connection_comes_back_without_the_listen_it_ended(database_url: str) -> None:
    pool = await _pool(as_uri(database_url), 1)

    def wake(*_: object) -> None:
        return None

    try:
        async with asyncio.timeout(30):
            async with pool.acquire() as conn:
                pid = await conn.fetchval("SELECT pg_backend_pid()")
                await conn.add_listener("views_test", wake)
                assert await conn.fetchval("SELECT count(*) FROM pg_listening_channels()") == 1
                await conn.remove_listener("views_test", wake)
            async with pool.acquire() as conn:
                assert await conn.fetchval("SELECT pg_backend_pid()") == pid  # the same one
                assert await conn.fetchval("SELECT count(*) FROM pg_listening_channels()") == 0
    finally:
        await pool.close()
