"""Answers of read-model queries, kept until the read models move on.

A unit ranking reads every unit of the scope, and answering a GraphQL query of
a few hundred fields costs milliseconds of CPU: both cost far more than serving
a kept answer. The read models change only when the runner commits a batch,
which it announces with NOTIFY; every announcement empties the cache.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

MAX_ENTRIES = 512
MAX_AGE_SECONDS = 30.0
"""A bound on staleness should a NOTIFY be lost (say the listening connection broke)."""
MISSING = object()


class ResultCache:
    def __init__(self, size: int = MAX_ENTRIES, max_age: float = MAX_AGE_SECONDS) -> None:
        self._size = size
        self._max_age = max_age
        self.version = 0
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()

    def invalidate(self, *_: object) -> None:
        """Called on every NOTIFY of the read models (an asyncpg listener callback)."""
        self.version += 1
        self._entries.clear()

    def lookup(self, key: Hashable) -> Any:
        """The kept answer, or ``MISSING``."""
        try:
            self._entries.move_to_end(key)
        except KeyError:
            return MISSING
        stored_at, value = self._entries[key]
        if time.monotonic() - stored_at > self._max_age:
            del self._entries[key]
            return MISSING
        return value

    def store(self, key: Hashable, value: Any, version: int) -> None:
        """Keep ``value`` if nothing moved since ``version`` was read."""
        if version == self.version:
            self._entries[key] = (time.monotonic(), value)
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> Any:
        value = self.lookup(key)
        if value is MISSING:
            version = self.version
            value = await compute()
            self.store(key, value, version)
        return value
