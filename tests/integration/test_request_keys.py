"""A request's key is saved with the write it made: a retry after the answer was lost
(even by a process that crashed and started again) finds it, and requests racing with
one key are applied once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from ledger.application import Ledger
from ledger.application.base import Receipt
from ledger.database import eventsourcing_env
from ledger.domain.errors import IdempotencyKeyReused, InvalidIdentifier, TaskFull
from ledger.domain.values import Context, MemberKind, Role

ADMIN = Context("admin", Role.ADMIN)
SCOPE = "token:test"
T0 = datetime(2026, 7, 1, 1, 0, tzinfo=UTC)


def community(ledger: Ledger) -> UUID:
    street = ledger.register_street("键街道", ADMIN).id
    return ledger.register_community(street, "键社区", ADMIN).id


def test_a_retry_after_a_lost_answer_finds_the_first_result_in_a_new_process(
    ledger: Ledger, database_url: str
) -> None:
    home = community(ledger)
    item = ledger.list_item(home, "香皂", "2", ADMIN).id
    first = ledger.keyed(SCOPE, "restock-1", ledger.restock_item, item, 5, "捐赠方", ctx=ADMIN)
    # The answer never reached the client, and the server went down: a new process
    # (nothing kept in memory) is asked the same request again.
    restarted = Ledger(eventsourcing_env(database_url), id_hash_key=ledger.id_hash_key)
    try:
        again = restarted.keyed(
            SCOPE, "restock-1", restarted.restock_item, item, 5, "捐赠方", ctx=ADMIN
        )
        assert again == Receipt(first.id, first.position, replayed=True)
        assert restarted.get_item(item).stock == 5
        with pytest.raises(IdempotencyKeyReused):
            restarted.keyed(
                SCOPE, "restock-1", restarted.restock_item, item, 6, "捐赠方", ctx=ADMIN
            )
    finally:
        restarted.close()
    # Another token's key of the same name is another key.
    other = ledger.keyed(
        "token:other", "restock-1", ledger.restock_item, item, 5, "捐赠方", ctx=ADMIN
    )
    assert not other.replayed and ledger.get_item(item).stock == 10


def test_requests_racing_with_one_key_are_applied_once(ledger: Ledger) -> None:
    home = community(ledger)
    task = ledger.publish_task(home, "排水", "应急保障", T0, T0 + timedelta(hours=2), 50, ADMIN).id
    member = ledger.register_member(MemberKind.RESIDENT, "周键", home, ADMIN).id
    receipts: list[Receipt] = []
    errors: list[Exception] = []
    start = threading.Barrier(8)

    def claim() -> None:
        start.wait()
        try:
            receipts.append(
                ledger.keyed(SCOPE, "claim-1", ledger.claim_task, task, member, ctx=ADMIN)
            )
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({(r.id, r.position) for r in receipts}) == 1
    assert sorted(r.replayed for r in receipts) == [False] + [True] * 7
    assert ledger.get_task(task).claims == [member]


def test_a_refused_request_leaves_no_key_and_a_bad_key_is_refused(ledger: Ledger) -> None:
    home = community(ledger)
    task = ledger.publish_task(home, "值守", "巡逻", T0, T0 + timedelta(hours=1), 1, ADMIN).id
    first, second = (
        ledger.register_member(MemberKind.RESIDENT, name, home, ADMIN).id for name in "甲乙"
    )
    ledger.claim_task(task, first, ADMIN)
    with pytest.raises(TaskFull):
        ledger.keyed(SCOPE, "claim-2", ledger.claim_task, task, second, ctx=ADMIN)
    ledger.cancel_task(task, "改期", ADMIN)
    replacement = ledger.publish_task(
        home, "值守", "巡逻", T0, T0 + timedelta(hours=1), 1, ADMIN
    ).id
    # The refused request wrote nothing, its key neither: the key is free for a request
    # that can be done.
    done = ledger.keyed(SCOPE, "claim-2", ledger.claim_task, replacement, second, ctx=ADMIN)
    assert not done.replayed
    with pytest.raises(InvalidIdentifier):
        ledger.keyed(SCOPE, "空格 不行", ledger.claim_task, replacement, first, ctx=ADMIN)
