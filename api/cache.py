"""Answers of read-model queries, kept until the read models move on.

A unit ranking reads every unit of the scope, and answering a GraphQL query of
a few hundred fields costs milliseconds of CPU: both cost far more than serving
a kept answer. The read models change only when the runner commits a batch,
which it announces with NOTIFY; every announcement empties the cache.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

MAX_ENTRIES = 512
MISSING = object()


class ResultCache:
    def __init__(self, size: int = MAX_ENTRIES) -> None:
        self._size = size
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
        return self._entries[key]

    def store(self, key: Hashable, value: Any, version: int) -> None:
        """Keep ``value`` if nothing moved since ``version`` was read."""
        if version == self.version:
            self._entries[key] = value
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> Any:
        value = self.lookup(key)
        if value is MISSING:
            version = self.version
            value = await compute()
            self.store(key, value, version)
        return value
