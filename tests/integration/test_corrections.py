"""Mistakes are mended by compensating events: a service rated 一般 with wrong times is
corrected to 很好 with its times mended, and every account of it agrees afterwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import asyncpg
import pytest

import audit
from ledger.application import Ledger
from ledger.domain.errors import (
    InvalidInput,
    InvalidTransition,
    OutsideTaskWindow,
    ServicesOverlap,
    UnknownUnit,
)
from ledger.domain.values import (
    CST,
    Context,
    MemberKind,
    Rating,
    Role,
    UnitKind,
    member_account,
)
from projections.queries import (
    account_entries,
    balance_as_of,
    dossier,
    member_ranking,
    member_totals,
    unit_ranking,
)
from projections.runner import ReadSide

WORKER = Context("worker-7", Role.COMMUNITY)
START = datetime(2026, 5, 6, 9, tzinfo=CST)  # a four-hour hard task, 09:00 to 13:00


def served(ledger: Ledger) -> tuple[UUID, UUID, UUID, UUID]:
    """A member's hard service, 09:00 to 12:00 (the sheet was misread), rated 一般:
    3.0 h x 2.0 x 0.6 = 3.6 points. Returns community, unit, member and service."""
    street = ledger.register_street("更正街道", WORKER).id
    community = ledger.register_community(street, "更正社区", WORKER).id
    unit = ledger.register_unit("更正单位", UnitKind.ORGAN, WORKER, communities=[community]).id
    member = ledger.register_member(
        MemberKind.PARTY_MEMBER, "吴更正", community, WORKER, unit_id=unit
    ).id
    ledger.report_member(member, START.date(), WORKER)
    task = ledger.publish_task(
        community, "防汛值守", "应急保障", START, START + timedelta(hours=4), 3, WORKER
    ).id
    service = ledger.claim_task(task, member, WORKER).id
    ledger.check_in(service, WORKER, at=START)
    ledger.check_out(service, WORKER, at=START + timedelta(hours=3))
    ledger.rate_service(service, Rating.FAIR, WORKER)
    return community, unit, member, service


async def test_a_fair_rating_corrected_to_excellent_with_mended_times_agrees_everywhere(
    ledger: Ledger, read_side: ReadSide, db: asyncpg.Connection
) -> None:
    community, unit, member, service = served(ledger)
    assert ledger.get_account(member).balance == Decimal("3.6")
    checked_before, _ = audit.recheck_awards(ledger)

    receipt = ledger.correct_service(
        service,
        "签退时间抄错,现场记录为 13:00;评价复核为很好",
        "社区党委书记",
        WORKER,
        rating=Rating.EXCELLENT,
        checked_out=START + timedelta(hours=4),
    )
    assert receipt.id == service
    # The award is 4.0 h x 2.0 x 1.2 = 9.6 under the version first used.
    account = ledger.get_account(member)
    assert (account.balance, account.earned_points, account.earned_hours) == (
        Decimal("9.6"),
        Decimal("9.6"),
        Decimal("4.0"),
    )
    read_side.catch_up()

    totals = await member_totals(db, member)
    assert totals is not None
    assert (totals["balance"], totals["earned_points"], totals["earned_hours"]) == (
        Decimal("9.6"),
        Decimal("9.6"),
        Decimal("4.0"),
    )
    assert (totals["services"], totals["excellent"], totals["fair"]) == (1, 1, 0)

    found = await dossier(db, member, 2026)
    assert found is not None and (found.points, found.hours) == (Decimal("9.6"), Decimal("4.0"))
    [row] = found.services
    assert (row["rating"], row["points"], row["corrections"]) == ("EXCELLENT", Decimal("9.6"), 1)
    assert row["reversed_position"] is None
    assert row["corrected_position"] == row["rated_position"] <= receipt.position
    assert row["correction_approved_by"] == "社区党委书记" and "抄错" in row["correction_reason"]
    assert row["checked_out_at"] == START + timedelta(hours=4)
    assert row["check_out_entered_by"] == "worker-7"

    [ranked] = await unit_ranking(db, "2026-05", metric="points", community_id=community)
    assert (ranked["unit_id"], ranked["points"], ranked["hours"], ranked["services"]) == (
        unit,
        Decimal("9.6"),
        Decimal("4.0"),
        1,
    )
    assert ranked["average_rating"] == 3
    [person] = await member_ranking(db, "2026-05", unit_id=unit)
    assert (person["member_id"], person["points"]) == (member, Decimal("9.6"))

    legs = await account_entries(db, member_account(member))
    assert [leg["amount"] for leg in reversed(legs)] == [
        Decimal("3.6"),
        Decimal("-3.6"),
        Decimal("9.6"),
    ]
    assert await balance_as_of(db, member_account(member), datetime.now(UTC)) == Decimal("9.6")

    checked_after, mismatches = audit.recheck_awards(ledger)
    assert checked_after - checked_before == 1  # the corrected award, recomputed
    assert [m for m in mismatches if m.service_id == service] == []

    events = [line.event.removeprefix("Service.") for line in audit.history(ledger, service)]
    assert events == [
        "Claimed",
        "CheckedIn",
        "CheckedOut",
        "Rated",
        "Reversed",
        "CheckedIn",
        "CheckedOut",
        "Rated",
    ]
    moved = [line for line in audit.history(ledger, member) if line.amount is not None]
    assert [(line.event.split(".")[-1], line.amount, line.balance) for line in moved] == [
        ("Credited", Decimal("3.6"), Decimal("3.6")),
        ("Reversed", Decimal("3.6"), Decimal("0.0")),
        ("Credited", Decimal("9.6"), Decimal("9.6")),
    ]
    # The events name the correction and its approver.
    stored = list(ledger.events.get(service))
    reversal, award = stored[-4], stored[-1]
    assert reversal.correction_id == award.correction_id is not None
    assert (reversal.approved_by, award.approved_by) == ("社区党委书记", "社区党委书记")


def test_a_correction_keeps_to_the_rules_of_times(ledger: Ledger) -> None:
    community, _, member, service = served(ledger)
    with pytest.raises(OutsideTaskWindow):
        ledger.correct_service(
            service, "补录", "书记", WORKER, checked_out=START + timedelta(hours=7)
        )
    task = ledger.publish_task(
        community,
        "夜间巡查",
        "巡逻",
        START + timedelta(hours=5),
        START + timedelta(hours=7),
        1,
        WORKER,
    ).id
    later = ledger.claim_task(task, member, WORKER).id
    ledger.check_in(later, WORKER, at=START + timedelta(hours=5))
    ledger.check_out(later, WORKER, at=START + timedelta(hours=7))
    ledger.rate_service(later, Rating.GOOD, WORKER)
    with pytest.raises(ServicesOverlap):
        ledger.correct_service(
            service, "补录", "书记", WORKER, checked_out=START + timedelta(hours=5, minutes=30)
        )
    ledger.reverse_service(service, "重复登记", "书记", WORKER)
    with pytest.raises(InvalidTransition):
        ledger.correct_service(service, "补录", "书记", WORKER, rating=Rating.GOOD)


async def test_member_data_is_corrected_by_an_event_naming_what_and_why(
    ledger: Ledger, read_side: ReadSide, db: asyncpg.Connection
) -> None:
    community, unit, member, _ = served(ledger)
    street = ledger.get_community(community).street_id
    right_unit = ledger.register_unit(
        "正确单位", UnitKind.ORGAN, WORKER, communities=[community]
    ).id
    grid = ledger.add_grid(community, "东网格", WORKER).id
    ledger.correct_member(
        member,
        "登记时姓名、单位填错",
        WORKER,
        name="吴正确",
        phone="139 0000 1234",
        grid_id=grid,
        unit_id=right_unit,
    )
    with pytest.raises(InvalidInput):
        ledger.correct_member(member, "再次更正", WORKER, name="吴正确")
    with pytest.raises(UnknownUnit):
        ledger.correct_member(member, "单位", WORKER, unit_id=street)
    read_side.catch_up()
    totals = await member_totals(db, member)
    assert totals is not None
    assert (totals["name"], totals["unit_id"], totals["grid_id"]) == ("吴正确", right_unit, grid)
    found = await dossier(db, member, 2026)
    assert found is not None and (found.name_masked, found.unit) == ("吴*确", "正确单位")
    rows = await unit_ranking(db, "2026-05", community_id=community)
    # The member now counts for the right unit; the service rated before stays where it was.
    assert {r["unit_id"]: (r["members"], r["services"]) for r in rows} == {
        unit: (0, 1),
        right_unit: (1, 0),
    }
    [corrected] = [e for e in ledger.events.get(member) if type(e).__name__ == "Corrected"]
    assert sorted(corrected.fields) == ["grid_id", "name", "phone_masked", "unit_id"]
    assert corrected.reason == "登记时姓名、单位填错" and corrected.phone_masked == "139****1234"
    assert corrected.ctx.actor_id == "worker-7"
    assert ledger.get_member(member).name == "吴正确" and unit != right_unit


def test_a_service_corrected_to_nothing_can_still_be_reversed(ledger: Ledger) -> None:
    _, _, member, service = served(ledger)
    ledger.correct_service(
        service, "实际只待了十分钟", "书记", WORKER, checked_out=START + timedelta(minutes=10)
    )
    award = ledger.get_service(service).award
    assert award is not None and award.points == 0 and award.signed_in_and_left
    assert ledger.get_account(member).balance == 0
    ledger.reverse_service(service, "重复登记", "书记", WORKER)
    assert ledger.get_account(member).earned_points == 0
