"""What every mutation shares: scope checks, running a command in a worker thread,
and turning its receipt or its domain error into the GraphQL result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar
from uuid import UUID

import strawberry

from api.context import Info, RequestContext
from api.errors import forbidden, problem
from api.types import Receipt
from ledger.domain.errors import (
    LedgerError,
    NotFound,
    UnknownDevice,
    UnknownStreet,
    UnknownUnit,
)
from ledger.domain.values import Role

KEY_DESCRIPTION = (
    "请求编号(幂等键,可选):同一令牌(或其设备)用同一编号重试同一请求,只执行一次并返回首次结果;"
    "同一编号用于不同请求则返回 IdempotencyKeyReused"
)
T = TypeVar("T")

Key = Annotated[str | None, strawberry.argument(description=KEY_DESCRIPTION)]
"""Every mutation that writes takes this argument: one convention for the whole API."""


async def run_command(
    ctx: RequestContext,
    allowed: bool,
    what: str,
    command: Callable[..., Any],
    *args: Any,
    refine: Callable[[LedgerError], Awaitable[Any]] | None = None,
    key: str | None = None,
    shown: Callable[[Any], Any] | None = None,
    **kwargs: Any,
) -> Any:
    """``refine`` translates a domain error where the usual translation would say
    more than the caller may know. ``key`` is the client's: scoped by the token
    (or its device), never by anything the request says. ``shown`` makes the
    answer from the command's receipt, where it is more than a receipt."""
    if ctx.principal is None or not allowed:
        return forbidden(what)
    scope = ctx.principal.key_scope
    try:
        receipt = await ctx.write(
            ctx.ledger.keyed, scope, key, command, *args, ctx=ctx.actor(), **kwargs
        )
    except LedgerError as error:
        if refine is not None and not isinstance(error, NotFound):
            return await refine(error)
        return refusal(ctx, error, what)
    if shown is not None:
        return shown(receipt)
    return Receipt(
        id=receipt.id,
        position=receipt.position,
        created=list(receipt.created),
        replayed=receipt.replayed,
    )


PUBLIC_OR_OWN: tuple[type[NotFound], ...] = (UnknownStreet, UnknownUnit, UnknownDevice)
"""Ids no token has out of its scope: streets and units are named to everyone, and a
sign-in device is looked up among the member's own, whose scope was checked first."""


def refusal(ctx: RequestContext, error: LedgerError, what: str) -> Any:
    """The one rule against an existence oracle: to a token that does not run everything,
    an id that does not exist answers as an id out of its scope does (``FORBIDDEN``), and
    so does an id the domain finds in another community (``NotFound`` and its kind:
    a grid, need, item or member of another community). Only an admin learns which."""
    hidden = isinstance(error, NotFound) and not isinstance(error, PUBLIC_OR_OWN)
    if hidden and not is_admin(ctx):
        return forbidden(what)
    return problem(error)


async def found(ctx: RequestContext, getter: Callable[[UUID], T], id_: UUID) -> T | None:
    """The task, service, item, redemption or member with this id (None: unknown)."""
    try:
        return await ctx.write(getter, id_)
    except NotFound:
        return None


async def home_of(ctx: RequestContext, getter: Callable[[UUID], Any], id_: UUID) -> Any:
    """The community a task, service, item, redemption or member belongs to (None: unknown)."""
    thing = await found(ctx, getter, id_)
    return getattr(thing, "community_id", None) or getattr(thing, "store_id", None)


async def service_command(
    info: Info,
    service_id: UUID,
    what: str,
    command: Callable[..., Any],
    *args: Any,
    member_may: bool = False,
    **kwargs: Any,
) -> Any:
    ctx = info.context
    service = await found(ctx, ctx.ledger.get_service, service_id)
    home = None if service is None else service.community_id
    allowed = ctx.runs_community(home) or (
        member_may and service is not None and ctx.scoped(Role.MEMBER, service.member_id)
    )
    return await run_command(ctx, allowed, what, command, service_id, *args, **kwargs)


def is_admin(ctx: RequestContext) -> bool:
    return ctx.role is Role.ADMIN
