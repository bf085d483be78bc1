"""Verifying the ledger without trusting it: the hash chain recomputed from the event store.

This and the auditor's history are the only reads of the event store itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.database import CONNECTION_LIMITS
from projections.chain import GENESIS, Checkpoint, link, sign

READ_BATCH = 20_000


@dataclass(frozen=True)
class Finding:
    position: int
    kind: str  # altered, deleted, inserted, checkpoint
    detail: str


@dataclass
class Verification:
    events: int = 0
    checkpoints: int = 0
    head_position: int = 0
    head_link: bytes = GENESIS
    unchained: int = 0  # recorded after the chain's last link: not yet chained
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings

    @property
    def first_bad_position(self) -> int | None:
        return min((f.position for f in self.findings), default=None)


def _stream(conn: psycopg.Connection[Any], name: str, query: str) -> Iterator[tuple[Any, ...]]:
    with conn.cursor(name=name) as cursor:
        cursor.itersize = READ_BATCH
        cursor.execute(query)
        yield from cursor


def verify(url: str, against: Checkpoint | None = None) -> Verification:
    """Recompute every link from the stored events and compare it with the chain and
    with every signed checkpoint (and ``against``, a checkpoint an auditor kept)."""
    result = Verification()
    with (
        psycopg.connect(url, **CONNECTION_LIMITS) as store,
        psycopg.connect(url, **CONNECTION_LIMITS) as chain_conn,
    ):
        checkpoints = [
            Checkpoint(*row)
            for row in chain_conn.execute(
                "SELECT position, link, signed_at, public_key, signature FROM audit_checkpoints"
            ).fetchall()
        ]
        chain_head = chain_conn.execute("SELECT max(position) FROM audit_chain").fetchone()
        head = chain_head[0] if chain_head and chain_head[0] is not None else 0
        wanted = {c.position: c for c in checkpoints}
        if against is not None:
            wanted.setdefault(against.position, against)
        seen_links: dict[int, bytes] = {}
        events = _stream(
            store,
            "events",
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM ledger_events ORDER BY notification_id",
        )
        links = _stream(
            chain_conn, "links", "SELECT position, link FROM audit_chain ORDER BY position"
        )
        previous = GENESIS
        event = next(events, None)
        stored = next(links, None)
        while event is not None or stored is not None:
            if event is not None and (stored is None or event[0] < stored[0]):
                if event[0] > head:
                    result.unchained += 1
                else:
                    result.findings.append(
                        Finding(event[0], "inserted", "事件存储中多出一条链上没有的事件")
                    )
                result.events += 1
                event = next(events, None)
            elif stored is not None and (event is None or stored[0] < event[0]):
                result.findings.append(
                    Finding(stored[0], "deleted", "链上有而事件存储中缺失的事件")
                )
                previous = bytes(stored[1])
                stored = next(links, None)
            else:
                assert event is not None and stored is not None
                position, originator_id, version, topic, state = event
                computed = link(previous, position, originator_id, version, topic, bytes(state))
                if computed != bytes(stored[1]):
                    result.findings.append(Finding(position, "altered", "事件内容或顺序与链不符"))
                    computed = bytes(stored[1])
                if position in wanted:
                    seen_links[position] = computed
                previous = computed
                result.events += 1
                result.head_position, result.head_link = position, computed
                event, stored = next(events, None), next(links, None)
        for position, point in sorted(wanted.items()):
            result.checkpoints += 1
            if not point.is_signed():
                result.findings.append(Finding(position, "checkpoint", "检查点签名无效"))
            elif seen_links.get(position) != point.link:
                result.findings.append(
                    Finding(
                        position, "checkpoint", "账本与签名检查点不一致(被改写、截断或不是同一账本)"
                    )
                )
    return result


def checkpoint(url: str, key: bytes) -> Checkpoint:
    """Sign the head of a verified chain; refuses when the chain does not verify."""
    result = verify(url)
    if not result.intact:
        raise ValueError(f"账本校验未通过(首个问题位置 {result.first_bad_position}),不能签发检查点")
    return sign(Ed25519PrivateKey.from_private_bytes(key), result.head_position, result.head_link)
