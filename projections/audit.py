"""Verifying the ledger without trusting it: the hash chain recomputed from the event store.

This and the auditor's history are the only reads of the event store itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from ledger.application import Ledger
from ledger.domain.account import Account
from ledger.domain.errors import LedgerError
from ledger.domain.policy import Award
from ledger.domain.values import CategoryClass
from ledger.domain.work import Service, Task
from projections.base import event_class
from projections.chain import GENESIS, Checkpoint, link, sign

READ_BATCH = 20_000


@dataclass(frozen=True)
class Finding:
    position: int
    kind: str  # altered, deleted, inserted, checkpoint
    detail: str


@dataclass
class Verification:
    events: int = 0
    checkpoints: int = 0
    head_position: int = 0
    head_link: bytes = GENESIS
    unchained: int = 0  # recorded after the chain's last link: not yet chained
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings

    @property
    def first_bad_position(self) -> int | None:
        return min((f.position for f in self.findings), default=None)


def _stream(conn: psycopg.Connection[Any], name: str, query: str) -> Iterator[tuple[Any, ...]]:
    with conn.cursor(name=name) as cursor:
        cursor.itersize = READ_BATCH
        cursor.execute(query)
        yield from cursor


def verify(url: str, against: Checkpoint | None = None) -> Verification:
    """Recompute every link from the stored events and compare it with the chain and
    with every signed checkpoint (and ``against``, a checkpoint an auditor kept)."""
    result = Verification()
    with psycopg.connect(url) as store, psycopg.connect(url) as chain_conn:
        checkpoints = [
            Checkpoint(*row)
            for row in chain_conn.execute(
                "SELECT position, link, signed_at, public_key, signature FROM audit_checkpoints"
            ).fetchall()
        ]
        chain_head = chain_conn.execute("SELECT max(position) FROM audit_chain").fetchone()
        head = chain_head[0] if chain_head and chain_head[0] is not None else 0
        wanted = {c.position: c for c in checkpoints}
        if against is not None:
            wanted.setdefault(against.position, against)
        seen_links: dict[int, bytes] = {}
        events = _stream(
            store,
            "events",
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM ledger_events ORDER BY notification_id",
        )
        links = _stream(
            chain_conn, "links", "SELECT position, link FROM audit_chain ORDER BY position"
        )
        previous = GENESIS
        event = next(events, None)
        stored = next(links, None)
        while event is not None or stored is not None:
            if event is not None and (stored is None or event[0] < stored[0]):
                if event[0] > head:
                    result.unchained += 1
                else:
                    result.findings.append(
                        Finding(event[0], "inserted", "事件存储中多出一条链上没有的事件")
                    )
                result.events += 1
                event = next(events, None)
            elif stored is not None and (event is None or stored[0] < event[0]):
                result.findings.append(
                    Finding(stored[0], "deleted", "链上有而事件存储中缺失的事件")
                )
                previous = bytes(stored[1])
                stored = next(links, None)
            else:
                assert event is not None and stored is not None
                position, originator_id, version, topic, state = event
                computed = link(previous, position, originator_id, version, topic, bytes(state))
                if computed != bytes(stored[1]):
                    result.findings.append(Finding(position, "altered", "事件内容或顺序与链不符"))
                    computed = bytes(stored[1])
                if position in wanted:
                    seen_links[position] = computed
                previous = computed
                result.events += 1
                result.head_position, result.head_link = position, computed
                event, stored = next(events, None), next(links, None)
        for position, point in sorted(wanted.items()):
            result.checkpoints += 1
            if not point.is_signed():
                result.findings.append(Finding(position, "checkpoint", "检查点签名无效"))
            elif seen_links.get(position) != point.link:
                result.findings.append(
                    Finding(
                        position, "checkpoint", "账本与签名检查点不一致(被改写、截断或不是同一账本)"
                    )
                )
    return result


def checkpoint(url: str, key: bytes) -> Checkpoint:
    """Sign the head of a verified chain; refuses when the chain does not verify."""
    result = verify(url)
    if not result.intact:
        raise ValueError(f"账本校验未通过(首个问题位置 {result.first_bad_position}),不能签发检查点")
    return sign(Ed25519PrivateKey.from_private_bytes(key), result.head_position, result.head_link)


# --- replaying and re-checking ------------------------------------------------------


@dataclass(frozen=True)
class MemberState:
    """A member's account as it stood at a moment, replayed from its events."""

    member_id: UUID
    at: datetime
    version: int
    balance: Decimal
    earned_points: Decimal
    earned_hours: Decimal


def replay_member(ledger: Ledger, member_id: UUID, at: datetime) -> MemberState:
    """Replay the member's account events recorded up to ``at``."""
    account: Account | None = None
    event: Any
    for event in ledger.events.get(Account.create_id(member_id)):
        if event.timestamp > at:
            break
        account = event.mutate(account)
    if account is None:
        return MemberState(member_id, at, 0, Decimal(0), Decimal(0), Decimal(0))
    return MemberState(
        member_id,
        at,
        account.version,
        account.balance,
        account.earned_points,
        account.earned_hours,
    )


