"""积分超市: goods in a community's store, and redemptions at its kiosks."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import InvalidInput, InvalidTransition, OutOfStock
from ledger.domain.values import Context, Lot, stable_id

MAX_LINES = 20


class Item(LedgerAggregate):
    """Goods in one community's store. Stock never goes below zero."""

    @event("Listed")
    def __init__(
        self,
        community_id: UUID,
        name: str,
        price: Decimal,
        ctx: Context,
        id: UUID | None = None,
    ) -> None:
        self.community_id = community_id
        self.name = name
        self.price = price
        self.stock = 0

    def restock(self, quantity: int, donor: str, ctx: Context) -> None:
        """Goods come in, naming who gave them (e.g. a paired unit)."""
        if not donor.strip():
            raise InvalidInput(reason="入库须写明捐赠方")
        self._restocked(quantity, donor.strip(), ctx)

    @event("Restocked")
    def _restocked(self, quantity: int, donor: str, ctx: Context) -> None:
        self.stock += quantity

    def reprice(self, price: Decimal, ctx: Context) -> None:
        if price != self.price:
            self._repriced(price, ctx)

    @event("Repriced")
    def _repriced(self, price: Decimal, ctx: Context) -> None:
        self.price = price

    def take(self, quantity: int, redemption_id: UUID, ctx: Context) -> None:
        if quantity > self.stock:
            raise OutOfStock(name=self.name, requested=quantity, stock=self.stock)
        self._taken(quantity, redemption_id, ctx)

    @event("Taken")
    def _taken(self, quantity: int, redemption_id: UUID, ctx: Context) -> None:
        self.stock -= quantity

    def give_back(self, quantity: int, redemption_id: UUID, ctx: Context) -> None:
        self._returned(quantity, redemption_id, ctx)

    @event("Returned")
    def _returned(self, quantity: int, redemption_id: UUID, ctx: Context) -> None:
        self.stock += quantity


@dataclass(frozen=True)
class RedemptionLine:
    item_id: UUID
    name: str
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


def request_fingerprint(member_id: UUID, lines: list[tuple[UUID, int]]) -> str:
    """What makes two kiosk requests 'the same request': the member and the lines."""
    canonical = json.dumps(
        [str(member_id), sorted([str(item), qty] for item, qty in lines)], separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class Redemption(LedgerAggregate):
    """兑换: one kiosk request. Its id comes from the kiosk and the request key,
    so the event store itself refuses to apply one request twice."""

    @staticmethod
    def create_id(kiosk: str, key: str) -> UUID:
        return stable_id("redemption", kiosk, key)

    @event("Redeemed")
    def __init__(
        self,
        kiosk: str,
        key: str,
        fingerprint: str,
        member_id: UUID,
        store_id: UUID,
        lines: list[RedemptionLine],
        total: Decimal,
        lots: list[Lot],
        ctx: Context,
    ) -> None:
        self.kiosk = kiosk
        self.key = key
        self.fingerprint = fingerprint
        self.member_id = member_id
        self.store_id = store_id
        self.lines = lines
        self.total = total
        self.lots = lots
        self.cancelled = False

    def cancel(self, reason: str, ctx: Context) -> None:
        if self.cancelled:
            raise InvalidTransition(state="已取消", action="取消兑换")
        if not reason.strip():
            raise InvalidInput(reason="取消兑换须写明原因")
        self._cancelled(reason.strip(), ctx)

    @event("Cancelled")
    def _cancelled(self, reason: str, ctx: Context) -> None:
        self.cancelled = True
