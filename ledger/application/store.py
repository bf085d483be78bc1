"""Commands of the points store (积分超市): goods, redemptions, and the expiry of points."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

from eventsourcing.utils import get_topic

from ledger.application.base import (
    LedgerBase,
    Receipt,
    RedemptionReceipt,
    retried,
)
from ledger.domain.account import Account
from ledger.domain.errors import (
    ExpiryInFuture,
    IdempotencyKeyReused,
    ItemNotInStore,
    NotResident,
    UnknownItem,
    UnknownMember,
    UnknownRedemption,
)
from ledger.domain.member import Member
from ledger.domain.rulebook import RULE_BOOK_ID
from ledger.domain.store import Item, Redemption, RedemptionLine, request_fingerprint
from ledger.domain.values import CST, Context, instant, now


@dataclass(frozen=True)
class KioskReceipt(RedemptionReceipt):
    """What a kiosk is told of a redemption; a replay of its request gets the same."""

    kiosk: str = ""
    member_id: UUID | None = None
    store_id: UUID | None = None
    lines: tuple[RedemptionLine, ...] = ()
    at: datetime | None = None

    @classmethod
    def of(
        cls, redemption: Redemption, position: int | None, balance: Decimal, replayed: bool
    ) -> KioskReceipt:
        after = redemption.balance_after
        return cls(
            redemption.id,
            position,
            redemption.total,
            balance if after is None else after,
            replayed=replayed,
            kiosk=redemption.kiosk,
            member_id=redemption.member_id,
            store_id=redemption.store_id,
            lines=tuple(redemption.lines),
            at=redemption.at if redemption.at is not None else redemption.created_on,
        )


class StoreCommands(LedgerBase):
    """商品、兑换与积分过期."""

    # --- the points store -------------------------------------------------------------

    def list_item(
        self,
        store_id: UUID,
        name: str,
        price: object,
        ctx: Context,
        *,
        item_id: UUID | None = None,
    ) -> Receipt:
        item = Item.create(store_id, name, price, ctx=ctx, id=item_id)
        self.read_community(store_id)
        return self._create(item)

    @retried
    def restock_item(self, item_id: UUID, count: int, donor: str, ctx: Context) -> Receipt:
        item = self.get_item(item_id)
        item.restock(count, donor, ctx)
        return self._done(item.id, item)

    @retried
    def reprice_item(self, item_id: UUID, price: object, ctx: Context) -> Receipt:
        item = self.get_item(item_id)
        item.reprice(price, ctx)
        return self._done(item.id, item)

    @retried
    def redeem(
        self,
        kiosk: str,
        key: str,
        member_id: UUID,
        store_id: UUID,
        lines: Sequence[tuple[UUID, int]],
        ctx: Context,
    ) -> KioskReceipt:
        """兑换 at a kiosk: debit the account and the stock in one transaction.

        The same key with the same request returns the first result and moves
        nothing; the same key with a different request is refused.
        """
        requested = Redemption.check_request(kiosk, key, lines, ctx.device)
        fingerprint = request_fingerprint(member_id, requested)
        redemption_id = Redemption.create_id(kiosk, key)
        account_id = Account.create_id(member_id)
        item_ids = [item_id for item_id, _ in requested]
        # One round trip for everything the request needs to be decided.
        loaded = self._load([redemption_id, member_id, account_id, RULE_BOOK_ID, *item_ids])
        member = self._check(loaded[member_id], Member, member_id, UnknownMember)
        account = self._check(loaded[account_id], Account, member_id, UnknownMember)
        first = loaded[redemption_id]
        if first is not None:
            first = self._check(first, Redemption, redemption_id, UnknownRedemption)
            if not first.same_request(fingerprint, store_id):
                raise IdempotencyKeyReused(key=key)
            position = self.group_recorder.first_notification_id(first.id)
            return KioskReceipt.of(first, position, account.balance, replayed=True)
        items = [self._check(loaded[i], Item, i, UnknownItem) for i in item_ids]
        order = []
        for item, (_, count) in zip(items, requested, strict=True):
            if item.community_id != store_id:
                raise ItemNotInStore(item_id=item.id)
            order.append(RedemptionLine(item.id, item.name, count, item.price))
        if member.community_id != store_id:  # a store serves the residents of its community
            raise NotResident(member_id=member_id, community_id=store_id)
        total = sum((line.amount for line in order), Decimal(0))
        book = loaded[RULE_BOOK_ID]
        policy = book.current if book is not None else self.current_policy()
        account.expire(now(), policy, ctx)
        lots = account.debit(total, redemption_id, store_id, policy.version, ctx)
        for item, line in zip(items, order, strict=True):
            item.take(line.quantity, redemption_id, ctx)
        redemption = Redemption(
            kiosk,
            key,
            fingerprint,
            member_id,
            store_id,
            order,
            total,
            lots,
            ctx=ctx,
            balance_after=account.balance,
            at=now(),
        )
        # The redemption's own event goes last, so its notification id is the
        # receipt's position, which a replay of the request can find again.
        position = self._commit(account, *items, redemption)
        return KioskReceipt.of(redemption, position, account.balance, replayed=False)

    @retried
    def cancel_redemption(
        self, redemption_id: UUID, reason: str, ctx: Context, *, kiosk: str | None = None
    ) -> Receipt:
        """Refund the points and put the goods back on the shelf. ``kiosk``: the kiosk
        asking (its device, or its token), which may cancel only its own redemption of
        the same day."""
        redemption = self.get_redemption(redemption_id)
        redemption.cancel(reason, ctx, kiosk=kiosk, clock=now())
        account = self.get_account(redemption.member_id)
        account.refund(
            redemption.total,
            redemption.lots,
            redemption.id,
            redemption.store_id,
            self.current_policy().version,
            ctx,
        )
        items = [self.get_item(line.item_id) for line in redemption.lines]
        for item, line in zip(items, redemption.lines, strict=True):
            item.give_back(line.quantity, redemption.id, ctx)
        return self._done(redemption.id, redemption, account, *items)

    # --- expiry -----------------------------------------------------------------------

    @staticmethod
    def _expiry_moment(as_of: datetime) -> datetime:
        """Points expire only as of a moment that has come, by the ledger's clock: an
        expiry cannot be undone, so one ahead of time is refused."""
        as_of, clock = instant(as_of, "过期计算时间"), now()
        if as_of > clock:
            shown = "%Y-%m-%d %H:%M:%S"
            at, then = as_of.astimezone(CST), clock.astimezone(CST)
            raise ExpiryInFuture(at=at.strftime(shown), clock=then.strftime(shown))
        return as_of

    @retried
    def expire_account(self, member_id: UUID, as_of: datetime, ctx: Context) -> Receipt:
        as_of = self._expiry_moment(as_of)
        account = self.get_account(member_id)
        policy = self.current_policy()
        account.expire(as_of, policy, ctx)
        return self._done(account.id, account)

    def expire_points(self, as_of: datetime, ctx: Context) -> int:
        """Expire every account's due points; running it again moves nothing.
        Returns how many accounts had points expire."""
        as_of = self._expiry_moment(as_of)
        expired = 0
        for member_id in self._account_holders():
            if self.expire_account(member_id, as_of, ctx).position is not None:
                expired += 1
        return expired

    def _account_holders(self) -> list[UUID]:
        topic = get_topic(Account.Opened)  # type: ignore[attr-defined]
        holders: list[UUID] = []
        start = 1
        while True:
            batch = self.recorder.select_notifications(start, 1000, topics=[topic])
            if not batch:
                return holders
            holders.extend(cast(Any, self.mapper.to_domain_event(n)).member_id for n in batch)
            start = batch[-1].id + 1
