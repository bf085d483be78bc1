"""Points are conserved: all accounts sum to zero, and each community's issued points
are outstanding, redeemed, expired or reversed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from audit.reading import READ_BATCH
from ledger.application import Ledger
from ledger.domain.account import Account
from projections.base import event_class


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
    """Per issuing community, its points over [start, end) (by the moments the
    movements belong to) from the lots each account event moved, checked against the
    ledger entries: what the communities' lots say is outstanding must be what the
    members hold, and all accounts sum to zero."""
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
            if event.value_at >= end:
                continue
            name, sign = type(event).__name__, _LOT_SIGNS[type(event).__name__]
            for lot in event.lots:
                moved = sign * lot.amount
                key = (event.originator_id, lot.community_id)
                held[key] = held.get(key, Decimal(0)) + moved
                row = flows.setdefault(lot.community_id, CommunityFlows(lot.community_id))
                if event.value_at < start:
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
            "(WHERE account LIKE 'member:%%'), 0) AS members "
            "FROM ledger_entries WHERE value_at < %s",
            (end,),
        ).fetchone()
    assert found is not None
    return Conservation(Decimal(found["total"]), Decimal(found["members"]), flows)
