"""What the benchmarks share: a database to run in, and timing."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

from ledger.database import EmbeddedServer, database_url, drop_database, ensure_database


@contextlib.contextmanager
def bench_database() -> Iterator[str]:
    """A fresh database on ``DATABASE_URL``'s server, or on a throwaway embedded server."""
    name = f"bench_{uuid4().hex[:10]}"
    external = os.environ.get("DATABASE_URL")
    with contextlib.ExitStack() as stack:
        if external:
            base = external
        else:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ledger-bench-")))
            server = EmbeddedServer(tmp / "pgdata")
            stack.callback(server.stop)
            base = server.url()
        url = database_url(base, name)
        ensure_database(url)
        stack.callback(drop_database, url)
        yield url


def rate(count: int, run: Callable[[], object]) -> float:
    """Operations per second of ``run``, which performs ``count`` operations."""
    started = time.perf_counter()
    run()
    return count / (time.perf_counter() - started)
