"""Exports that prove themselves: each stored event with its inclusion proof to a signed
checkpoint, and a signed statement of which lines the export holds.

The format is specified in ``docs/audit-format.md``; ``tools/verify_export.py`` checks
an export with nothing but the standard library, ``cryptography`` and a pinned key.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from audit.provenance import belongs_to, decoded, value_at
from ledger.application import Ledger
from ledger.domain.certificate import Certificate
from projections import merkle, tree
from projections.notes import Published, sign
from projections.runner import ReadSide
from projections.tree import MerkleLog

EXPORT_FORMAT = "volunteer-ledger-export/2"


def log_model(read_side: ReadSide) -> MerkleLog:
    model = read_side.open()[MerkleLog.name]
    assert isinstance(model, MerkleLog)
    return model


def publish_now(read_side: ReadSide) -> Published:
    """Bring the tree to the head of the event store and publish its checkpoint now
    (a consistency proof from the last published one first: see ``MerkleLog.publish``)."""
    model = log_model(read_side)
    if model.publisher is None:
        raise ValueError("未配置签名密钥与检查点日志(LEDGER_CHECKPOINT_LOG),不能签发检查点")
    read_side.catch_up([model])
    return model.publish()


def manifest(lines: list[tuple[int, bytes]]) -> bytes:
    """SHA-256 over (u64 leaf index || leaf hash) of every exported line, in order."""
    digest = hashlib.sha256()
    for index, leaf in lines:
        digest.update(struct.pack(">Q", index) + leaf)
    return digest.digest()


def statement_text(origin: str, size: int, count: int, digest: bytes) -> str:
    return f"{EXPORT_FORMAT}\n{origin}\n{size}\n{count}\n{base64.b64encode(digest).decode()}\n"


def export(
    ledger: Ledger,
    read_side: ReadSide,
    aggregate_ids: list[UUID],
    start: datetime,
    end: datetime,
) -> Iterator[dict[str, Any]]:
    """JSON Lines: a header with a freshly published checkpoint and the signed statement,
    then each stored event of the given aggregates that belongs to [start, end) (a points
    movement by its value date, any other event by when it was recorded), exactly as
    stored, with its leaf index and inclusion proof, and both its moments for reading."""
    entry = publish_now(read_side)
    model = log_model(read_side)
    assert model.publisher is not None
    signer = model.publisher.signer
    size = int(entry.note.split("\n")[1])
    with ledger.group_recorder.datastore.get_connection() as conn:
        rows = conn.execute(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
            "l.leaf_index, l.hash FROM ledger_events e "
            "JOIN audit_leaves l ON l.position = e.notification_id "
            "WHERE e.originator_id = ANY(%s) AND l.leaf_index < %s ORDER BY e.notification_id",
            (aggregate_ids, size),
        ).fetchall()
        events = {r["notification_id"]: decoded(ledger, r) for r in rows}
        rows = [r for r in rows if start <= belongs_to(events[r["notification_id"]]) < end]
        ranges = {r["leaf_index"]: merkle.inclusion_ranges(r["leaf_index"], size) for r in rows}
        stored = tree.fetch_nodes(conn, merkle.proof_nodes(x for rs in ranges.values() for x in rs))
    digest = manifest([(r["leaf_index"], bytes(r["hash"])) for r in rows])
    yield {
        "format": EXPORT_FORMAT,
        "aggregates": [str(i) for i in aggregate_ids],
        "start": start.isoformat(),
        "end": end.isoformat(),
        "checkpoint": entry.note,
        "statement": sign(statement_text(signer.name, size, len(rows), digest), signer),
    }
    for row in rows:
        event = events[row["notification_id"]]
        moved = value_at(event)
        yield {
            "position": row["notification_id"],
            "leaf_index": row["leaf_index"],
            "originator_id": str(row["originator_id"]),
            "originator_version": row["originator_version"],
            "topic": row["topic"],
            "state": bytes(row["state"]).decode(),
            "recorded_at": event.timestamp.isoformat(),
            "value_at": None if moved is None else moved.isoformat(),
            "proof": [
                base64.b64encode(h).decode()
                for h in merkle.assemble(ranges[row["leaf_index"]], stored)
            ],
        }


def certificate_export(
    ledger: Ledger, read_side: ReadSide, number: str
) -> Iterator[dict[str, Any]]:
    """An export of everything a certificate rests on: its own ``Certificate.Issued``
    event and every event of the services it lists (claims, ratings, reversals), so the
    standalone verifier recomputes it offline (``verify_export.py --certificate``)."""
    check = ledger.check_certificate(number)
    if check.statement is None:
        raise ValueError(f"账本中没有编号为 {number} 的志愿服务证明")
    with ledger.group_recorder.datastore.get_connection() as conn:
        services = [
            r["originator_id"]
            for r in conn.execute(
                "SELECT DISTINCT originator_id FROM ledger_events WHERE notification_id = ANY(%s)",
                (check.statement.positions,),
            ).fetchall()
        ]
    certificate = Certificate.create_id(check.statement.number)
    ever = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2101, 1, 1, tzinfo=UTC))
    return export(ledger, read_side, [certificate, *services], *ever)
