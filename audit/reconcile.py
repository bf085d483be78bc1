"""Every movement on a member's account matched to exactly one cause, with an equal amount.

An ``Account.Credited`` is matched to the ``Service.Rated`` whose award it pays, an
``Account.Reversed`` to the ``Service.Reversed`` of that service (taking back that
award), an ``Account.Debited`` to its ``Redemption.Redeemed`` and an
``Account.Refunded`` to the ``Redemption.Cancelled`` of that redemption (giving back its
total). A credit changed without its award, or a forged credit with no award at all,
shows here even when every hash agrees.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from audit.reading import READ_BATCH
from ledger.application import Ledger
from ledger.domain.account import Account
from ledger.domain.store import Redemption
from ledger.domain.values import CauseKind
from ledger.domain.work import Service
from projections.base import event_class
from projections.queries.names import event_word

# (account event, cause kind) -> the cause event that must match it
PAIRS = {
    ("Credited", CauseKind.SERVICE): "Rated",
    ("Reversed", CauseKind.REVERSAL): "Service.Reversed",
    ("Debited", CauseKind.REDEMPTION): "Redeemed",
    ("Refunded", CauseKind.REDEMPTION_CANCELLED): "Cancelled",
}


@dataclass(frozen=True)
class Unmatched:
    position: int
    kind: str  # a code of UNMATCHED_WORDS
    cause_id: UUID
    detail: str

    @property
    def kind_name(self) -> str:
        return UNMATCHED_WORDS[self.kind]


UNMATCHED_WORDS = {
    "credit_without_cause": "变动无原因",
    "cause_without_credit": "原因无变动",
    "amount_differs": "金额不符",
    "duplicate": "重复变动",
    "undecodable": "无法解码",
}
"""What an auditor reads for each kind of unmatched movement (the kinds are stable codes)."""


@dataclass
class _Side:
    position: int
    amount: Decimal
    hours: Decimal | None = None


def reconcile(ledger: Ledger) -> tuple[int, list[Unmatched]]:
    """How many account movements were matched, and every one that is not."""
    topics = [
        get_topic(event_class(Account, name))
        for name in ("Credited", "Reversed", "Debited", "Refunded")
    ] + [
        get_topic(event_class(Service, "Rated")),
        get_topic(event_class(Service, "Reversed")),
        get_topic(event_class(Redemption, "Redeemed")),
        get_topic(event_class(Redemption, "Cancelled")),
    ]
    awards: dict[UUID, _Side] = {}
    totals: dict[UUID, Decimal] = {}
    causes: dict[tuple[str, UUID], _Side] = {}
    moves: dict[tuple[str, UUID], _Side] = {}
    found: list[Unmatched] = []
    matched, start = 0, 0
    while True:
        batch = ledger.recorder.select_notifications(
            start, READ_BATCH, topics=topics, inclusive_of_start=False
        )
        if not batch:
            break
        for n in batch:
            try:
                event: Any = ledger.mapper.to_domain_event(n)
            except Exception as error:  # an edited state: named, never skipped silently
                found.append(
                    Unmatched(
                        n.id,
                        "undecodable",
                        UUID(str(n.originator_id)),
                        f"事件无法解码:{error}"[:300],
                    )
                )
                continue
            owner, name = n.topic.rsplit(":", 1)[1].split(".")[-2:]
            key = event.originator_id
            if owner == "Account":
                pair = PAIRS.get((name, event.cause.kind))
                if pair is None or event.cause.id is None:
                    continue
                side = _Side(n.id, event.amount, getattr(event, "hours", None))
                if name == "Reversed":
                    side.amount = event.points_revoked
                slot = (pair, event.cause.id)
                if slot in moves:
                    found.append(
                        Unmatched(
                            n.id,
                            "duplicate",
                            event.cause.id,
                            f"同一原因的第二笔“{event_word(name)}”",
                        )
                    )
                    continue
                moves[slot] = side
            elif owner == "Service" and name == "Rated":
                award = event.award
                awards[key] = _Side(n.id, award.points, award.hours)
                if award.points > 0 or award.hours > 0:
                    causes[("Rated", key)] = awards[key]
            elif owner == "Service":
                award_side = awards.get(key)
                if award_side is not None and (award_side.amount > 0 or award_side.hours):
                    causes[("Service.Reversed", key)] = _Side(n.id, award_side.amount)
            elif name == "Redeemed":
                totals[key] = event.total
                causes[("Redeemed", key)] = _Side(n.id, event.total)
            else:
                causes[("Cancelled", key)] = _Side(n.id, totals.get(key, Decimal(-1)))
        start = batch[-1].id
    for slot, move in moves.items():
        cause = causes.pop(slot, None)
        if cause is None:
            found.append(
                Unmatched(
                    move.position, "credit_without_cause", slot[1], "账户变动找不到对应的原因事件"
                )
            )
        elif cause.amount != move.amount or (
            move.hours is not None and cause.hours is not None and move.hours != cause.hours
        ):
            found.append(
                Unmatched(
                    max(move.position, cause.position),
                    "amount_differs",
                    slot[1],
                    f"账户变动 {move.amount} 与原因事件 {cause.amount} 不等",
                )
            )
        else:
            matched += 1
    for slot, cause in causes.items():
        found.append(
            Unmatched(cause.position, "cause_without_credit", slot[1], "原因事件没有对应的账户变动")
        )
    found.sort(key=lambda u: u.position)
    return matched, found
