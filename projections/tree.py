"""The ledger as a transparency log: an RFC 6962 Merkle tree over the stored events.

Leaf ``i`` is the ``i``-th stored event in notification order, hashed exactly as it
lies in the event store (``merkle.event_leaf``). The read model keeps every leaf hash
with its position and the hash of every perfect subtree, so any inclusion or
consistency proof for any tree size is a handful of stored hashes.

Tree heads are published as signed checkpoints (``projections.notes``): every
``every`` events and every ``minutes`` minutes, appended first to the log outside the
database and then copied into ``audit_checkpoints`` for readers. A checkpoint is
signed only for a tree that a consistency proof shows to extend the last one
published; and a tree whose root at a published size differs from the published
root is refused (a rebuild of an edited history stops there, unswitched).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.persistence import Notification, Tracking
from psycopg import Connection
from psycopg.rows import DictRow

from ledger.domain.limits import MAX_TREE_SIZE
from ledger.settings import Settings
from projections import merkle
from projections.base import MustStop, ReadModel, Table, ViewRecorder
from projections.notes import Checkpoint, CheckpointLog, NoteError, Published, Signer, Verifier
from projections.notes import sign as sign_note

log = logging.getLogger(__name__)

LEAVES = Table(
    "audit_leaves",
    (("leaf_index", "bigint"), ("position", "bigint"), ("hash", "bytea")),
    key=("leaf_index",),
    indexes=(("position",),),
)
NODES = Table(
    "audit_nodes",
    (("level", "smallint"), ("node_index", "bigint"), ("hash", "bytea")),
    key=("level", "node_index"),
)
CHECKPOINTS = Table(
    "audit_checkpoints",
    (("tree_size", "bigint"), ("root", "bytea"), ("note", "text"), ("published_at", "timestamptz")),
    key=("tree_size",),
)


class TreeRefused(MustStop):
    """The tree disagrees with a published checkpoint, or cannot be proven to extend it:
    nothing is signed and the read side stops until an operator looks."""


def pinned_verifier(settings: Settings) -> Verifier:
    """The public key every verification takes: ``LEDGER_PUBLIC_KEY`` when configured,
    else the one of the configured signing key (both from settings, never the database)."""
    own = Signer.from_seed(settings.log_origin, settings.signing_key).verifier
    if settings.public_key is None:
        return own
    return Verifier.parse(settings.public_key)


@dataclass
class Publisher:
    """Signs tree heads on a schedule and appends them to the outside log."""

    signer: Signer
    log: CheckpointLog
    every: int
    minutes: float
    _cache: tuple[Any, list[tuple[Checkpoint, Published]]] | None = field(default=None)

    @classmethod
    def from_settings(cls, settings: Settings) -> Publisher | None:
        if settings.checkpoint_log is None:
            return None
        signer = Signer.from_seed(settings.log_origin, settings.signing_key)
        if signer.verifier != pinned_verifier(settings):
            raise ValueError("签名密钥与固定的公钥(LEDGER_PUBLIC_KEY)不符,拒绝签发检查点")
        return cls(
            signer,
            CheckpointLog(settings.checkpoint_log),
            settings.checkpoint_every,
            settings.checkpoint_minutes,
        )

    def published(self) -> list[tuple[Checkpoint, Published]]:
        """Every checkpoint in the outside log, each checked against the pinned key;
        an entry it did not sign stops the read side."""
        try:
            stat = os.stat(self.log.path)
            mark: Any = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            mark = None
        if self._cache is not None and self._cache[0] == mark:
            return self._cache[1]
        try:
            found = self.log.checkpoints(self.signer.verifier)
        except (NoteError, ValueError, KeyError) as error:
            raise TreeRefused(f"检查点日志中有未经本账本密钥签名的条目:{error}") from None
        if any(c.origin != self.signer.name for c, _ in found):
            raise TreeRefused("检查点日志中有其他账本(origin)的检查点")
        self._cache = (mark, found)
        return found

    def due(self, size: int, now: datetime) -> bool:
        published = self.published()
        if not published:
            return size > 0
        last, entry = published[-1]
        if size <= last.size:
            return False
        return size - last.size >= self.every or now - entry.published_at >= timedelta(
            minutes=self.minutes
        )


class MerkleLog(ReadModel):
    """Reads the stored events themselves (``raw``), not decoded domain events."""

    name = "audit_tree"
    tables = (LEAVES, NODES, CHECKPOINTS)
    raw = True

    def __init__(self, view: ViewRecorder, *, empty: bool = False) -> None:
        super().__init__(view, empty=empty)
        self.publisher: Publisher | None = None
        self._tree: merkle.CompactRange | None = merkle.CompactRange() if empty else None

    @classmethod
    def handlers(cls) -> dict[type, str]:
        return {}

    def process_batch(self, events: Iterable[tuple[Any, int]], tracking: Tracking) -> None:
        notifications: list[Notification] = [n for n, _ in events]
        leaves, nodes = self.rows["audit_leaves"], self.rows["audit_nodes"]
        checkpoints = self.rows["audit_checkpoints"]
        try:
            tree = self._loaded()
            published = (
                {c.size: (c, e) for c, e in self.publisher.published()} if (self.publisher) else {}
            )
            for n in notifications:
                leaf = merkle.leaf_hash(
                    merkle.event_leaf(n.id, n.originator_id, n.originator_version, n.topic, n.state)
                )
                leaves.append((tree.size, n.id, leaf))
                for level, index, value in tree.append(leaf):
                    nodes.append((level, index, value))
                kept = published.get(tree.size)
                if kept is not None:
                    point, entry = kept
                    if tree.root() != point.root:
                        raise TreeRefused(
                            f"树在已发布检查点(大小 {point.size})处的根与发布的不同:"
                            f"位置 {n.id} 及以前的事件与发布时不一致,拒绝继续"
                        )
                    checkpoints.append((point.size, point.root, entry.note, entry.published_at))
            self._write(tracking)
        except BaseException:
            self.forget()
            self._tree = None
            raise
        self.idle()

    def _loaded(self) -> merkle.CompactRange:
        if self._tree is None:
            with self.view.datastore.get_connection() as conn:
                size = stored_size(conn, self.view.physical(LEAVES))
                wanted = merkle.CompactRange.nodes(size)
                found = fetch_nodes(
                    conn, wanted, self.view.physical(LEAVES), self.view.physical(NODES)
                )
            self._tree = merkle.CompactRange(size, [found[n] for n in wanted])
        return self._tree

    def idle(self) -> None:
        """Publish a checkpoint if one is due."""
        if self.publisher is not None and self.publisher.due(self._loaded().size, _now()):
            self.publish()

    def _reloaded(self) -> merkle.CompactRange:
        """The tree as stored now: another process following the log may have grown it
        since this one last looked."""
        self._tree = None
        return self._loaded()

    def publish(self) -> Published:
        """Sign the tree's head and append it to the outside log, after proving that it
        extends the last published checkpoint; then copy it into the database."""
        assert self.publisher is not None
        self.settle()  # the tree as stored, every batch applied
        tree = self._reloaded()
        head = Checkpoint(self.publisher.signer.name, tree.size, tree.root())
        published = self.publisher.published()
        if published and published[-1][0] == head:  # published, perhaps not yet copied
            self._copy(head, published[-1][1])
            return published[-1][1]
        if published:
            last = published[-1][0]
            with self.view.datastore.get_connection() as conn:
                proof = (
                    self.consistency(conn, last.size, head.size) if head.size > last.size else []
                )
            try:
                merkle.verify_consistency(last.size, head.size, last.root, head.root, proof)
            except merkle.ProofError as error:
                raise TreeRefused(
                    f"当前的树(大小 {head.size})不能证明是最近发布的检查点(大小 {last.size})"
                    f"的延续({error}),拒绝签发"
                ) from None
        entry = self.publisher.log.append(sign_note(head.text, self.publisher.signer))
        self._copy(head, entry)
        log.info(json.dumps({"event": "checkpoint_published", "size": head.size}))
        return entry

    def _copy(self, head: Checkpoint, entry: Published) -> None:
        with self.view.datastore.transaction(commit=True) as curs:
            curs.execute(
                f'INSERT INTO "{self.view.physical(CHECKPOINTS)}" '
                "(tree_size, root, note, published_at) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                (head.size, head.root, entry.note, entry.published_at),
            )

    def consistency(self, conn: Connection[DictRow], old: int, new: int) -> list[bytes]:
        return consistency_proof(
            conn, old, new, self.view.physical(LEAVES), self.view.physical(NODES)
        )


def _now() -> datetime:
    return datetime.now(UTC)


# --- reading the stored tree (one home for its SQL) -------------------------------------


def stored_size(conn: Connection[DictRow], leaves: str = LEAVES.name) -> int:
    row = conn.execute(f'SELECT max(leaf_index) AS last FROM "{leaves}"').fetchone()
    return 0 if row is None or row["last"] is None else int(row["last"]) + 1


def fetch_nodes(
    conn: Connection[DictRow],
    wanted: Iterable[merkle.Node],
    leaves: str = LEAVES.name,
    nodes: str = NODES.name,
) -> dict[merkle.Node, bytes]:
    """The stored hashes of perfect subtrees (level 0: the leaves); a missing one
    raises ``merkle.ProofError``."""
    wanted = list(wanted)
    levels = [level for level, _ in wanted]
    indexes = [index for _, index in wanted]
    rows = conn.execute(
        f'SELECT 0 AS level, leaf_index AS node_index, hash FROM "{leaves}" '
        "WHERE leaf_index = ANY(%s) UNION ALL "
        f'SELECT n.level, n.node_index, n.hash FROM "{nodes}" n '
        "JOIN unnest(%s::smallint[], %s::bigint[]) AS w(level, node_index) "
        "USING (level, node_index)",
        ([i for level, i in wanted if level == 0], levels, indexes),
    ).fetchall()
    found = {(r["level"], r["node_index"]): bytes(r["hash"]) for r in rows}
    missing = [n for n in wanted if n not in found]
    if missing:
        raise merkle.ProofError(f"存储的树缺少节点 {missing[0]}")
    return found


def _checked(size: int) -> None:
    """A size the stored tree has not reached lacks the node over its last leaf, so
    ``fetch_nodes`` refuses it; only the bounds are checked here."""
    if not 0 < size <= MAX_TREE_SIZE:
        raise merkle.ProofError(f"没有 {size} 个叶子的树")


def inclusion_proof(
    conn: Connection[DictRow],
    index: int,
    size: int,
    leaves: str = LEAVES.name,
    nodes: str = NODES.name,
) -> list[bytes]:
    _checked(size)
    ranges = merkle.inclusion_ranges(index, size)
    return merkle.prove(ranges, lambda wanted: fetch_nodes(conn, wanted, leaves, nodes))


def consistency_proof(
    conn: Connection[DictRow],
    old: int,
    new: int,
    leaves: str = LEAVES.name,
    nodes: str = NODES.name,
) -> list[bytes]:
    _checked(new)
    ranges = merkle.consistency_ranges(old, new)
    return merkle.prove(ranges, lambda wanted: fetch_nodes(conn, wanted, leaves, nodes))


def root_at(conn: Connection[DictRow], size: int) -> bytes:
    """The stored tree's root at ``size`` leaves."""
    _checked(size)
    wanted = merkle.CompactRange.nodes(size)
    found = fetch_nodes(conn, wanted)
    return merkle.fold([found[n] for n in wanted])


