"""Answers of read-model queries, kept until the read models move on.

A unit ranking reads every unit of the scope, and answering a GraphQL query of
a few hundred fields costs milliseconds of CPU: both cost far more than serving
a kept answer. The read models change only when the runner commits a batch,
which it announces with NOTIFY; every announcement empties the cache.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from cachetools import TTLCache

MAX_ENTRIES = 512
MAX_AGE_SECONDS = 30.0
"""A bound on staleness should a NOTIFY be lost (say the listening connection broke)."""
MISSING = object()


class ResultCache:
    """The least recently used answers go first; every answer ages out after
    ``max_age``, and every NOTIFY empties the cache."""

    def __init__(self, size: int = MAX_ENTRIES, max_age: float = MAX_AGE_SECONDS) -> None:
        self.version = 0
        self._entries: TTLCache[Hashable, Any] = TTLCache(maxsize=size, ttl=max_age)

    def invalidate(self, *_: object) -> None:
        """Called on every NOTIFY of the read models (an asyncpg listener callback)."""
        self.version += 1
        self._entries.clear()

    def lookup(self, key: Hashable) -> Any:
        """The kept answer, or ``MISSING``."""
        return self._entries.get(key, MISSING)

    def store(self, key: Hashable, value: Any, version: int) -> None:
        """Keep ``value`` if nothing moved since ``version`` was read."""
        if version == self.version:
            self._entries[key] = value

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> Any:
        value = self.lookup(key)
        if value is MISSING:
            version = self.version
            value = await compute()
            self.store(key, value, version)
        return value
