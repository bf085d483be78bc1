"""A redemption records what the kiosk was told, so a replay can tell it again."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from uuid import NAMESPACE_URL, uuid4, uuid5

import pytest

from ledger.application import Ledger
from ledger.application.store import KioskReceipt
from ledger.domain.errors import CancelDayOver, NotThisKiosk
from ledger.domain.store import Redemption, RedemptionLine, receipt_number
from ledger.domain.values import Context, Role

CTX = Context(actor_id="test", role=Role.ADMIN)
AT = datetime(2026, 5, 1, 1, 2, 3, 456789, tzinfo=UTC)


def redemption(**recorded: object) -> Redemption:
    line = RedemptionLine(uuid4(), "食用油", 2, Decimal("0.1"))
    return Redemption(
        "device:kiosk-3",
        "k-1",
        "fingerprint",
        uuid4(),
        uuid4(),
        [line],
        Decimal("0.2"),
        [],
        ctx=CTX,
        **recorded,
    )


def test_the_receipt_is_recorded_in_the_event_and_read_back_exactly() -> None:
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    first = redemption(balance_after=Decimal("9.4"), at=AT)
    ledger.save(first)
    stored = ledger.repository.get(first.id)
    receipt = KioskReceipt.of(stored, 7, Decimal("1.0"), replayed=True)
    assert receipt.balance == Decimal("9.4")  # what was told, not today's balance
    assert receipt.at == AT
    assert receipt.total == Decimal("0.2")
    assert receipt.lines == tuple(first.lines)
    assert (receipt.kiosk, receipt.member_id, receipt.store_id) == (
        "device:kiosk-3",
        first.member_id,
        first.store_id,
    )
    assert receipt.replayed and receipt.position == 7


def test_a_redemption_stored_before_receipts_were_recorded_still_decodes() -> None:
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    old = redemption(balance_after=Decimal("9.4"), at=AT)
    [event] = old.collect_events()
    stored = ledger.mapper.to_stored_event(event)
    state = ledger.mapper.transcoder.decode(stored.state)
    del state["balance_after"], state["at"]
    stored = replace(stored, state=ledger.mapper.transcoder.encode(state))
    decoded = ledger.mapper.to_domain_event(stored).mutate(None)
    assert isinstance(decoded, Redemption)
    receipt = KioskReceipt.of(decoded, None, Decimal("3.0"), replayed=True)
    assert receipt.balance == Decimal("3.0")  # not recorded: the balance of today
    assert receipt.at == decoded.created_on


def test_a_receipt_number_is_the_china_day_and_eight_digits_short_enough_for_58mm() -> None:
    late = datetime(2026, 12, 7, 16, 30, tzinfo=UTC)  # 00:30 on 8 December in China
    numbers = {receipt_number(uuid5(NAMESPACE_URL, str(n)), late) for n in range(1000)}
    assert len(numbers) == 1000  # a busy store's day, no two alike
    assert all(re.fullmatch(r"1208-\d{8}", number) for number in numbers), numbers


def test_a_kiosk_cancels_its_own_redemption_until_midnight_china_time() -> None:
    made = redemption(at=datetime(2026, 5, 1, 1, 0, tzinfo=UTC))  # 09:00 on 1 May (CST)
    before_midnight = datetime(2026, 5, 1, 15, 59, tzinfo=UTC)
    after_midnight = datetime(2026, 5, 1, 16, 1, tzinfo=UTC)
    with pytest.raises(NotThisKiosk):
        made.cancel("点错了", CTX, kiosk="device:kiosk-4", clock=before_midnight)
    with pytest.raises(CancelDayOver, match="2026-05-01"):
        made.cancel("点错了", CTX, kiosk="device:kiosk-3", clock=after_midnight)
    assert not made.cancelled
    made.cancel("点错了", CTX, kiosk="device:kiosk-3", clock=before_midnight)
    assert made.cancelled
    later = redemption(at=datetime(2026, 5, 1, 1, 0, tzinfo=UTC))
    later.cancel("社区核实后取消", CTX, clock=after_midnight)  # a worker's: any day
    assert later.cancelled