@dataclass(frozen=True)
class AwardMismatch:
    service_id: UUID
    position: int
    recorded: Award
    recomputed: Award | None
    reason: str


def recheck_awards(ledger: Ledger) -> tuple[int, list[AwardMismatch]]:
    """Recompute every award from its recorded facts under the policy version it names.

    Returns how many awards were checked and those that do not match.
    """
    book = ledger.rule_book()
    tasks: dict[UUID, Any] = {}
    services: dict[UUID, dict[str, Any]] = {}
    routine: dict[tuple[UUID, date], Decimal] = {}
    checked, mismatches = 0, list[AwardMismatch]()
    topics = {
        get_topic(event_class(Task, "Published")),
        get_topic(event_class(Service, "Claimed")),
        get_topic(event_class(Service, "CheckedIn")),
        get_topic(event_class(Service, "CheckedOut")),
        get_topic(event_class(Service, "Rated")),
        get_topic(event_class(Service, "Reversed")),
    }
    start = 0
    while True:
        batch = ledger.recorder.select_notifications(
            start, READ_BATCH, topics=list(topics), inclusive_of_start=False
        )
        if not batch:
            return checked, mismatches
        for notification in batch:
            event: Any = ledger.mapper.to_domain_event(notification)
            name, key = type(event).__name__, event.originator_id
            if name == "Published":
                tasks[key] = event
            elif name == "Claimed":
                services[key] = {"task": event.task_id, "member": event.member_id}
            elif name in ("CheckedIn", "CheckedOut"):
                services[key][name] = event.at
            elif name == "Reversed":
                award = services[key].get("award")
                if award is not None and award.category_class is CategoryClass.ROUTINE:
                    day_key = (services[key]["member"], award.day)
                    routine[day_key] -= award.hours
            else:
                checked += 1
                record = services[key]
                task, recorded = tasks[record["task"]], event.award
                record["award"] = recorded
                day_key = (record["member"], recorded.day)
                try:
                    recomputed = book.versions[recorded.policy_version].award(
                        category=task.category,
                        scheduled_start=task.starts_at,
                        scheduled_end=task.ends_at,
                        checked_in=record["CheckedIn"],
                        checked_out=record["CheckedOut"],
                        rating=event.rating,
                        routine_hours_already=routine.get(day_key, Decimal(0)),
                    )
                except (KeyError, LedgerError) as error:
                    mismatches.append(
                        AwardMismatch(key, notification.id, recorded, None, f"无法重算:{error}")
                    )
                    continue
                if recomputed != recorded:
                    mismatches.append(
                        AwardMismatch(key, notification.id, recorded, recomputed, "重算结果不同")
                    )
                if recorded.category_class is CategoryClass.ROUTINE:
                    routine[day_key] = routine.get(day_key, Decimal(0)) + recorded.hours
        start = batch[-1].id


# --- history with provenance -------------------------------------------------------------


