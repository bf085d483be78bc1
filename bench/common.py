"""What the benchmarks share: a database to run in, and timing."""

from __future__ import annotations

import contextlib
import csv
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from uuid import uuid4

import httpx
from starlette.applications import Starlette

from ledger.database import EmbeddedServer, database_url, drop_database, ensure_database
from ledger.importer import HEADERS


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


@contextlib.contextmanager
def running_server(factory: str, env: dict[str, str]) -> Iterator[str]:
    """An app factory (``module:function``) served by uvicorn in its own process, with
    ``env`` added to this one's; yields its base URL once ``/healthz`` answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "uvicorn", factory, "--factory", "--port", str(port)]
    with subprocess.Popen(
        [*command, "--log-level", "warning"], env={**os.environ, **env}
    ) as server:
        try:
            base = f"http://127.0.0.1:{port}"
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
                if server.poll() is not None:
                    raise RuntimeError(f"the server exited with {server.returncode}")
            yield base
        finally:
            server.terminate()


SERVING = contextlib.ExitStack()
"""The services a served app uses, open for the life of its process."""


def served_app(*, follow: bool) -> Starlette:
    """The real application over the bootstrapped ledger, for an app factory."""
    from api.app import create_app
    from api.serving import settle_gc
    from entrypoints.bootstrap import bootstrap
    from projections.tree import pinned_verifier

    services = SERVING.enter_context(bootstrap())
    app = create_app(
        services.url,
        services.ledger,
        services.read_side,
        pinned_verifier(services.settings),
        follow=follow,
        read_replicas=services.settings.read_replicas,
        replica_max_lag=services.settings.replica_max_lag,
    )
    settle_gc()  # as ``ledger serve`` does
    return app


CATEGORIES = ("巡逻", "清洁卫生", "政策宣讲", "应急保障")


def service_records(path: Path, rows: int) -> list[list[str]]:
    """A CSV of ``rows`` past service records for ``ledger import services`` (members,
    units and communities of one street, one service per row); the rows as written."""
    rng = random.Random(3)
    served: dict[int, int] = {}
    lines = []
    for n in range(rows):
        member = rng.randrange(rows // 10 + 1)
        # A member's k-th service takes the k-th of three non-overlapping slots a day.
        k = served[member] = served.get(member, -1) + 1
        on = date(2025, 1, 1) + timedelta(days=(member + 5 * (k // 3)) % 365)
        start = ("08:00", "14:00", "19:00")[k % 3]
        lines.append(
            [
                f"R{n:07d}",
                f"成员{member}",
                "",
                f"139{member:08d}",
                "党员",
                f"单位{member % 300}",
                f"社区{member % 12}",
                "果园街道",
                CATEGORIES[n % 4],
                on.isoformat(),
                start,
                "",
                str(rng.choice((1, 2, 3))),
                rng.choice(("很好", "好", "一般")),
            ]
        )
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(list(HEADERS))
        writer.writerows(lines)
    return lines
