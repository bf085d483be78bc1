"""Ledger entries: every points movement as double-entry legs with running balances.

Each movement is two legs, one taken from an account and one given to another,
so all legs sum to zero at every position, and each leg carries the balance of
its account after it, in the order recorded (``at``). Each leg also carries the
moment its movement belongs to (``value_at``: for an award, when its service began):
a balance as of a moment is the sum of an account's legs up to it, one index range.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.domain.account import Account
from ledger.domain.values import member_of
from projections.base import ReadModel, Table, event_class

ENTRIES = Table(
    "ledger_entries",
    (
        ("position", "bigint"),
        ("leg", "smallint"),
        ("account", "text"),
        ("amount", "numeric"),
        ("balance", "numeric"),
        ("counter_account", "text"),
        ("member_id", "uuid"),
        ("community_id", "uuid"),
        ("cause_kind", "text"),
        ("cause_id", "uuid"),
        ("policy_version", "integer"),
        ("event", "text"),
        ("at", "timestamptz"),
        ("value_at", "timestamptz"),
    ),
    key=("position", "leg"),
    indexes=(("account", "value_at", "amount"), ("member_id", "position")),
)
BALANCES = Table(
    "ledger_balances",
    (("account", "text"), ("balance", "numeric"), ("position", "bigint")),
    key=("account",),
)


def _party(account: str) -> UUID | None:
    """The member or community an account name belongs to (None for the expiry sink)."""
    _, _, ident = account.partition(":")
    return UUID(ident) if ident else None


class LedgerEntries(ReadModel):
    name = "ledger_entries"
    version = 2  # 2: value dates
    tables = (ENTRIES, BALANCES)

    @classmethod
    def handlers(cls) -> dict[type, str]:
        return {
            event_class(Account, name): "on_movement"
            for name in ("Credited", "Debited", "Refunded", "Reversed", "Expired")
        }

    def on_movement(self, event: Any, _: UUID, position: int) -> None:
        amount: Decimal = event.amount
        if amount == 0:
            return
        taker, giver = event.from_account, event.to_account
        taker_is_member = member_of(taker) is not None
        member = _party(taker if taker_is_member else giver)
        other = giver if taker_is_member else taker
        community = _party(other)
        kind = event.cause.kind.value
        cause = event.cause.id
        name = type(event).__name__
        for leg, account, counter, signed in (
            (0, taker, giver, -amount),
            (1, giver, taker, amount),
        ):
            balance = self._move(account, signed, position)
            self.rows["ledger_entries"].append(
                (
                    position,
                    leg,
                    account,
                    signed,
                    balance,
                    counter,
                    member,
                    community,
                    kind,
                    cause,
                    event.policy_version,
                    name,
                    event.timestamp,
                    event.value_at,
                )
            )

    def _move(self, account: str, amount: Decimal, position: int) -> Decimal:
        balances = self.rows["ledger_balances"]
        row = balances.get(account)
        if row is None:
            row = balances.put({"account": account, "balance": Decimal(0), "position": position})
        row["balance"] += amount
        row["position"] = position
        balances.changed(row)
        return Decimal(row["balance"])
