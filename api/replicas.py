"""Reads on PostgreSQL streaming replicas.

GraphQL queries are answered from a standby when one is in rotation; writes go to
the ledger (the primary) as before. A standby is in rotation while it answers and
has replayed, within ``max_lag`` seconds, everything the primary had written: each
watch (every ``WATCH_SECONDS``) notes the primary's WAL position, and a standby's
lag is how long ago the primary was at the position the standby has now replayed.

Read-your-writes: a request that waits for a position (``waitFor``) waits for the
read models on the primary, then reads from its standby only once that standby has
replayed past the primary's WAL position of that moment; otherwise from the primary.
A kept answer (``api.cache``) computed on a standby is kept only if the standby had
replayed past the last change the cache was told of (NOTIFY carries its position).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from ledger.database import is_outage
from projections import queries

log = logging.getLogger("api")

WATCH_SECONDS = 0.5
MAX_LAG_SECONDS = 5.0
CATCH_UP_SECONDS = 2.0
"""How long a read that waited for a position waits for its standby to replay it
before it is answered from the primary instead."""
PROBE_TIMEOUT_SECONDS = 1.0


@dataclass
class Replica:
    name: str
    """The standby's address without credentials, as ``/readyz`` shows it."""
    pool: asyncpg.Pool
    in_rotation: bool = False
    replayed: int = -1
    """The last WAL position (bytes) the standby was seen to have replayed."""
    lag_seconds: float | None = None
    error: str | None = None


@dataclass
class Replicas:
    """The primary's pool and the standbys' pools; ``pool_for_reading`` picks one."""

    primary: asyncpg.Pool
    replicas: Sequence[Replica] = ()
    max_lag: float = MAX_LAG_SECONDS
    _turn: itertools.cycle[int] = field(init=False)
    _history: deque[tuple[float, int]] = field(init=False, default_factory=deque)

    def __post_init__(self) -> None:
        self._turn = itertools.cycle(range(max(1, len(self.replicas))))

    def choose(self) -> Replica | None:
        """The next standby in rotation, or None (read from the primary)."""
        for _ in range(len(self.replicas)):
            replica = self.replicas[next(self._turn)]
            if replica.in_rotation:
                return replica
        return None

    async def caught_up(self, replica: Replica, position: int) -> bool:
        """Whether ``replica`` replays WAL ``position`` within ``CATCH_UP_SECONDS``."""
        deadline = time.monotonic() + CATCH_UP_SECONDS
        delay = 0.005
        while True:
            replayed = await self.probe(replica)
            if replayed is None:
                return False
            if replayed >= position:
                replica.replayed = max(replica.replayed, replayed)
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)

    async def watch(self) -> None:
        """Keep each standby's lag and rotation up to date, until cancelled."""
        while True:
            await self.watch_once()
            await asyncio.sleep(WATCH_SECONDS)

    async def watch_once(self) -> None:
        now = time.monotonic()
        try:
            written = await queries.written_wal(self.primary, PROBE_TIMEOUT_SECONDS)
        except Exception as error:
            if not is_outage(error):
                raise
            return  # the primary is away: the standbys keep their last standing
        self._history.append((now, written))
        while self._history and now - self._history[0][0] > 2 * self.max_lag + WATCH_SECONDS:
            self._history.popleft()
        for replica in self.replicas:
            replayed = await self.probe(replica)
            if replayed is None:
                continue
            replica.replayed, replica.error = replayed, None
            # Lag: how long ago the primary had written no more than the standby replayed.
            behind_since = [t for t, at in self._history if at > replayed]
            replica.lag_seconds = now - behind_since[0] if behind_since else 0.0
            rotating = replica.lag_seconds <= self.max_lag
            if rotating != replica.in_rotation:
                log.warning(
                    "replica %s %s (lag %.1f s)",
                    replica.name,
                    "back in rotation" if rotating else "out of rotation",
                    replica.lag_seconds,
                )
            replica.in_rotation = rotating

    async def probe(self, replica: Replica) -> int | None:
        """How far ``replica`` has replayed the WAL; None, and out of rotation at once,
        if it does not answer or is no standby (promoted, or never one)."""
        try:
            replayed = await queries.replayed_wal(replica.pool, PROBE_TIMEOUT_SECONDS)
        except Exception as error:
            if not is_outage(error):
                raise
            self._drop(replica, error)
            return None
        if replayed is None:
            self._drop(replica, "不是备库(pg_last_wal_replay_lsn 为空)")
        return replayed

    def _drop(self, replica: Replica, error: object) -> None:
        if replica.in_rotation:
            log.warning("replica %s out of rotation: %r", replica.name, error)
        replica.in_rotation, replica.lag_seconds = False, None
        replica.error = error if isinstance(error, str) else type(error).__name__

    def status(self) -> list[dict[str, object]]:
        return [
            {
                "name": r.name,
                "in_rotation": r.in_rotation,
                "lag_seconds": None if r.lag_seconds is None else round(r.lag_seconds, 3),
                "error": r.error,
            }
            for r in self.replicas
        ]

    async def close(self) -> None:
        for replica in self.replicas:
            with contextlib.suppress(Exception):
                await replica.pool.close()