@dataclass(frozen=True)
class Leaf:
    index: int
    position: int
    hash: bytes


def leaf_at(conn: Connection[DictRow], position: int) -> Leaf | None:
    """The leaf of the event at a notification position."""
    row = conn.execute(
        "SELECT leaf_index, position, hash FROM audit_leaves WHERE position = %s", (position,)
    ).fetchone()
    return None if row is None else Leaf(row["leaf_index"], row["position"], bytes(row["hash"]))


def events_with_leaves(conn: Connection[DictRow], positions: list[int]) -> list[DictRow]:
    """The stored events at ``positions``, each with its leaf's index in the tree (None:
    the tree holds no leaf for it)."""
    return conn.execute(
        "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
        "l.leaf_index FROM ledger_events e LEFT JOIN audit_leaves l "
        "ON l.position = e.notification_id WHERE e.notification_id = ANY(%s)",
        (positions,),
    ).fetchall()


def position_of(conn: Connection[DictRow], index: int) -> int | None:
    """The notification position of the tree's leaf ``index``."""
    row = conn.execute(
        "SELECT position FROM audit_leaves WHERE leaf_index = %s", (index,)
    ).fetchone()
    return None if row is None else int(row["position"])


LATEST_CHECKPOINT = "SELECT tree_size, note FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1"


def latest_checkpoint(conn: Connection[DictRow]) -> str | None:
    """The note of the last checkpoint copied into the database (readers check it
    against their pinned key)."""
    row = conn.execute(LATEST_CHECKPOINT).fetchone()
    return None if row is None else str(row["note"])


def latest_checkpoint_size(conn: Connection[DictRow]) -> int | None:
    row = conn.execute(LATEST_CHECKPOINT).fetchone()
    return None if row is None else int(row["tree_size"])
