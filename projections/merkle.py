"""RFC 6962 / RFC 9162 Merkle trees: hashing, the compact range, proofs and their checks.

Leaves and nodes are hashed with SHA-256 and RFC 6962's domain separation:
``leaf = SHA-256(0x00 || data)``, ``node = SHA-256(0x01 || left || right)``; the empty
tree's root is ``SHA-256("")``. A tree of ``n`` leaves splits at the largest power of
two below ``n``.

Stored trees keep the hash of every *perfect* subtree: level ``l``, index ``i`` covers
leaves ``[i * 2**l, (i + 1) * 2**l)``. Every subtree a proof names is a run of such
perfect subtrees, so any proof for any tree size is served from stored hashes
(``proof_nodes`` says which, ``assemble`` folds them).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()
HASH_SIZE = 32
Node = tuple[int, int]  # (level, index) of a perfect subtree
Range = tuple[int, int]  # leaves [start, end)


class ProofError(ValueError):
    """A proof that does not prove what it claims."""


def leaf_hash(data: bytes) -> bytes:
    digest = _sha256(b"\x00")
    digest.update(data)
    return digest.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def event_leaf(position: int, originator_id: Any, version: int, topic: str, state: bytes) -> bytes:
    """The leaf data of one stored event, exactly as stored (docs/audit-format.md):
    u64 position, 16 bytes of originator id (RFC 4122 order), u64 version,
    u32 length + UTF-8 topic, u32 length + state bytes; all integers big-endian."""
    topic_bytes = topic.encode()
    return b"".join(
        (
            struct.pack(">Q", position),
            originator_id.bytes,
            struct.pack(">QI", version, len(topic_bytes)),
            topic_bytes,
            struct.pack(">I", len(state)),
            state,
        )
    )


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, as RFC 6962 defines it (for tests and small trees)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(root(leaves[:k]), root(leaves[k:]))


class CompactRange:
    """The perfect subtrees covering leaves ``[0, size)``, largest first: appending a
    leaf yields each perfect subtree it completes, so a tree is stored as it grows."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != bin(size).count("1"):
            raise ValueError("a compact range has one hash per set bit of its size")
        self.size = size
        self.hashes = list(hashes)

    @staticmethod
    def nodes(size: int) -> list[Node]:
        """The perfect subtrees of ``[0, size)``, largest first."""
        return range_nodes(0, size)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; returns the perfect subtrees (level, index, hash) of two or
        more leaves that it completes."""
        made: list[tuple[int, int, bytes]] = []
        value, index, level = leaf, self.size, 0
        while index & 1:
            value = node_hash(self.hashes.pop(), value)
            index >>= 1
            level += 1
            made.append((level, index, value))
        self.hashes.append(value)
        self.size += 1
        return made

    def push(self, leaf: bytes) -> None:
        """``append`` without the subtrees it completes (the auditor's recomputation)."""
        hashes, index, value = self.hashes, self.size, leaf
        while index & 1:
            value = _sha256(b"\x01" + hashes.pop() + value).digest()
            index >>= 1
        hashes.append(value)
        self.size += 1

    def root(self) -> bytes:
        return fold(self.hashes)


def fold(hashes: Sequence[bytes]) -> bytes:
    """The hash of a run of perfect subtrees, largest first (right to left)."""
    if not hashes:
        return EMPTY_ROOT
    value = hashes[-1]
    for left in reversed(hashes[:-1]):
        value = node_hash(left, value)
    return value


def range_nodes(start: int, end: int) -> list[Node]:
    """The perfect subtrees that make up ``[start, end)``, left to right. For the
    subtrees RFC 6962 names (``start`` aligned to a power of two at least
    ``end - start``), they come largest first and ``fold`` gives the subtree's hash."""
    nodes: list[Node] = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else 63
        while (1 << level) > end - start:
            level -= 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees whose hashes form the inclusion proof of leaf ``index`` in a tree
    of ``size`` leaves (RFC 9162, 2.1.3.1), leaf side first."""
    if not 0 <= index < size:
        raise ProofError(f"叶子 {index} 不在大小为 {size} 的树中")
    ranges: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return list(reversed(ranges))


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The subtrees whose hashes form the consistency proof from a tree of ``old``
    leaves to one of ``new`` (RFC 9162, 2.1.4.1)."""
    if not 0 < old <= new:
        raise ProofError(f"没有从大小 {old} 到 {new} 的一致性证明")
    ranges: list[Range] = []
    start, end, m, whole = 0, new, old, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        ranges.append((start, end))
    return list(reversed(ranges))


def proof_nodes(ranges: Iterable[Range]) -> list[Node]:
    """Every stored node the hashes of ``ranges`` need."""
    return sorted({node for start, end in ranges for node in range_nodes(start, end)})


def assemble(ranges: Iterable[Range], stored: Mapping[Node, bytes]) -> list[bytes]:
    """The hashes of ``ranges`` from stored perfect subtrees."""
    return [fold([stored[n] for n in range_nodes(s, e)]) for s, e in ranges]


def prove(ranges: list[Range], fetch: Callable[[list[Node]], Mapping[Node, bytes]]) -> list[bytes]:
    """A proof, its stored nodes read with one ``fetch``."""
    return assemble(ranges, fetch(proof_nodes(ranges)))


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what}不是 SHA-256 哈希")


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes
) -> None:
    """RFC 9162, 2.1.3.2; raises ProofError unless ``leaf`` is leaf ``index`` of the
    tree of ``size`` leaves whose root is ``root_hash``."""
    if not 0 <= index < size:
        raise ProofError(f"叶子 {index} 不在大小为 {size} 的树中")
    _check_hash(leaf, "叶子哈希")
    fn, sn, value = index, size - 1, leaf
    for p in proof:
        _check_hash(p, "证明中的哈希")
        if sn == 0:
            raise ProofError("证明过长")
        if fn & 1 or fn == sn:
            value = node_hash(p, value)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            value = node_hash(value, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("证明过短")
    if value != root_hash:
        raise ProofError("证明得出的树根与检查点不同")


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162, 2.1.4.2; raises ProofError unless the tree of ``new`` leaves with
    ``new_root`` extends the tree of ``old`` leaves with ``old_root``."""
    if old > new:
        raise ProofError(f"大小为 {new} 的树不可能是大小为 {old} 的树的延续")
    if old == new:
        if proof:
            raise ProofError("大小相同的两棵树,证明应为空")
        if old_root != new_root or (old == 0 and old_root != EMPTY_ROOT):
            raise ProofError("大小相同而树根不同")
        return
    if old == 0:
        raise ProofError("从空树出发的一致性证明不能证明任何事")
    if not proof:
        raise ProofError("证明为空")
    for p in proof:
        _check_hash(p, "证明中的哈希")
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("证明过长")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("证明过短")
    if fr != old_root:
        raise ProofError("证明得不出旧树的树根")
    if sr != new_root:
        raise ProofError("证明得不出新树的树根")
