"""The rule book as an aggregate: the published versions of the points policy."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import InvalidPolicy
from ledger.domain.limits import FREE_TEXT
from ledger.domain.policy import PointsPolicy
from ledger.domain.text import clean_text
from ledger.domain.values import Context, stable_id

RULE_BOOK_ID = stable_id("rule-book")


class RuleBook(LedgerAggregate):
    """Every version ever published stays readable, so any award can be re-checked."""

    @staticmethod
    def create_id() -> UUID:
        return RULE_BOOK_ID

    @event("Opened")
    def __init__(self, ctx: Context) -> None:
        self.versions: dict[int, PointsPolicy] = {}

    @property
    def current(self) -> PointsPolicy:
        """The street's version in force (a community's own versions aside)."""
        return self.versions[max(v for v, p in self.versions.items() if p.community_id is None)]

    def current_for(self, community_id: UUID) -> PointsPolicy:
        """The version a community's awards use: its own latest, if it published one
        since the street's version in force; else the street's. A new street version
        thus replaces every community's own until the community publishes again."""
        street = self.current
        own = [
            v
            for v, p in self.versions.items()
            if p.community_id == community_id and v > street.version
        ]
        return self.versions[max(own)] if own else street

    def publish(self, policy: PointsPolicy, note: str, ctx: Context) -> None:
        """A street version, or (``policy.community_id`` set) a community's own, which
        must keep within the discretion the street's version in force allows."""
        if not isinstance(policy, PointsPolicy):
            raise InvalidPolicy(reason="须为一版积分规则")
        policy.validate()
        expected = max(self.versions, default=0) + 1
        if policy.version != expected:
            raise InvalidPolicy(reason=f"下一个版本号应为 {expected}")
        if policy.community_id is not None:
            self.current.check_discretion(policy)
        note = clean_text(note, "规则说明", FREE_TEXT, multiline=True)
        self._published(policy.to_data(), note, ctx)

    @event("Published")
    def _published(self, policy: dict[str, Any], note: str, ctx: Context) -> None:
        published = PointsPolicy.restore(policy)  # judged when published, not again
        self.versions[published.version] = published