@dataclass(frozen=True)
class HistoryLine:
    """One event of an aggregate's history and who, when, why and under which rules."""

    position: int
    aggregate_id: UUID
    version: int
    event: str
    at: datetime
    actor: str | None
    role: str | None
    device: str | None
    correlation_id: str | None
    policy_version: int | None
    amount: Decimal | None
    cause: str | None
    balance: Decimal | None  # the member's spendable balance after it (account events)


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
    lines = []
    account: Account | None = None
    for row in rows:
        event: Any = ledger.mapper.to_domain_event(
            Notification(
                id=row["notification_id"],
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
        )
        balance = None
        if row["originator_id"] == account_id:
            account = event.mutate(account)
            balance = account.balance if account is not None else None
        ctx = getattr(event, "ctx", None)
        cause = getattr(event, "cause", None)
        lines.append(
            HistoryLine(
                position=row["notification_id"],
                aggregate_id=row["originator_id"],
                version=row["originator_version"],
                event=row["topic"].rsplit(":", 1)[-1],
                at=event.timestamp,
                actor=ctx.actor_id if ctx else None,
                role=ctx.role.value if ctx else None,
                device=ctx.device if ctx else None,
                correlation_id=ctx.correlation_id if ctx else None,
                policy_version=getattr(event, "policy_version", None),
                amount=getattr(event, "amount", None),
                cause=f"{cause.kind.value}:{cause.id or ''}" if cause else None,
                balance=balance,
            )
        )
    return lines


# --- conservation ----------------------------------------------------------------------------


@dataclass
class CommunityFlows:
    """Points issued by one community, and where they went, over a period."""

    community_id: UUID
    opening: Decimal = Decimal(0)
    issued: Decimal = Decimal(0)
    reversed: Decimal = Decimal(0)
    redeemed: Decimal = Decimal(0)
    expired: Decimal = Decimal(0)
    closing: Decimal = Decimal(0)

    @property
    def balanced(self) -> bool:
        """Issued = outstanding + redeemed + expired (+ reversed), over the period."""
        return self.opening + self.issued - self.reversed - self.redeemed - self.expired == (
            self.closing
        )


_LOT_SIGNS = {"Credited": 1, "Refunded": 1, "Debited": -1, "Reversed": -1, "Expired": -1}


@dataclass(frozen=True)
class Conservation:
    all_accounts: Decimal  # every leg of the ledger entries up to the end: must be 0
    member_balances: Decimal  # the members' spendable points at the end, by the entries
    communities: dict[UUID, CommunityFlows]

    @property
    def holds(self) -> bool:
        outstanding = sum((c.closing for c in self.communities.values()), Decimal(0))
        return (
            self.all_accounts == 0
            and outstanding == self.member_balances
            and all(c.balanced for c in self.communities.values())
        )


def conservation(ledger: Ledger, start: datetime, end: datetime) -> Conservation:
    """Per issuing community, its points over [start, end) from the lots each account
    event moved, checked against the ledger entries: what the communities' lots say
    is outstanding must be what the members hold, and all accounts sum to zero."""
    flows: dict[UUID, CommunityFlows] = {}
    held: dict[tuple[UUID, UUID], Decimal] = {}  # (account, community) -> outstanding
    topics = [get_topic(event_class(Account, name)) for name in _LOT_SIGNS]
    position = 0
    while True:
        batch = ledger.recorder.select_notifications(
            position, READ_BATCH, topics=topics, inclusive_of_start=False
        )
        if not batch:
            break
        for notification in batch:
            event: Any = ledger.mapper.to_domain_event(notification)
            if event.timestamp >= end:
                continue
            name, sign = type(event).__name__, _LOT_SIGNS[type(event).__name__]
            for lot in event.lots:
                moved = sign * lot.amount
                key = (event.originator_id, lot.community_id)
                held[key] = held.get(key, Decimal(0)) + moved
                row = flows.setdefault(lot.community_id, CommunityFlows(lot.community_id))
                if event.timestamp < start:
                    row.opening += moved
                elif name == "Credited":
                    row.issued += lot.amount
                elif name == "Reversed":
                    row.reversed += lot.amount
                elif name in ("Debited", "Refunded"):
                    row.redeemed -= moved
                else:
                    row.expired += lot.amount
        position = batch[-1].id
    for (_, community), amount in held.items():
        flows[community].closing += amount
    with ledger.group_recorder.datastore.get_connection() as conn:
        found = conn.execute(
            "SELECT coalesce(sum(amount), 0) AS total, coalesce(sum(amount) FILTER "
            "(WHERE account LIKE 'member:%%'), 0) AS members FROM ledger_entries WHERE at < %s",
            (end,),
        ).fetchone()
    assert found is not None
    return Conservation(Decimal(found["total"]), Decimal(found["members"]), flows)


# --- export ----------------------------------------------------------------------------------

EXPORT_FORMAT = "volunteer-ledger-export/1"


def export(
    ledger: Ledger,
    url: str,
    key: bytes,
    aggregate_ids: list[UUID],
    start: datetime,
    end: datetime,
) -> Iterator[dict[str, Any]]:
    """JSON Lines: a header with a signed checkpoint, then each stored event of the given
    aggregates recorded in [start, end), exactly as stored, with the chain links around it."""
    point = checkpoint(url, key)
    yield {
        "format": EXPORT_FORMAT,
        "aggregates": [str(i) for i in aggregate_ids],
        "start": start.isoformat(),
        "end": end.isoformat(),
        "checkpoint": point.to_json(),
    }
    with ledger.group_recorder.datastore.get_connection() as conn:
        rows = conn.execute(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
            "c.link, p.link AS previous "
            "FROM ledger_events e JOIN audit_chain c ON c.position = e.notification_id "
            "LEFT JOIN LATERAL (SELECT link FROM audit_chain WHERE position < e.notification_id "
            "ORDER BY position DESC LIMIT 1) p ON true "
            "WHERE e.originator_id = ANY(%s) ORDER BY e.notification_id",
            (aggregate_ids,),
        ).fetchall()
    for row in rows:
        event: Any = ledger.mapper.to_domain_event(
            Notification(
                id=row["notification_id"],
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
        )
        if not start <= event.timestamp < end:
            continue
        yield {
            "position": row["notification_id"],
            "originator_id": str(row["originator_id"]),
            "originator_version": row["originator_version"],
            "topic": row["topic"],
            "state": bytes(row["state"]).decode(),
            "previous_link": bytes(row["previous"] or GENESIS).hex(),
            "link": bytes(row["link"]).hex(),
        }


def check_export_line(line: dict[str, Any]) -> bool:
    """What an auditor recomputes offline: the event, as exported, is what was chained."""
    computed = link(
        bytes.fromhex(line["previous_link"]),
        line["position"],
        UUID(line["originator_id"]),
        line["originator_version"],
        line["topic"],
        line["state"].encode(),
    )
    return bool(computed.hex() == line["link"])
