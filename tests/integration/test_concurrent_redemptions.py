"""32 kiosks redeem at once against 10 accounts and 3 items, retrying their requests."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from ledger.application import Ledger
from ledger.domain.account import Account
from ledger.domain.errors import ConcurrencyConflict, InsufficientPoints, OutOfStock
from ledger.domain.store import Item, Redemption
from ledger.domain.values import Context, MemberKind, Rating, Role, UnitKind

ADMIN = Context("admin", Role.ADMIN)
THREADS, ACCOUNTS, REQUESTS_PER_PAIR = 32, 10, 12
T0 = datetime(2026, 6, 6, 1, 0, tzinfo=UTC)


def setup_store(ledger: Ledger) -> tuple[UUID, list[UUID], list[UUID]]:
    street = ledger.register_street("并发街道", ADMIN).id
    community = ledger.register_community(street, "并发社区", ADMIN).id
    unit = ledger.register_unit("并发单位", UnitKind.OTHER, ADMIN).id
    members = []
    for n in range(ACCOUNTS):
        member = ledger.register_member(
            MemberKind.PARTY_MEMBER, f"成员{n}", community, ADMIN, unit_id=unit
        ).id
        for day in range(3):
            start = T0 + timedelta(days=day)
            task = ledger.publish_task(
                community, "应急", "应急保障", start, start + timedelta(hours=5), 1, ADMIN
            ).id
            service = ledger.claim_task(task, member, ADMIN).id
            ledger.check_in(service, ADMIN, at=start)
            ledger.check_out(service, ADMIN, at=start + timedelta(hours=5))
            ledger.rate_service(service, Rating.EXCELLENT, ADMIN)  # 12 points each
        members.append(member)
    items = []
    for name, price, stock in (("肥皂", "1", 40), ("毛巾", "2", 40), ("大米", "3", 30)):
        item = ledger.list_item(community, name, price, ADMIN).id
        ledger.restock_item(item, stock, "并发单位", ADMIN)
        items.append(item)
    return community, members, items


def test_concurrent_retried_redemptions_never_overdraw_or_apply_twice(ledger: Ledger):
    community, members, items = setup_store(ledger)
    rng = random.Random(7)
    # Threads 2k and 2k+1 send the same requests with the same keys: every
    # request arrives at least twice, often at the same moment.
    requests = [
        [
            (
                f"key-{pair}-{n}",
                rng.choice(members),
                [(item, rng.randint(1, 2)) for item in rng.sample(items, rng.randint(1, 2))],
            )
            for n in range(REQUESTS_PER_PAIR)
        ]
        for pair in range(THREADS // 2)
    ]
    outcomes: Counter[str] = Counter()
    failures: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def kiosk(thread: int) -> None:
        barrier.wait()
        for key, member, lines in requests[thread // 2]:
            for _ in range(2):  # the kiosk retries each request once more
                while True:
                    try:
                        receipt = ledger.redeem("kiosk", key, member, community, lines, ADMIN)
                        outcome = "replayed" if receipt.replayed else "applied"
                    except (InsufficientPoints, OutOfStock) as refused:
                        outcome = refused.code
                    except ConcurrencyConflict:
                        continue  # the documented answer: try the same request again
                    except BaseException as error:
                        with lock:
                            failures.append(error)
                        return
                    break
                with lock:
                    outcomes[outcome] += 1

    threads = [threading.Thread(target=kiosk, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    assert outcomes["applied"] > 0 and outcomes["replayed"] > 0

    redemptions = {
        e.originator_id: e
        for n in ledger.recorder.select_notifications(1, 100_000)
        if (e := ledger.mapper.to_domain_event(n)) and isinstance(e, Redemption.Redeemed)
    }
    all_keys = {key for pair in requests for key, _, _ in pair}
    assert len(redemptions) == outcomes["applied"]
    assert {e.key for e in redemptions.values()} <= all_keys

    debits: Counter[UUID] = Counter()
    for member in members:
        account = ledger.get_account(member)
        balance = Decimal(0)
        for event in ledger.events.get(Account.create_id(member)):
            if isinstance(event, Account.Credited):
                balance += event.amount
            elif isinstance(event, Account.Debited):
                balance -= event.amount
                debits[event.cause.id] += 1
            assert balance >= 0
        assert balance == account.balance >= 0
    assert set(debits) == set(redemptions)
    assert set(debits.values()) == {1}

    for item_id in items:
        item = ledger.get_item(item_id)
        stock, taken = 0, Counter[UUID]()
        for event in ledger.events.get(item_id):
            if isinstance(event, Item.Restocked):
                stock += event.quantity
            elif isinstance(event, Item.Taken):
                stock -= event.quantity
                taken[event.redemption_id] += 1
            assert stock >= 0
        assert stock == item.stock >= 0
        assert set(taken.values()) <= {1}
