"""Replaying a member's account to a moment, and re-checking every award under the
policy version it recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from audit.provenance import value_at
from audit.reading import READ_BATCH
from ledger.application import Ledger
from ledger.domain.account import Account
from ledger.domain.errors import LedgerError
from ledger.domain.policy import Award
from ledger.domain.values import CategoryClass
from ledger.domain.work import Service, Task
from projections.base import event_class


@dataclass(frozen=True)
class MemberState:
    """A member's account as it stood at a moment, summed from its events."""

    member_id: UUID
    at: datetime
    movements: int  # how many of the account's movements belong to a moment up to ``at``
    balance: Decimal
    earned_points: Decimal
    earned_hours: Decimal


def replay_member(ledger: Ledger, member_id: UUID, at: datetime) -> MemberState:
    """The member's account as of ``at``, by the events' own figures: every movement
    that belongs to a moment up to ``at`` (its value date), whenever it was recorded."""
    movements, balance, points, hours = 0, Decimal(0), Decimal(0), Decimal(0)
    event: Any
    for event in ledger.events.get(Account.create_id(member_id)):
        moved = value_at(event)
        if moved is None or moved > at:
            continue
        movements += 1
        name = type(event).__name__
        if name == "Credited":
            balance, points = balance + event.amount, points + event.amount
            hours += event.hours
        elif name == "Reversed":
            balance -= event.amount
            points, hours = points - event.points_revoked, hours - event.hours_revoked
        elif name == "Refunded":
            balance += event.amount
        else:  # Debited, Expired
            balance -= event.amount
    return MemberState(member_id, at, movements, balance, points, hours)


@dataclass(frozen=True)
class AwardMismatch:
    service_id: UUID
    position: int
    recorded: Award
    recomputed: Award | None
    reason: str


def recheck_awards(ledger: Ledger) -> tuple[int, list[AwardMismatch]]:
    """Recompute every award from its recorded facts under the policy version it names.

    Returns how many awards were checked and those that do not match.
    """
    book = ledger.rule_book()
    tasks: dict[UUID, Any] = {}
    services: dict[UUID, dict[str, Any]] = {}
    routine: dict[tuple[UUID, date], Decimal] = {}
    checked, mismatches = 0, list[AwardMismatch]()
    topics = {
        get_topic(event_class(Task, "Published")),
        get_topic(event_class(Task, "Edited")),  # before any claim: the schedule awarded on
        get_topic(event_class(Service, "Claimed")),
        get_topic(event_class(Service, "CheckedIn")),
        get_topic(event_class(Service, "CheckedOut")),
        get_topic(event_class(Service, "Rated")),
        get_topic(event_class(Service, "Reversed")),
    }
    start = 0
    while True:
        batch = ledger.recorder.select_notifications(
            start, READ_BATCH, topics=list(topics), inclusive_of_start=False
        )
        if not batch:
            return checked, mismatches
        for notification in batch:
            event: Any = ledger.mapper.to_domain_event(notification)
            name, key = type(event).__name__, event.originator_id
            if name in ("Published", "Edited"):
                tasks[key] = event
            elif name == "Claimed":
                services[key] = {"task": event.task_id, "member": event.member_id}
            elif name in ("CheckedIn", "CheckedOut"):
                services[key][name] = event.at
            elif name == "Reversed":
                award = services[key].get("award")
                if award is not None and award.category_class is CategoryClass.ROUTINE:
                    day_key = (services[key]["member"], award.day)
                    routine[day_key] -= award.hours
            else:
                checked += 1
                record = services[key]
                task, recorded = tasks[record["task"]], event.award
                record["award"] = recorded
                day_key = (record["member"], recorded.day)
                try:
                    recomputed = book.versions[recorded.policy_version].award(
                        category=task.category,
                        scheduled_start=task.starts_at,
                        scheduled_end=task.ends_at,
                        checked_in=record["CheckedIn"],
                        checked_out=record["CheckedOut"],
                        rating=event.rating,
                        routine_hours_already=routine.get(day_key, Decimal(0)),
                    )
                except (KeyError, LedgerError) as error:
                    mismatches.append(
                        AwardMismatch(key, notification.id, recorded, None, f"无法重算:{error}")
                    )
                    continue
                if recomputed != recorded:
                    mismatches.append(
                        AwardMismatch(key, notification.id, recorded, recomputed, "重算结果不同")
                    )
                if recorded.category_class is CategoryClass.ROUTINE:
                    routine[day_key] = routine.get(day_key, Decimal(0)) + recorded.hours
        start = batch[-1].id
