"""Settings from the environment, read in one place."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from psycopg.conninfo import conninfo_to_dict

from ledger.domain.limits import CHECKPOINT_EVERY_EVENTS, CHECKPOINT_EVERY_MINUTES

DEFAULT_ORIGIN = "volunteer-ledger.local/ledger"

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
"""Where the public pages are reached when nothing says otherwise (``ledger serve``'s default)."""


@dataclass(frozen=True)
class ConnectionLimits:
    """What one HTTP connection may hold of the server (``api.serving`` enforces it):
    a client that sends nothing, or sends slowly, gives its place up in bounded time,
    and one address cannot take every place."""

    header_seconds: float = 10.0
    """From a connection's (or a request's) first byte to the end of its headers."""
    body_seconds: float = 30.0
    """From the end of a request's headers to the end of its body, however it is paced."""
    total: int = 1000
    """Connections open at once, from all addresses."""
    per_client: int = 100
    """Connections open at once from one client address."""


@dataclass(frozen=True)
class Settings:
    """What the program needs to know about where it runs.

    ``database_url`` set means an external PostgreSQL; unset means the embedded
    server in ``data_dir``.
    """

    database_url: str | None
    data_dir: Path
    id_hash_key: bytes
    signing_key: bytes
    read_replicas: tuple[str, ...] = ()
    """Streaming standbys of ``database_url`` that answer GraphQL reads."""
    replica_max_lag: float = 5.0
    """Seconds behind the primary past which a standby is taken out of rotation."""
    public_url: str | None = None
    """Where the public pages are reached (``LEDGER_PUBLIC_URL``): a certificate's QR code
    points to ``<public_url>/verify/<number>``. Unset: the address ``ledger serve`` listens on."""
    log_origin: str = DEFAULT_ORIGIN
    public_key: str | None = None
    """The pinned verifier key (``<name>+<key ID>+<key>``) checkpoints are checked with."""
    checkpoint_log: Path | None = None
    """The append-only file outside the database that published checkpoints go to;
    None: nothing is signed."""
    checkpoint_every: int = CHECKPOINT_EVERY_EVENTS
    checkpoint_minutes: float = CHECKPOINT_EVERY_MINUTES
    create_tables: bool = True
    """False (``LEDGER_CREATE_TABLES=0``): the event store, the tokens and the read side's
    registry were created by ``ledger db grant``; this role may not create tables."""
    connections: ConnectionLimits = ConnectionLimits()

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``DATABASE_URL``, ``LEDGER_DATA_DIR``, ``LEDGER_ID_HASH_KEY``, the signing
    key (``LEDGER_SIGNING_KEY``, hex, or ``LEDGER_SIGNING_KEY_FILE``), ``LEDGER_PUBLIC_KEY``,
    ``LEDGER_LOG_ORIGIN``, ``LEDGER_CHECKPOINT_LOG``, ``LEDGER_CHECKPOINT_EVERY``,
    ``LEDGER_CHECKPOINT_MINUTES``, ``LEDGER_READ_REPLICAS`` (comma-separated URLs),
    ``LEDGER_REPLICA_MAX_LAG_SECONDS``, ``LEDGER_PUBLIC_URL`` and the connection limits
    (``LEDGER_HEADER_TIMEOUT_SECONDS``, ``LEDGER_BODY_TIMEOUT_SECONDS``,
    ``LEDGER_MAX_CONNECTIONS``, ``LEDGER_MAX_CONNECTIONS_PER_CLIENT``).

    The key that hashes national ID numbers must stay the same for the life of
    a ledger, or de-duplication breaks; without it in the environment it is generated
    on first use and kept in the data directory. The signing key (an Ed25519 seed)
    signs the Merkle tree's checkpoints and never lies in the data directory: without
    it in the environment it is generated into ``<data dir>.keys/`` (mode 0700), a
    folder the embedded server, which runs as its own system account when started by
    root, cannot read; a key file inside the data directory is refused. Published
    checkpoints go to ``<data dir>.log/checkpoints.jsonl`` (one file per database on an external
    server) unless set.
    """
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("LEDGER_DATA_DIR") or platformdirs.user_data_dir("volunteer-ledger"))
    data_dir = data_dir.expanduser().resolve()
    key_hex = env.get("LEDGER_ID_HASH_KEY")
    key = bytes.fromhex(key_hex) if key_hex else _stored_key(data_dir / "id-hash.key")
    signing_hex = env.get("LEDGER_SIGNING_KEY")
    key_file = Path(
        env.get("LEDGER_SIGNING_KEY_FILE") or f"{data_dir}.keys/signing.key"
    ).expanduser()
    if key_file.resolve().is_relative_to(data_dir) and not signing_hex:
        raise ValueError(f"签名密钥不能放在数据目录 {data_dir} 中(数据库可读),请另放")
    signing = bytes.fromhex(signing_hex) if signing_hex else _stored_key(key_file, private=True)
    database_url = env.get("DATABASE_URL") or None
    log = env.get("LEDGER_CHECKPOINT_LOG") or f"{data_dir}.log/{_log_name(database_url)}"
    replicas = tuple(u.strip() for u in env.get("LEDGER_READ_REPLICAS", "").split(",") if u.strip())
    lag = env.get("LEDGER_REPLICA_MAX_LAG_SECONDS") or "5"
    try:
        max_lag = float(lag)
    except ValueError:
        max_lag = -1.0
    if not 0 < max_lag <= 3600:
        raise ValueError(f"LEDGER_REPLICA_MAX_LAG_SECONDS 须为 0 到 3600 之间的秒数,而不是 {lag!r}")
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        id_hash_key=key,
        signing_key=signing,
        read_replicas=replicas,
        replica_max_lag=max_lag,
        public_url=_public_url(env.get("LEDGER_PUBLIC_URL")),
        log_origin=env.get("LEDGER_LOG_ORIGIN") or DEFAULT_ORIGIN,
        public_key=env.get("LEDGER_PUBLIC_KEY") or None,
        checkpoint_log=Path(log).expanduser(),
        checkpoint_every=int(env.get("LEDGER_CHECKPOINT_EVERY") or CHECKPOINT_EVERY_EVENTS),
        checkpoint_minutes=float(env.get("LEDGER_CHECKPOINT_MINUTES") or CHECKPOINT_EVERY_MINUTES),
        create_tables=env.get("LEDGER_CREATE_TABLES", "1").lower() not in ("0", "no", "false"),
        connections=_connection_limits(env),
    )


def _connection_limits(env: Mapping[str, str]) -> ConnectionLimits:
    default = ConnectionLimits()

    def number(name: str, value: float, kind: type[float] | type[int]) -> float:
        given = env.get(name) or str(value)
        try:
            parsed = kind(given)
        except ValueError:
            parsed = 0
        if not 0 < parsed <= 100_000:
            raise ValueError(f"{name} 须为 0 到 100000 之间的正数,而不是 {given!r}")
        return parsed

    return ConnectionLimits(
        header_seconds=number("LEDGER_HEADER_TIMEOUT_SECONDS", default.header_seconds, float),
        body_seconds=number("LEDGER_BODY_TIMEOUT_SECONDS", default.body_seconds, float),
        total=int(number("LEDGER_MAX_CONNECTIONS", default.total, int)),
        per_client=int(number("LEDGER_MAX_CONNECTIONS_PER_CLIENT", default.per_client, int)),
    )


def _public_url(value: str | None) -> str | None:
    if not value:
        return None
    if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value):
        raise ValueError(f"LEDGER_PUBLIC_URL 须为 http:// 或 https:// 开头的地址:{value!r}")
    return value.rstrip("/")


def _log_name(database_url: str | None) -> str:
    """One log per ledger: the embedded server's data directory holds one ledger; an
    external server's databases each get their own file."""
    if database_url is None:
        return "checkpoints.jsonl"
    params = conninfo_to_dict(database_url)
    where = f"{params.get('host')}:{params.get('port')}/{params.get('dbname')}"
    digest = hashlib.sha256(where.encode()).hexdigest()[:12]
    return f"checkpoints-{params.get('dbname') or 'ledger'}-{digest}.jsonl"


def _stored_key(path: Path, *, private: bool = False) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        if private:
            path.parent.chmod(0o700)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return bytes.fromhex(path.read_text().strip())
