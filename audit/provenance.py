"""Every event of an aggregate, with who did it, when, why, and the points it moved:
the ids and codes for machines, and beside them the words an auditor reads (the
event, the token holder, the role, the device and the cause, named by
``projections.queries.names``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from ledger.application import Ledger
from ledger.domain.account import Account
from projections.queries.names import Wanted, event_word, names_sync, role_word


def decoded(ledger: Ledger, row: dict[str, Any]) -> Any:
    """The domain event of a row read from the event store."""
    return ledger.mapper.to_domain_event(
        Notification(
            id=row["notification_id"],
            originator_id=row["originator_id"],
            originator_version=row["originator_version"],
            topic=row["topic"],
            state=bytes(row["state"]),
        )
    )


def value_at(event: Any) -> datetime | None:
    """The moment a points movement belongs to (None: the event moves no points)."""
    return getattr(event, "value_at", None)


def belongs_to(event: Any) -> datetime:
    """The moment an event counts in a period: a movement's value date, else when it
    was recorded."""
    return value_at(event) or event.timestamp


@dataclass(frozen=True)
class HistoryLine:
    """One event of an aggregate's history and who, when, why and under which rules."""

    position: int
    aggregate_id: UUID
    version: int
    event: str
    at: datetime  # when it was recorded (记账时间)
    value_at: datetime | None  # the moment a movement belongs to (发生时间)
    actor: str | None
    role: str | None
    device: str | None
    correlation_id: str | None
    policy_version: int | None
    amount: Decimal | None
    cause: str | None
    balance: Decimal | None  # the member's spendable balance after it (account events)
    event_name: str = ""
    actor_name: str | None = None
    role_name: str | None = None
    device_name: str | None = None
    summary: str = ""  # the event in words, with its cause: 获得积分:服务「汛期巡查」


def _wanted(events: list[Any]) -> Wanted:
    """What the events' words are looked up for: who did them, on which device, why."""
    wanted = Wanted()
    for event in events:
        ctx, cause = getattr(event, "ctx", None), getattr(event, "cause", None)
        if ctx is not None:
            wanted.actor(ctx.actor_id, ctx.device)
        if cause is not None:
            wanted.cause(cause.kind, cause.id)
    return wanted


def history(ledger: Ledger, aggregate_id: UUID) -> list[HistoryLine]:
    """Every event of an aggregate in order; a member's history includes their account's."""
    ids = [aggregate_id]
    account_id = Account.create_id(aggregate_id)
    with ledger.group_recorder.datastore.get_connection() as conn:
        if conn.execute(
            "SELECT 1 FROM ledger_events WHERE originator_id = %s LIMIT 1", (account_id,)
        ).fetchone():
            ids.append(account_id)
        rows = conn.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM ledger_events WHERE originator_id = ANY(%s) ORDER BY notification_id",
            (ids,),
        ).fetchall()
        events = [decoded(ledger, row) for row in rows]
        names = names_sync(conn, _wanted(events), full=False)
    lines = []
    account: Account | None = None
    for row, event in zip(rows, events, strict=True):
        balance = None
        if row["originator_id"] == account_id:
            account = event.mutate(account)
            balance = account.balance if account is not None else None
        ctx = getattr(event, "ctx", None)
        cause = getattr(event, "cause", None)
        name = row["topic"].rsplit(":", 1)[-1]
        said = event_word(name)
        lines.append(
            HistoryLine(
                position=row["notification_id"],
                aggregate_id=row["originator_id"],
                version=row["originator_version"],
                event=name,
                at=event.timestamp,
                value_at=value_at(event),
                actor=ctx.actor_id if ctx else None,
                role=ctx.role.value if ctx else None,
                device=ctx.device if ctx else None,
                correlation_id=ctx.correlation_id if ctx else None,
                policy_version=getattr(event, "policy_version", None),
                amount=getattr(event, "amount", None),
                cause=f"{cause.kind.value}:{cause.id or ''}" if cause else None,
                balance=balance,
                event_name=said,
                actor_name=names.actor(ctx.actor_id) if ctx else None,
                role_name=role_word(ctx.role) if ctx else None,
                device_name=names.device(ctx.device) if ctx else None,
                summary=f"{said}:{names.cause(cause.kind, cause.id)}" if cause else said,
            )
        )
    return lines
