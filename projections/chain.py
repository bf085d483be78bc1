"""Tamper evidence: a hash chain over the stored events, with signed checkpoints.

Each link hashes the previous link and one stored event exactly as it lies in
the event store (position, originator id and version, topic, state), in
notification order. Every ``CHECKPOINT_EVERY`` events the runner signs the
latest link with the ledger's Ed25519 key. Anyone holding a checkpoint can
later prove that today's ledger extends the one they saw, and an edit, deletion,
insertion or reordering of stored events shows as the first position whose
link no longer matches.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from eventsourcing.persistence import Notification, Tracking

from projections.base import ReadModel, Table, ViewRecorder

GENESIS = bytes(32)
CHECKPOINT_EVERY = 10_000

CHAIN = Table("audit_chain", (("position", "bigint"), ("link", "bytea")), key=("position",))
CHECKPOINTS = Table(
    "audit_checkpoints",
    (
        ("position", "bigint"),
        ("link", "bytea"),
        ("signed_at", "timestamptz"),
        ("public_key", "bytea"),
        ("signature", "bytea"),
    ),
    key=("position",),
)


def link(
    previous: bytes, position: int, originator_id: Any, version: int, topic: str, state: bytes
) -> bytes:
    """The next link of the chain."""
    topic_bytes = topic.encode()
    digest = hashlib.sha256(previous)
    digest.update(struct.pack(">qq", position, version))
    digest.update(originator_id.bytes)
    digest.update(struct.pack(">I", len(topic_bytes)))
    digest.update(topic_bytes)
    digest.update(state)
    return digest.digest()


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: the chain up to ``position`` ends in ``link``."""

    position: int
    link: bytes
    signed_at: datetime
    public_key: bytes
    signature: bytes

    @staticmethod
    def message(position: int, link_: bytes) -> bytes:
        return b"volunteer-ledger-checkpoint" + struct.pack(">q", position) + link_

    def is_signed(self) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(
                self.signature, self.message(self.position, self.link)
            )
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "link": self.link.hex(),
            "signed_at": self.signed_at.isoformat(),
            "public_key": self.public_key.hex(),
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        return cls(
            position=int(data["position"]),
            link=bytes.fromhex(data["link"]),
            signed_at=datetime.fromisoformat(data["signed_at"]),
            public_key=bytes.fromhex(data["public_key"]),
            signature=bytes.fromhex(data["signature"]),
        )


def sign(key: Ed25519PrivateKey, position: int, link_: bytes) -> Checkpoint:
    public = key.public_key().public_bytes_raw()
    return Checkpoint(
        position, link_, datetime.now(UTC), public, key.sign(Checkpoint.message(position, link_))
    )


class HashChain(ReadModel):
    """Reads the stored events themselves (``raw``), not decoded domain events."""

    name = "audit_chain"
    tables = (CHAIN, CHECKPOINTS)
    raw = True

    def __init__(self, view: ViewRecorder, *, empty: bool = False) -> None:
        super().__init__(view, empty=empty)
        self.signing_key: Ed25519PrivateKey | None = None
        self._last: tuple[bytes, int] | None = None

    @classmethod
    def handlers(cls) -> dict[type, str]:
        return {}

    def process_batch(self, events: Iterable[tuple[Any, int]], tracking: Tracking) -> None:
        notifications: list[Notification] = [n for n, _ in events]
        chain, checkpoints = self.rows["audit_chain"], self.rows["audit_checkpoints"]
        previous, since = self._head()
        try:
            for n in notifications:
                previous = link(
                    previous, n.id, n.originator_id, n.originator_version, n.topic, n.state
                )
                chain.append((n.id, previous))
                since += 1
            if notifications and since >= CHECKPOINT_EVERY and self.signing_key is not None:
                point = sign(self.signing_key, notifications[-1].id, previous)
                checkpoints.append(
                    (point.position, point.link, point.signed_at, point.public_key, point.signature)
                )
                since = 0
            self.view.write(tracking, self._flush)
        except BaseException:
            for rows in self.rows.values():
                rows.forget()
            self._last = None
            raise
        self._last = (previous, since)

    def _head(self) -> tuple[bytes, int]:
        """The last link and how many events came after the last checkpoint."""
        if self._last is not None:
            return self._last
        with self.view.datastore.get_connection() as conn:
            last = conn.execute(
                f'SELECT position, link FROM "{self.view.physical(CHAIN)}" '
                "ORDER BY position DESC LIMIT 1"
            ).fetchone()
            signed = conn.execute(
                f'SELECT max(position) AS position FROM "{self.view.physical(CHECKPOINTS)}"'
            ).fetchone()
            if last is None:
                return GENESIS, 0
            since = conn.execute(
                f'SELECT count(*) AS n FROM "{self.view.physical(CHAIN)}" WHERE position > %s',
                (signed["position"] if signed and signed["position"] else 0,),
            ).fetchone()
        return bytes(last["link"]), int(since["n"]) if since else 0
