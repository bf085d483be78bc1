"""Exporting an aggregate's events exactly as stored, with the chain links around each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from audit.provenance import decoded
from audit.verification import checkpoint
from ledger.application import Ledger
from projections.chain import GENESIS, link

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
        event = decoded(ledger, row)
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
