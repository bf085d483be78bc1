"""Bearer tokens: stored only as hashes, each with a role and a scope.

- admin (no scope): everything.
- community (its communities): run and read them: tasks, services, store, people.
- unit (its unit): read its unit and its members; writes nothing.
- kiosk (one community's store): look up members living there, redeem, read the catalogue.
- auditor (no scope): read everything, write nothing.
- member (the member): their own data; claim, check in and out for themself.

The token table's statements live in ``projections.tokens``; here are the rules a
token obeys and the cache the server looks tokens up through.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from types import MappingProxyType
from uuid import UUID, uuid4

import asyncpg
from cachetools import TTLCache

from ledger.domain.limits import IDENTIFIER_PATTERN
from ledger.domain.values import Role
from projections.tokens import (
    CREATE_TOKENS,
    LOOKUP,
    TokenInfo,
    list_tokens,
    revoke_token,
    store_token,
    token_in_force,
)

__all__ = [
    "CREATE_TOKENS",
    "LOOKUP",
    "TOKEN_ROLES",
    "TOKEN_SCOPES",
    "InvalidToken",
    "Principal",
    "TokenCache",
    "TokenInfo",
    "TokenScope",
    "create_token",
    "hash_token",
    "list_tokens",
    "revoke_token",
]

TOKEN_TTL_SECONDS = 5.0
MAX_CACHED_TOKENS = 10_000


class TokenScope(Enum):
    """What a token of a role is scoped to."""

    NONE = "none"
    ONE = "one"
    SOME = "some"


TOKEN_SCOPES: Mapping[Role, TokenScope] = MappingProxyType(
    {
        Role.ADMIN: TokenScope.NONE,
        Role.COMMUNITY: TokenScope.SOME,
        Role.UNIT: TokenScope.ONE,
        Role.KIOSK: TokenScope.ONE,
        Role.AUDITOR: TokenScope.NONE,
        Role.MEMBER: TokenScope.ONE,
    }
)
"""The roles a token can have (every role but the ledger's own jobs), with their scope."""
TOKEN_ROLES = tuple(TOKEN_SCOPES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token's role and what it is scoped to."""

    token_id: UUID
    role: Role
    scope: frozenset[UUID]
    digest: str = ""
    device: str | None = None

    @property
    def actor_id(self) -> str:
        return f"token:{self.token_id}"

    @property
    def key_scope(self) -> str:
        """What scopes a request's key (a redemption's and every other write's): the
        token's device, so a reissued token keeps it; a token without one, the token
        itself."""
        return f"device:{self.device}" if self.device else self.actor_id


class InvalidToken(ValueError):
    pass


class TokenCache:
    """Principals by token, looked up once every few seconds rather than per request:
    a revocation or an expiry takes effect within ``TOKEN_TTL_SECONDS``."""

    def __init__(self) -> None:
        self._known: TTLCache[str, Principal | None] = TTLCache(
            maxsize=MAX_CACHED_TOKENS, ttl=TOKEN_TTL_SECONDS
        )

    async def principal(self, pool: asyncpg.Pool, token: str) -> Principal | None:
        return await self.by_digest(pool, hash_token(token))

    async def by_digest(self, pool: asyncpg.Pool, digest: str) -> Principal | None:
        try:
            return self._known[digest]  # None too: an unknown token is remembered as such
        except KeyError:
            pass
        grant = await token_in_force(pool, digest)
        found = (
            None
            if grant is None
            else Principal(grant.id, grant.role, grant.scope, digest, grant.device)
        )
        self._known[digest] = found
        return found


def _check_scope(role: Role, scope: list[UUID]) -> None:
    rule = TOKEN_SCOPES.get(role)
    if rule is None:
        raise InvalidToken(f"角色 {role.value} 不能用于令牌")
    if (rule is not TokenScope.NONE) != bool(scope):
        raise InvalidToken("该角色不需要范围" if rule is TokenScope.NONE else "该角色须指定范围")
    if rule is TokenScope.ONE and len(scope) != 1:
        raise InvalidToken("该角色的范围只能是一个对象")


def create_token(
    url: str,
    role: Role,
    scope: list[UUID],
    name: str,
    expires_at: datetime | None = None,
    device: str | None = None,
) -> tuple[UUID, str]:
    """Create a token; the token itself is returned once and never stored. Only a
    kiosk's token names a device (an identifier: ASCII letters, digits, ``._:-``), and a
    device belongs to one community's kiosk for good."""
    _check_scope(role, scope)
    if device is not None:
        if role is not Role.KIOSK:
            raise InvalidToken("只有终端令牌可以指定设备")
        if not IDENTIFIER_PATTERN.fullmatch(device):
            raise InvalidToken("设备编号只能由字母、数字和 ._:- 组成")
    token = "lt_" + secrets.token_urlsafe(32)
    token_id = uuid4()
    if not store_token(url, token_id, hash_token(token), role, scope, name, expires_at, device):
        raise InvalidToken(f"设备 {device} 已是另一个社区的终端,不能再用于这个范围的令牌")
    return token_id, token
