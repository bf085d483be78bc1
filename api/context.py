"""What every resolver gets: who is calling, the database pool, the ledger, the read side."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import anyio.to_thread
import asyncpg
import strawberry
from graphql import GraphQLError

from api.auth import Principal, TokenCache
from api.cache import ResultCache
from api.observability import Metrics
from api.replicas import Replica, Replicas
from ledger.application import Ledger
from ledger.domain.member import reads_full_names
from ledger.domain.values import Context as Actor
from ledger.domain.values import Role
from ledger.settings import DEFAULT_PUBLIC_URL
from projections import queries
from projections.notes import Verifier
from projections.queries.names import Names, Wanted, names
from projections.runner import ReadSide

T = TypeVar("T")
MAX_WAIT_SECONDS = 5.0
WAIT_POLL_SECONDS = 1.0
"""The least time a look at the read models' positions is given, near the end of a wait."""
COMMAND_TIMEOUT_SECONDS = 15.0
"""How long a client waits for a command. Past it the client is told to retry
(``UNAVAILABLE``); the command may still complete, which a retry with the same key
finds instead of doing it again."""


class NotAllowed(GraphQLError):
    """A read the caller's token may not make."""

    def __init__(self, what: str) -> None:
        super().__init__(f"当前令牌无权读取{what}", extensions={"code": "FORBIDDEN"})


class BadArgument(GraphQLError):
    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": "INVALID_INPUT"})


class NotReady(GraphQLError):
    def __init__(self, position: int) -> None:
        super().__init__(
            f"读模型在等待时间内未处理到位置 {position},请稍后再试",
            extensions={"code": "NOT_CAUGHT_UP"},
        )


@dataclass
class RequestContext:
    principal: Principal | None
    pool: asyncpg.Pool
    ledger: Ledger
    read_side: ReadSide
    cache: ResultCache
    tokens: TokenCache
    correlation_id: str
    device: str | None = None
    database_url: str = ""
    verifier: Verifier | None = None
    """The ledger's pinned public key, from settings."""
    checkpoint_log: Path | None = None
    """The outside log of published checkpoints, from settings."""
    public_url: str = DEFAULT_PUBLIC_URL
    """Where the public pages are reached (a certificate's QR code points there)."""
    metrics: Metrics | None = None
    loaders: dict[str, Any] = field(default_factory=dict)
    reads: Replicas | None = None
    """The primary and its standbys, when reads go to standbys."""
    replica: Replica | None = None
    """The standby ``pool`` belongs to (None: the primary)."""
    keep_answer: bool = True
    """False when an answer depends on more than the read models (a code's expiry, the
    clock): the server then does not keep it for the next identical request."""

    # --- who may do what ------------------------------------------------------------

    @property
    def role(self) -> Role | None:
        return None if self.principal is None else self.principal.role

    def scoped(self, role: Role, target: UUID | None) -> bool:
        return self.role is role and target is not None and target in self.principal.scope  # type: ignore[union-attr]

    def reads_everything(self) -> bool:
        return self.role in (Role.ADMIN, Role.AUDITOR)

    def runs_community(self, community_id: UUID | None) -> bool:
        return self.role is Role.ADMIN or self.scoped(Role.COMMUNITY, community_id)

    def reads_community(self, community_id: UUID | None) -> bool:
        return self.reads_everything() or self.scoped(Role.COMMUNITY, community_id)

    def reads_member(self, member: asyncpg.Record) -> bool:
        return (
            self.reads_everything()
            or self.scoped(Role.COMMUNITY, member["community_id"])
            or self.scoped(Role.UNIT, member["unit_id"])
            or self.scoped(Role.KIOSK, member["community_id"])
            or self.scoped(Role.MEMBER, member["member_id"])
        )

    def reads_unit_ranking(self, community_id: UUID | None) -> bool:
        """Units' rankings: a unit sees where it stands everywhere; a community sees
        the units paired with it, not the street's or another community's."""
        return self.role in (Role.ADMIN, Role.AUDITOR, Role.UNIT) or self.scoped(
            Role.COMMUNITY, community_id
        )

    async def still_authorised(self) -> bool:
        """Whether the token is still valid (not revoked, not expired): long-lived
        answers such as subscriptions ask this as they go."""
        if self.principal is None:
            return False
        primary = self.pool if self.reads is None else self.reads.primary
        return await self.tokens.by_digest(primary, self.principal.digest) is not None

    def require(self, allowed: bool, what: str) -> None:
        if not allowed:
            raise NotAllowed(what)

    async def names(self, wanted: Wanted) -> Names:
        """The names of what a page holds, masked as this reader's role requires."""
        return await names(self.pool, wanted, full=reads_full_names(self.role))

    # --- doing it ----------------------------------------------------------------------

    def actor(self) -> Actor:
        assert self.principal is not None
        return Actor(
            actor_id=self.principal.actor_id,
            role=self.principal.role,
            device=self.device,
            correlation_id=self.correlation_id,
        )

    async def write(self, command: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a ledger command in a worker thread (the library is synchronous), for
        at most ``COMMAND_TIMEOUT_SECONDS`` (the library retries a lost connection)."""
        with anyio.fail_after(COMMAND_TIMEOUT_SECONDS):
            return await anyio.to_thread.run_sync(
                functools.partial(command, *args, **kwargs), abandon_on_cancel=True
            )

    async def wait_for(self, position: int | None) -> None:
        """Read-your-writes: wait until every read model has processed ``position``, for
        at most ``MAX_WAIT_SECONDS``; a standby then answers only once it has replayed
        that far, else the primary. Each look at the read models' positions is bounded
        too: a database that does not answer is an outage (``UNAVAILABLE``), not a
        read model behind."""
        if position is None:
            return
        primary = self.pool if self.reads is None else self.reads.primary
        deadline = anyio.current_time() + MAX_WAIT_SECONDS
        delay = 0.005
        while True:
            left = deadline - anyio.current_time()
            with anyio.fail_after(max(left, WAIT_POLL_SECONDS)):
                done = await self._positions(primary)
            if done and all(at >= position for at in done):
                break
            if left <= 0:
                raise NotReady(position)
            await anyio.sleep(min(delay, left))
            delay = min(delay * 2, 0.1)
        if self.reads is not None and self.replica is not None:
            written = await queries.written_wal(self.reads.primary, MAX_WAIT_SECONDS)
            if not await self.reads.caught_up(self.replica, written):
                self.pool, self.replica = self.reads.primary, None

    async def _positions(self, pool: asyncpg.Pool) -> list[int]:
        """Where the live read models are; a generation another process switched to
        (and dropped this one's tables of) is followed."""
        name = self.read_side.ledger.name
        try:
            return await queries.positions(pool, self.read_side.tracking_tables(), name)
        except asyncpg.UndefinedTableError:
            await anyio.to_thread.run_sync(self.read_side.refresh)
            return await queries.positions(pool, self.read_side.tracking_tables(), name)


Info = strawberry.Info[RequestContext, None]
