"""Bearer tokens: stored only as hashes, each with a role and a scope.

- admin (no scope): everything.
- community (its communities): run and read them: tasks, services, store, people.
- unit (its unit): read its unit and its members; writes nothing.
- kiosk (one community's store): look up members living there, redeem, read the catalogue.
- auditor (no scope): read everything, write nothing.
- member (the member): their own data; claim, check in and out for themself.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

import asyncpg
import psycopg

from ledger.domain.values import Role

TOKEN_ROLES = (Role.ADMIN, Role.COMMUNITY, Role.UNIT, Role.KIOSK, Role.AUDITOR, Role.MEMBER)
SCOPED = {Role.COMMUNITY, Role.UNIT, Role.KIOSK, Role.MEMBER}
TOKEN_TTL_SECONDS = 5.0
MAX_CACHED_TOKENS = 10_000

CREATE_TOKENS = """
CREATE TABLE IF NOT EXISTS api_tokens (
    id uuid PRIMARY KEY,
    token_hash text UNIQUE NOT NULL,
    role text NOT NULL,
    scope uuid[] NOT NULL DEFAULT '{}',
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    expires_at timestamptz
);
ALTER TABLE api_tokens ADD COLUMN IF NOT EXISTS expires_at timestamptz;
"""
LOOKUP = (
    "SELECT id, role, scope FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL "
    "AND (expires_at IS NULL OR expires_at > now())"
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token's role and what it is scoped to."""

    token_id: UUID
    role: Role
    scope: frozenset[UUID]
    digest: str = ""

    @property
    def actor_id(self) -> str:
        return f"token:{self.token_id}"


@dataclass(frozen=True)
class TokenInfo:
    id: UUID
    role: Role
    scope: list[UUID]
    name: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None


class InvalidToken(ValueError):
    pass


class TokenCache:
    """Principals by token, looked up once every few seconds rather than per request:
    a revocation or an expiry takes effect within ``TOKEN_TTL_SECONDS``."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[float, Principal | None]] = {}

    async def principal(self, pool: asyncpg.Pool, token: str) -> Principal | None:
        return await self.by_digest(pool, hash_token(token))

    async def by_digest(self, pool: asyncpg.Pool, digest: str) -> Principal | None:
        now = time.monotonic()
        cached = self._known.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        row = await pool.fetchrow(LOOKUP, digest)
        found = (
            None
            if row is None
            else Principal(row["id"], Role(row["role"]), frozenset(row["scope"]), digest)
        )
        if len(self._known) > MAX_CACHED_TOKENS:
            self._known.clear()
        self._known[digest] = (now + TOKEN_TTL_SECONDS, found)
        return found


def create_token(
    url: str, role: Role, scope: list[UUID], name: str, expires_at: datetime | None = None
) -> tuple[UUID, str]:
    """Create a token; the token itself is returned once and never stored."""
    if role not in TOKEN_ROLES:
        raise InvalidToken(f"角色 {role.value} 不能用于令牌")
    if (role in SCOPED) != bool(scope):
        raise InvalidToken("该角色须指定范围" if role in SCOPED else "该角色不需要范围")
    if role in (Role.UNIT, Role.KIOSK, Role.MEMBER) and len(scope) != 1:
        raise InvalidToken("该角色的范围只能是一个对象")
    token = "lt_" + secrets.token_urlsafe(32)
    token_id = uuid4()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(CREATE_TOKENS)
        conn.execute(
            "INSERT INTO api_tokens (id, token_hash, role, scope, name, expires_at) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (token_id, hash_token(token), role.value, scope, name, expires_at),
        )
    return token_id, token


def revoke_token(url: str, token_id: UUID) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(CREATE_TOKENS)
        done = conn.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL",
            (token_id,),
        )
        return done.rowcount == 1


def list_tokens(url: str) -> list[TokenInfo]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(CREATE_TOKENS)
        rows = conn.execute(
            "SELECT id, role, scope, name, created_at, revoked_at, expires_at FROM api_tokens "
            "ORDER BY created_at"
        ).fetchall()
    return [TokenInfo(r[0], Role(r[1]), list(r[2]), r[3], r[4], r[5], r[6]) for r in rows]
