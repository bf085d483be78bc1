"""The API tokens' table: hashes of bearer tokens, each with a role and a scope.

The token table is read the same way as the read models (its statements here, run
by typed functions), though no event feeds it: a token is a credential, not part of
the ledger's history, and its revocation must hold at once. The command line writes
it with psycopg; the server reads it with asyncpg.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
import psycopg

from ledger.database import CONNECTION_LIMITS
from ledger.domain.values import Role

CREATE_TOKENS = """
CREATE TABLE IF NOT EXISTS api_tokens (
    id uuid PRIMARY KEY,
    token_hash text UNIQUE NOT NULL,
    role text NOT NULL,
    scope uuid[] NOT NULL DEFAULT '{}',
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    expires_at timestamptz,
    device text
);
ALTER TABLE api_tokens ADD COLUMN IF NOT EXISTS expires_at timestamptz;
ALTER TABLE api_tokens ADD COLUMN IF NOT EXISTS device text;
"""
LOOKUP = (
    "SELECT id, role, scope, device FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL "
    "AND (expires_at IS NULL OR expires_at > now())"
)
"""A token in force (neither revoked nor expired), by the hash of its secret."""
INSERT_TOKEN = (
    "INSERT INTO api_tokens (id, token_hash, role, scope, name, expires_at, device) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s)"
)
DEVICE_ELSEWHERE = (
    "SELECT 1 FROM api_tokens WHERE device = %s AND (role <> %s OR scope <> %s::uuid[]) LIMIT 1"
)
"""Another kiosk (another community's, or a token of another role) ever given this
device name, revoked or not: the device's request keys, and so its receipts, are its."""
LOCK_DEVICES = "SELECT pg_advisory_xact_lock(hashtext('api_tokens.device'))"
REVOKE_TOKEN = "UPDATE api_tokens SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL"
LIST_TOKENS = (
    "SELECT id, role, scope, name, created_at, revoked_at, expires_at, device FROM api_tokens "
    "ORDER BY created_at"
)


@dataclass(frozen=True)
class TokenInfo:
    id: UUID
    role: Role
    scope: list[UUID]
    name: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None
    device: str | None = None


@dataclass(frozen=True)
class TokenGrant:
    """What a token in force allows: its role and scope (and a kiosk's device)."""

    id: UUID
    role: Role
    scope: frozenset[UUID]
    device: str | None = None


def store_token(
    url: str,
    token_id: UUID,
    token_hash: str,
    role: Role,
    scope: list[UUID],
    name: str,
    expires_at: datetime | None,
    device: str | None = None,
) -> bool:
    """Store a token; False (and nothing stored) when its device belongs to another
    community's kiosk: a device name is one community's, whoever asks at once."""
    with psycopg.connect(url, autocommit=True, **CONNECTION_LIMITS) as conn:
        conn.execute(CREATE_TOKENS)
        with conn.transaction():
            if device is not None:
                conn.execute(LOCK_DEVICES)
                if conn.execute(DEVICE_ELSEWHERE, (device, role.value, scope)).fetchone():
                    return False
            conn.execute(
                INSERT_TOKEN, (token_id, token_hash, role.value, scope, name, expires_at, device)
            )
    return True


def revoke_token(url: str, token_id: UUID) -> bool:
    """Whether a token in force was revoked (False: unknown, or revoked before)."""
    with psycopg.connect(url, autocommit=True, **CONNECTION_LIMITS) as conn:
        conn.execute(CREATE_TOKENS)
        return conn.execute(REVOKE_TOKEN, (token_id,)).rowcount == 1


def list_tokens(url: str) -> list[TokenInfo]:
    """Every token ever made, revoked and expired ones too, oldest first."""
    with psycopg.connect(url, autocommit=True, **CONNECTION_LIMITS) as conn:
        conn.execute(CREATE_TOKENS)
        rows = conn.execute(LIST_TOKENS).fetchall()
    return [TokenInfo(r[0], Role(r[1]), list(r[2]), r[3], r[4], r[5], r[6], r[7]) for r in rows]


async def create_token_table(pool: asyncpg.Pool) -> None:
    await pool.execute(CREATE_TOKENS)


async def token_in_force(pool: asyncpg.Pool, token_hash: str) -> TokenGrant | None:
    row = await pool.fetchrow(LOOKUP, token_hash)
    if row is None:
        return None
    return TokenGrant(row["id"], Role(row["role"]), frozenset(row["scope"]), row["device"])


MEMBER_TOKENS = (
    "SELECT id, name, created_at, revoked_at FROM api_tokens "
    "WHERE role = 'member' AND scope = ARRAY[$1::uuid] ORDER BY created_at DESC, id"
)
INSERT_MEMBER_TOKEN = (
    "INSERT INTO api_tokens (id, token_hash, role, scope, name) "
    "VALUES ($1, $2, 'member', ARRAY[$3::uuid], $4)"
)
REVOKE_MEMBER_TOKEN = (
    "UPDATE api_tokens SET revoked_at = now() "
    "WHERE id = $1 AND role = 'member' AND scope = ARRAY[$2::uuid] AND revoked_at IS NULL"
)
MEMBER_TOKEN = (
    "SELECT 1 FROM api_tokens WHERE id = $1 AND role = 'member' AND scope = ARRAY[$2::uuid]"
)


async def member_tokens(pool: asyncpg.Pool, member_id: UUID) -> list[asyncpg.Record]:
    """A member's tokens (the phones signed in as them), the newest first."""
    return list(await pool.fetch(MEMBER_TOKENS, member_id))


async def store_member_token(
    pool: asyncpg.Pool, token_id: UUID, token_hash: str, member_id: UUID, device: str
) -> None:
    """A member's token, named after the phone that holds it."""
    await pool.execute(INSERT_MEMBER_TOKEN, token_id, token_hash, member_id, device)


async def is_member_token(pool: asyncpg.Pool, token_id: UUID, member_id: UUID) -> bool:
    """Whether a token (in force or not) is one of this member's."""
    return await pool.fetchval(MEMBER_TOKEN, token_id, member_id) is not None


async def revoke_member_token(pool: asyncpg.Pool, token_id: UUID, member_id: UUID) -> bool:
    """Whether a token in force of this member was revoked."""
    status: str = await pool.execute(REVOKE_MEMBER_TOKEN, token_id, member_id)
    return status == "UPDATE 1"
