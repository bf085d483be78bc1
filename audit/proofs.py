"""Inclusion and consistency proofs, served from the stored tree's hashes.

A proof is only as good as its check: the caller verifies it against a checkpoint it
opened with its pinned key (``projections.merkle.verify_inclusion`` /
``verify_consistency``, or ``tools/verify_export.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from psycopg import Connection
from psycopg.rows import DictRow

from ledger.application import Ledger
from ledger.domain.certificate import CertificateCheck, CertificateStatus
from ledger.domain.limits import MAX_TREE_SIZE
from projections import merkle, notes, tree


@dataclass(frozen=True)
class InclusionProof:
    position: int
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    hashes: list[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    hashes: list[bytes]


def _bounded(value: int, what: str) -> int:
    if not 0 < value <= MAX_TREE_SIZE:
        raise merkle.ProofError(f"{what} 须在 1 到 {MAX_TREE_SIZE} 之间")
    return value


def _size_or_latest(conn: Connection[DictRow], size: int | None) -> int:
    if size is not None:
        return _bounded(size, "树的大小")
    latest = tree.latest_checkpoint_size(conn)
    if latest is None:
        raise merkle.ProofError("尚无已发布的检查点")
    return latest


def inclusion(ledger: Ledger, position: int, size: int | None = None) -> InclusionProof:
    """The proof that the event at ``position`` is in the tree of ``size`` leaves (the
    latest checkpoint's, by default)."""
    _bounded(position, "位置")
    with ledger.group_recorder.datastore.get_connection() as conn:
        size = _size_or_latest(conn, size)
        leaf = tree.leaf_at(conn, position)
        if leaf is None or leaf.index >= size:
            raise merkle.ProofError(f"位置 {position} 的事件不在大小为 {size} 的树中")
        hashes = tree.inclusion_proof(conn, leaf.index, size)
    return InclusionProof(position, leaf.index, size, leaf.hash, hashes)


def consistency(ledger: Ledger, old_size: int, new_size: int | None = None) -> ConsistencyProof:
    """The proof that the tree of ``new_size`` leaves (the latest checkpoint's, by
    default) extends the tree of ``old_size``."""
    _bounded(old_size, "旧树的大小")
    with ledger.group_recorder.datastore.get_connection() as conn:
        new_size = _size_or_latest(conn, new_size)
        if old_size > new_size:
            raise merkle.ProofError(f"旧树({old_size})比新树({new_size})大")
        hashes = tree.consistency_proof(conn, old_size, new_size)
    return ConsistencyProof(old_size, new_size, hashes)


def latest_note(ledger: Ledger) -> str | None:
    """The latest checkpoint's note as the database holds it (check it with a pinned key)."""
    with ledger.group_recorder.datastore.get_connection() as conn:
        return tree.latest_checkpoint(conn)


@dataclass(frozen=True)
class Anchoring:
    """How far some events are held by the ledger's latest signed checkpoint.

    ``proven``: each event, as the store holds it now, is a leaf of the checkpoint's tree
    (its inclusion proof checked against the root the pinned key signed); ``pending``:
    recorded after that checkpoint; ``failed``: below it, but the stored event is not
    the leaf the signed tree holds (altered, or its tree rows are). ``problem``: the
    checkpoint itself is not signed by the pinned key."""

    checkpoint: notes.Checkpoint | None
    proven: list[int]
    pending: list[int]
    failed: list[int]
    problem: str | None = None


def anchor(ledger: Ledger, positions: list[int], verifier: notes.Verifier) -> Anchoring:
    """Prove each event at ``positions`` against the latest checkpoint, opened with the
    pinned ``verifier``; the leaves are computed anew from the stored events."""
    wanted = sorted(set(positions))
    with ledger.group_recorder.datastore.get_connection() as conn:
        note = tree.latest_checkpoint(conn)
        if note is None:
            return Anchoring(None, [], wanted, [])
        try:
            point = notes.open_note(note, verifier)
        except notes.NoteError as error:
            return Anchoring(None, [], [], wanted, f"账本的检查点不能用固定公钥核验:{error}")
        last = tree.position_of(conn, point.size - 1) if point.size else None
        pending = [p for p in wanted if last is None or p > last]
        below = [p for p in wanted if last is not None and p <= last]
        rows = {r["notification_id"]: r for r in tree.events_with_leaves(conn, below)}
        held = {
            p: rows[p]
            for p in below
            if p in rows
            and rows[p]["leaf_index"] is not None
            and rows[p]["leaf_index"] < point.size
        }
        ranges = {p: merkle.inclusion_ranges(r["leaf_index"], point.size) for p, r in held.items()}
        try:  # every proof's stored hashes in one read
            stored = tree.fetch_nodes(
                conn, merkle.proof_nodes(x for rs in ranges.values() for x in rs)
            )
        except merkle.ProofError:  # the tree's rows are gone: nothing below it is proven
            held, stored = {}, {}
    proven = []
    for position, row in held.items():
        data = merkle.event_leaf(
            position, row["originator_id"], row["originator_version"], row["topic"], row["state"]
        )
        try:
            merkle.verify_inclusion(
                row["leaf_index"],
                point.size,
                merkle.leaf_hash(data),
                merkle.assemble(ranges[position], stored),
                point.root,
            )
        except merkle.ProofError:
            continue
        proven.append(position)
    failed = [p for p in below if p not in proven]
    return Anchoring(point, proven, pending, failed)


def anchored_check(check: CertificateCheck, anchored: Anchoring) -> CertificateCheck:
    """A certificate whose events the signed tree does not hold as they are now fails."""
    if check.status is not CertificateStatus.GENUINE:
        return check
    problems = []
    if anchored.problem is not None:
        problems.append(anchored.problem)
    if anchored.failed:
        listed = "、".join(str(p) for p in anchored.failed)
        problems.append(f"事件 {listed} 的现存内容与签名检查点中的不符:账本记录在签名后被改动")
    if not problems:
        return check
    return dataclasses.replace(check, status=CertificateStatus.ALTERED, problems=problems)
