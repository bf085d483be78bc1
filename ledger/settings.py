"""Settings from the environment, read in one place."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
"""Where the public pages are reached when nothing says otherwise (``ledger serve``'s default)."""


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

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``DATABASE_URL``, ``LEDGER_DATA_DIR``, ``LEDGER_ID_HASH_KEY``,
    ``LEDGER_SIGNING_KEY``, ``LEDGER_READ_REPLICAS`` (comma-separated URLs),
    ``LEDGER_REPLICA_MAX_LAG_SECONDS`` and ``LEDGER_PUBLIC_URL``.

    The key that hashes national ID numbers must stay the same for the life of
    a ledger, or de-duplication breaks; the signing key (an Ed25519 seed) signs
    the hash chain's checkpoints. Without them in the environment, each is
    generated on first use and kept in the data directory.
    """
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("LEDGER_DATA_DIR") or platformdirs.user_data_dir("volunteer-ledger"))
    data_dir = data_dir.expanduser().resolve()
    key_hex = env.get("LEDGER_ID_HASH_KEY")
    key = bytes.fromhex(key_hex) if key_hex else _stored_key(data_dir / "id-hash.key")
    signing_hex = env.get("LEDGER_SIGNING_KEY")
    signing = bytes.fromhex(signing_hex) if signing_hex else _stored_key(data_dir / "signing.key")
    replicas = tuple(u.strip() for u in env.get("LEDGER_READ_REPLICAS", "").split(",") if u.strip())
    lag = env.get("LEDGER_REPLICA_MAX_LAG_SECONDS") or "5"
    try:
        max_lag = float(lag)
    except ValueError:
        max_lag = -1.0
    if not 0 < max_lag <= 3600:
        raise ValueError(f"LEDGER_REPLICA_MAX_LAG_SECONDS 须为 0 到 3600 之间的秒数,而不是 {lag!r}")
    return Settings(
        database_url=env.get("DATABASE_URL") or None,
        data_dir=data_dir,
        id_hash_key=key,
        signing_key=signing,
        read_replicas=replicas,
        replica_max_lag=max_lag,
        public_url=_public_url(env.get("LEDGER_PUBLIC_URL")),
    )


def _public_url(value: str | None) -> str | None:
    if not value:
        return None
    if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value):
        raise ValueError(f"LEDGER_PUBLIC_URL 须为 http:// 或 https:// 开头的地址:{value!r}")
    return value.rstrip("/")


def _stored_key(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return bytes.fromhex(path.read_text().strip())
