"""积分超市: goods in a community's store, and redemptions at its kiosks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain import values
from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import (
    CancelDayOver,
    InvalidInput,
    InvalidTransition,
    NotThisKiosk,
    OutOfStock,
)
from ledger.domain.limits import FREE_TEXT, MAX_LINES, ORG_NAME, TITLE
from ledger.domain.text import clean_identifier, clean_text
from ledger.domain.values import Context, Lot, local_date, points, stable_id


class Item(LedgerAggregate):
    """Goods in one community's store. Stock never goes below zero."""

    @classmethod
    def create(
        cls,
        community_id: UUID,
        name: str,
        price: object,
        ctx: Context,
        id: UUID | None = None,
    ) -> Item:
        return cls(community_id, clean_text(name, "商品名称", TITLE), points(price), ctx=ctx, id=id)

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
        quantity, donor = values.quantity(quantity), clean_text(donor, "捐赠方", ORG_NAME)
        self._restocked(quantity, donor, ctx)

    @event("Restocked")
    def _restocked(self, quantity: int, donor: str, ctx: Context) -> None:
        self.stock += quantity

    def reprice(self, price: object, ctx: Context) -> None:
        price = points(price)
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


def receipt_number(redemption_id: UUID, made_at: datetime) -> str:
    """The short number a receipt prints and a clerk reads out: the day (CST) it was
    made and eight digits from its id, e.g. ``1207-39201187``; unique in practice
    among one store's redemptions of a day, where a kiosk looks it up."""
    digits = int(redemption_id.hex[:12], 16) % 10**8
    return f"{local_date(made_at):%m%d}-{digits:08d}"


class Redemption(LedgerAggregate):
    """兑换: one kiosk request. Its id comes from the kiosk and the request key,
    so the event store itself refuses to apply one request twice."""

    @staticmethod
    def check_request(
        kiosk: str, key: str, lines: Sequence[tuple[UUID, int]], device: str | None = None
    ) -> list[tuple[UUID, int]]:
        """What a kiosk sends, before anything is looked up: its id and the request's key
        (machine-made identifiers, exact), its device if it names one, and 1 to
        ``MAX_LINES`` lines of distinct goods, each a quantity. Returns the lines."""
        clean_identifier(kiosk, "终端编号")
        clean_identifier(key, "请求编号")
        if device is not None:
            clean_identifier(device, "设备编号")
        if isinstance(lines, str | bytes) or not 0 < len(lines) <= MAX_LINES:
            raise InvalidInput(reason=f"一次兑换须有 1 到 {MAX_LINES} 种商品")
        requested = [(item_id, values.quantity(count)) for item_id, count in lines]
        if len({item_id for item_id, _ in requested}) != len(requested):
            raise InvalidInput(reason="同一商品请合并为一行")
        return requested

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
        balance_after: Decimal | None = None,
        at: datetime | None = None,
    ) -> None:
        # balance_after and at: what the kiosk was told, so a replay tells it again
        # (None in events stored before they were recorded).
        self.kiosk = kiosk
        self.key = key
        self.fingerprint = fingerprint
        self.member_id = member_id
        self.store_id = store_id
        self.lines = lines
        self.total = total
        self.lots = lots
        self.balance_after = balance_after
        self.at = at
        self.cancelled = False

    def same_request(self, fingerprint: str, store_id: UUID) -> bool:
        """Whether a request under this redemption's key is the one it answered: the
        member and the lines (the fingerprint) and the store, all of them."""
        return self.fingerprint == fingerprint and self.store_id == store_id

    @property
    def made_at(self) -> datetime:
        """When the redemption was made (its recorded time in events stored before
        ``at`` was)."""
        return self.at if self.at is not None else self.created_on

    def cancel(
        self, reason: str, ctx: Context, *, kiosk: str | None = None, clock: datetime | None = None
    ) -> None:
        """A community worker cancels any redemption; a kiosk (``kiosk``: the device or
        token asking) only its own, on the day (China Standard Time) it was made by ``clock``."""
        reason = clean_text(reason, "取消兑换原因", FREE_TEXT, multiline=True)
        if self.cancelled:
            raise InvalidTransition(state="已取消", action="取消兑换")
        if kiosk is not None:
            if kiosk != self.kiosk:
                raise NotThisKiosk()
            day = local_date(self.made_at)
            if clock is None or local_date(clock) != day:
                raise CancelDayOver(day=f"{day:%Y-%m-%d}")
        self._cancelled(reason, ctx)

    @event("Cancelled")
    def _cancelled(self, reason: str, ctx: Context) -> None:
        self.cancelled = True
