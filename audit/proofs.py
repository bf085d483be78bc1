"""Inclusion and consistency proofs, served from the stored tree's hashes.

A proof is only as good as its check: the caller verifies it against a checkpoint it
opened with its pinned key (``projections.merkle.verify_inclusion`` /
``verify_consistency``, or ``tools/verify_export.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import Connection
from psycopg.rows import DictRow

from ledger.application import Ledger
from ledger.domain.limits import MAX_TREE_SIZE
from projections import merkle, tree


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
