"""A community's discretion in the weights (社区党组织在权重上的自主): its own version of
the rule book within the street's bounds, recorded on every award it made."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

import audit
from ledger.application import Ledger
from ledger.domain.errors import InvalidPolicy, UnknownCommunity
from ledger.domain.policy import PointsPolicy
from ledger.domain.values import CST, CategoryClass, Context, MemberKind, Rating, Role, UnitKind

ADMIN = Context("admin", Role.ADMIN)
START = datetime(2026, 8, 3, 9, tzinfo=CST)


def patrol(ledger: Ledger, community: UUID, member: UUID, day: int) -> UUID:
    """Two hours of 巡逻, rated 很好."""
    start = START + timedelta(days=day)
    task = ledger.publish_task(
        community, "防汛巡逻", "巡逻", start, start + timedelta(hours=2), 2, ADMIN
    ).id
    service = ledger.claim_task(task, member, ADMIN).id
    ledger.check_in(service, ADMIN, at=start)
    ledger.check_out(service, ADMIN, at=start + timedelta(hours=2))
    ledger.rate_service(service, Rating.EXCELLENT, ADMIN)
    return service


def test_a_community_weighs_within_the_streets_bounds_and_its_awards_say_so(
    ledger: Ledger,
) -> None:
    street = ledger.register_street("自主街道", ADMIN).id
    riverside, hillside = (
        ledger.register_community(street, name, ADMIN).id for name in ("江边社区", "山上社区")
    )
    book = ledger.current_policy()
    assert book.community_discretion == Decimal("0.2")
    # 江边社区: flood patrols are hard work there, and 很好 weighs a little more.
    own = replace(
        book,
        version=book.version + 1,
        community_id=riverside,
        rating={**book.rating, Rating.EXCELLENT: Decimal("1.4")},
        categories={**book.categories, "巡逻": CategoryClass.HARD},
    )
    for beyond in (
        replace(own, rating={**own.rating, Rating.EXCELLENT: Decimal("1.41")}),
        replace(own, annual_floor_hours=Decimal("10")),
        replace(own, categories={**own.categories, "跳广场舞": CategoryClass.ROUTINE}),
    ):
        with pytest.raises(InvalidPolicy):
            ledger.publish_policy(beyond, "超出街道允许的幅度", ADMIN)
    with pytest.raises(UnknownCommunity):
        ledger.publish_policy(replace(own, community_id=street), "不是社区", ADMIN)
    ledger.publish_policy(own, "江边社区自定权重", ADMIN)
    assert ledger.current_policy() == book  # the street's book is unchanged

    # A member living in 江边社区 whose unit is paired with 山上社区 serves in both.
    unit = ledger.register_unit("自主单位", UnitKind.ORGAN, ADMIN, communities=[hillside]).id
    member = ledger.register_member(
        MemberKind.PARTY_MEMBER, "钱自主", riverside, ADMIN, unit_id=unit
    ).id
    there = ledger.get_service(patrol(ledger, riverside, member, 0)).award
    here = ledger.get_service(patrol(ledger, hillside, member, 1)).award
    assert there is not None and here is not None
    # 2 h x 2.0 (hard in 江边社区) x 1.4 = 5.6; elsewhere 2 h x 1.0 x 1.2 = 2.4.
    assert (there.points, there.category_class, there.policy_version, there.community_id) == (
        Decimal("5.6"),
        CategoryClass.HARD,
        own.version,
        riverside,
    )
    assert (here.points, here.policy_version, here.community_id) == (
        Decimal("2.4"),
        book.version,
        None,
    )
    _, mismatches = audit.recheck_awards(ledger)
    assert mismatches == []

    # A new street version replaces the community's own until it publishes again.
    ledger.publish_policy(replace(book, version=own.version + 1), "街道新版", ADMIN)
    again = ledger.get_service(patrol(ledger, riverside, member, 2)).award
    assert again is not None
    assert (again.points, again.policy_version, again.community_id) == (
        Decimal("2.4"),
        own.version + 1,
        None,
    )
    assert PointsPolicy.from_data(own.to_data()) == own  # the stored form keeps the scope
