"""Results of read-model queries, kept until the read models move on.

A unit ranking reads every unit of the scope; computing it costs far more than
serving it. The read models change only when the runner commits a batch, which
it announces with NOTIFY; every announcement empties the cache.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

MAX_ENTRIES = 512


class ResultCache:
    def __init__(self, size: int = MAX_ENTRIES) -> None:
        self._size = size
        self._version = 0
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()

    def invalidate(self, *_: object) -> None:
        """Called on every NOTIFY of the read models (an asyncpg listener callback)."""
        self._version += 1
        self._entries.clear()

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> Any:
        try:
            self._entries.move_to_end(key)
            return self._entries[key]
        except KeyError:
            pass
        version = self._version
        value = await compute()
        if version == self._version:  # nothing moved while it was computed
            self._entries[key] = value
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value
