"""Verifying the ledger without trusting it: the Merkle tree recomputed from the event store.

Every stored event is hashed again into a leaf and compared, position by position,
with the stored tree; the tree recomputed from the events is compared with every
checkpoint given (the auditor's kept one, the outside log, the copies in the
database), each first opened with the pinned key. Against a kept checkpoint, a
consistency proof from the stored tree must lead from it to the newest checkpoint,
and neither the tree nor the checkpoints may be shorter than it.

This and the auditor's history are the only reads of the event store itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

from audit.reading import stream
from audit.reconcile import reconcile
from ledger.application import Ledger
from ledger.database import CONNECTION_LIMITS
from ledger.domain.limits import UNCHAINED_MAX
from projections import merkle, tree
from projections.notes import Checkpoint, NoteError, Verifier, open_note

FINDING_WORDS = {
    "altered": "事件被改写",
    "deleted": "事件被删除",
    "inserted": "事件被插入",
    "tree": "树被删改",
    "truncated": "事件被截去",
    "checkpoint": "检查点不符",
    "consistency": "不能证明一致",
    "unchained": "未入树过多",
    "reconciliation": "账户变动与原因不符",
}
"""What an auditor reads for each kind of finding (the kinds are stable codes)."""


@dataclass(frozen=True)
class Finding:
    position: int | None  # the earliest affected position, where it can be known
    kind: str  # a code of FINDING_WORDS
    detail: str

    @property
    def kind_name(self) -> str:
        return FINDING_WORDS[self.kind]


@dataclass
class Verification:
    events: int = 0
    leaves: int = 0  # the stored tree's size
    checkpoints: int = 0  # checkpoints compared with the recomputed tree
    head_position: int = 0
    root: bytes = merkle.EMPTY_ROOT  # of the tree recomputed from every stored event
    unchained: int = 0  # recorded after the tree's last leaf: not yet in the tree
    reconciled: int = 0  # account movements matched to their cause
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings

    @property
    def first_bad_position(self) -> int | None:
        return min((f.position for f in self.findings if f.position is not None), default=None)


@dataclass(frozen=True)
class _Claim:
    checkpoint: Checkpoint
    source: str


def _claims(
    result: Verification,
    verifier: Verifier,
    notes: Sequence[tuple[str, str]],
) -> list[_Claim]:
    claims = []
    for source, note in notes:
        try:
            point = open_note(note, verifier)
        except NoteError as error:
            result.findings.append(
                Finding(None, "checkpoint", f"{source}不能用固定公钥 {verifier.name} 核验:{error}")
            )
            continue
        if point.origin != verifier.name:
            result.findings.append(Finding(None, "checkpoint", f"{source}属于另一个账本"))
            continue
        claims.append(_Claim(point, source))
    return claims


def verify(
    url: str,
    verifier: Verifier,
    *,
    kept: str | None = None,
    published: Sequence[str] = (),
    ledger: Ledger | None = None,
) -> Verification:
    """Recompute the tree from the stored events and compare it with the stored tree
    and with every checkpoint; ``kept`` is the note of a checkpoint an auditor kept,
    ``published`` the notes of the outside log. With ``ledger``, every account
    movement is also matched to its cause."""
    result = Verification()
    with (
        psycopg.connect(url, **CONNECTION_LIMITS) as store,
        psycopg.connect(url, row_factory=dict_row, **CONNECTION_LIMITS) as tree_conn,
    ):
        stored_notes = [
            ("数据库中的检查点", str(r["note"]))
            for r in tree_conn.execute("SELECT note FROM audit_checkpoints ORDER BY tree_size")
        ]
        outside = [("已发布的检查点", note) for note in published]
        against = _claims(result, verifier, [("审计方保存的检查点", kept)]) if kept else []
        if kept and not against:
            return result  # nothing to verify against: the finding says why
        claims = against + _claims(result, verifier, outside + stored_notes)
        result.leaves = tree.stored_size(tree_conn)
        head = tree_conn.execute("SELECT max(position) AS p FROM audit_leaves").fetchone()
        tree_head = head["p"] if head and head["p"] is not None else 0
        _compare(result, store, tree_conn, claims, tree_head)
        if against:
            _against(result, tree_conn, against[0].checkpoint, claims)
    if result.unchained > UNCHAINED_MAX:
        result.findings.append(
            Finding(
                tree_head + 1,
                "unchained",
                f"{result.unchained} 条事件不在树中,超过允许的 {UNCHAINED_MAX} 条",
            )
        )
    if ledger is not None:
        result.reconciled, unmatched = reconcile(ledger)
        result.findings += [
            Finding(u.position, "reconciliation", f"{u.detail}({u.kind_name},原因 {u.cause_id})")
            for u in unmatched
        ]
    result.findings.sort(key=lambda f: (f.position is None, f.position or 0))
    return result


EVENTS = (
    "SELECT notification_id, originator_id, originator_version, topic, state "
    "FROM ledger_events ORDER BY notification_id"
)
EVENTS_AND_LEAVES = (
    "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, "
    "l.position, l.leaf_index, l.hash FROM ledger_events e "
    "FULL JOIN audit_leaves l ON l.position = e.notification_id "
    "ORDER BY coalesce(e.notification_id, l.position)"
)


def _compare(
    result: Verification,
    store: psycopg.Connection[Any],
    tree_conn: psycopg.Connection[Any],
    claims: list[_Claim],
    tree_head: int,
) -> None:
    """Recompute every leaf and the tree from the events, and compare the tree with the
    stored one: when their roots at the stored size agree, every stored leaf is the
    event's (the tree commits to each); when not, walk the events and the stored
    leaves together to name each position that differs."""
    stored_size = result.leaves
    sizes = {c.checkpoint.size for c in claims} | {stored_size}
    roots: dict[int, tuple[bytes, int]] = {}  # size -> (recomputed root, last position)
    recomputed = merkle.CompactRange()
    leaf_hash, event_leaf, push = merkle.leaf_hash, merkle.event_leaf, recomputed.push
    for position, originator_id, version, topic, state in stream(store, "events", EVENTS):
        push(leaf_hash(event_leaf(position, originator_id, version, topic, bytes(state))))
        if recomputed.size in sizes:
            roots[recomputed.size] = (recomputed.root(), position)
        result.head_position = position
    result.events = recomputed.size
    result.root = recomputed.root()
    if _tree_agrees(tree_conn, stored_size, roots):
        result.unchained = result.events - stored_size
    else:
        _locate(result, store, tree_head)
    _check_claims(result, claims, roots, lambda size: _stored_root(tree_conn, size))


def _tree_agrees(
    conn: psycopg.Connection[Any], size: int, roots: dict[int, tuple[bytes, int]]
) -> bool:
    """Whether the stored tree, every leaf present, has the recomputed root at its size."""
    if size == 0:
        return True
    count = conn.execute("SELECT count(*) AS n FROM audit_leaves").fetchone()
    if count is None or count["n"] != size or size not in roots:
        return False
    try:
        return tree.root_at(conn, size) == roots[size][0]
    except merkle.ProofError:
        return False


def _locate(result: Verification, store: psycopg.Connection[Any], tree_head: int) -> None:
    """Name every position where the events and the stored leaves differ."""
    expected_index = 0
    for position, originator_id, version, topic, state, at, index, stored in stream(
        store, "located", EVENTS_AND_LEAVES
    ):
        if position is None:
            result.findings.append(Finding(at, "deleted", "树中有而事件存储中缺失的事件"))
        elif at is None:
            if position > tree_head:
                result.unchained += 1
            else:
                result.findings.append(
                    Finding(position, "inserted", "事件存储中多出一条树中没有的事件")
                )
        else:
            if index != expected_index:
                result.findings.append(Finding(position, "tree", "树中缺少叶子(树被截短或删改)"))
                expected_index = index
            hashed = merkle.leaf_hash(
                merkle.event_leaf(position, originator_id, version, topic, bytes(state))
            )
            if bytes(stored) != hashed:
                result.findings.append(Finding(position, "altered", "事件内容与树中的叶子不符"))
            expected_index += 1


def _stored_root(conn: psycopg.Connection[Any], size: int) -> bytes:
    """The root over the first ``size`` stored leaves as they are (only asked when the
    events disagree with a checkpoint: did the stored leaves still agree with it?)."""
    rebuilt = merkle.CompactRange()
    for row in stream(
        conn,
        "stored",
        f"SELECT hash FROM audit_leaves WHERE leaf_index < {int(size)} ORDER BY leaf_index",
    ):
        rebuilt.push(bytes(row["hash"]))
    return rebuilt.root() if rebuilt.size == size else merkle.EMPTY_ROOT


def _check_claims(
    result: Verification,
    claims: list[_Claim],
    roots: dict[int, tuple[bytes, int]],
    stored_root: Callable[[int], bytes],
) -> None:
    """Each checkpoint against the tree recomputed from the events. Where the stored
    leaves still agree with it, comparing them with the events named each changed
    position; where the stored tree was rewritten too, the earliest affected position
    is bounded by the last checkpoint that still agrees."""
    agreeing = sorted(
        at
        for size, (value, at) in roots.items()
        if any(c.checkpoint.size == size and c.checkpoint.root == value for c in claims)
    )
    for claim in sorted(claims, key=lambda c: c.checkpoint.size):
        point = claim.checkpoint
        result.checkpoints += 1
        found = roots.get(point.size)
        if found is None:
            result.findings.append(
                Finding(
                    result.head_position + 1,
                    "truncated",
                    f"{claim.source}(大小 {point.size})比事件存储({result.events} 条)长:"
                    f"位置 {result.head_position} 之后的事件被删除",
                )
            )
        elif found[0] != point.root and stored_root(point.size) != point.root:
            before = [at for at in agreeing if at < found[1]]
            after = before[-1] + 1 if before else 1
            result.findings.append(
                Finding(
                    after,
                    "checkpoint",
                    f"{claim.source}(大小 {point.size})与由事件重算的树不符:"
                    f"位置 {after} 到 {found[1]} 之间的事件被改写、插入或删除",
                )
            )


def _against(
    result: Verification,
    tree_conn: psycopg.Connection[Any],
    kept: Checkpoint,
    claims: list[_Claim],
) -> None:
    """The stored tree and the ledger's checkpoints must reach the kept checkpoint, and a
    consistency proof from the stored tree lead from it to the newest checkpoint."""
    if result.leaves < kept.size:
        result.findings.append(
            Finding(
                None,
                "tree",
                f"树只有 {result.leaves} 个叶子,短于审计方检查点的 {kept.size}(树被删除或截短)",
            )
        )
    newest = max((c.checkpoint for c in claims[1:]), key=lambda c: c.size, default=None)
    if newest is None or newest.size < kept.size:
        result.findings.append(
            Finding(None, "checkpoint", f"账本的检查点缺失或短于审计方检查点(大小 {kept.size})")
        )
        return
    try:
        proof = (
            tree.consistency_proof(tree_conn, kept.size, newest.size)
            if newest.size > kept.size
            else []
        )
        merkle.verify_consistency(kept.size, newest.size, kept.root, newest.root, proof)
    except merkle.ProofError as error:
        result.findings.append(
            Finding(
                None,
                "consistency",
                f"不能证明最新检查点(大小 {newest.size})是审计方检查点(大小 {kept.size})的延续:"
                f"{error}",
            )
        )
