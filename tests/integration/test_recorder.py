"""The event store's writes: a large batch goes by COPY under the same table lock, and
its notification ids are those the table gave its rows, in order."""

from __future__ import annotations

from uuid import uuid4

import psycopg
from eventsourcing.persistence import StoredEvent

from ledger import recorder
from ledger.application import Ledger
from ledger.domain.values import Context, Role

ADMIN = Context(actor_id="test", role=Role.ADMIN)


def test_a_batch_written_by_copy_gets_the_ids_the_table_gave_it(
    ledger: Ledger, database_url: str
) -> None:
    before = ledger.group_recorder.max_notification_id() or 0
    with ledger.batch():
        street = ledger.register_street("批量街道", ADMIN).id
        communities = [
            ledger.register_community(street, f"批量社区{n}", ADMIN).id
            for n in range(recorder.COPY_FROM + 10)
        ]
    saved = [street, *communities]
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT notification_id, originator_id FROM ledger_events "
            "WHERE notification_id > %s ORDER BY notification_id",
            (before,),
        ).fetchall()
    assert len(rows) > recorder.COPY_FROM  # written by COPY
    assert [r[0] for r in rows] == list(range(before + 1, before + len(rows) + 1))
    assert {r[1] for r in rows} >= set(saved)
    # Read back through the library, in notification order, each once.
    notified = ledger.recorder.select_notifications(start=before + 1, limit=len(rows) + 5)
    assert [n.id for n in notified] == [r[0] for r in rows]


def test_the_ids_a_copy_returns_are_those_of_its_rows(ledger: Ledger, database_url: str) -> None:
    events = [
        StoredEvent(uuid4(), 1, "tests.recorder:Nothing", b"{}")
        for _ in range(recorder.COPY_FROM + 1)
    ]
    ids = ledger.group_recorder.insert_events(events)
    assert ids is not None and len(ids) == len(events)
    with psycopg.connect(database_url) as conn:
        stored = dict(
            conn.execute(
                "SELECT originator_id, notification_id FROM ledger_events "
                "WHERE topic = 'tests.recorder:Nothing'"
            ).fetchall()
        )
    assert [stored[e.originator_id] for e in events] == list(ids)
