"""What the read models say about small, hand-made histories."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import asyncpg

from ledger.application import Ledger
from ledger.domain.policy import RANKING_INDICATORS
from ledger.domain.values import CST, Context, Grade, MemberKind, Rating, Role, UnitKind
from projections.queries import community_board, dossier, member_summary, unit_ranking
from projections.runner import ReadSide

ADMIN = Context("admin", Role.ADMIN)


class Street:
    """A street made for one test: communities, units, members and their services."""

    def __init__(self, ledger: Ledger, communities: int = 2) -> None:
        self.ledger = ledger
        street = ledger.register_street("测试街道", ADMIN).id
        self.communities = [
            ledger.register_community(street, f"社区{n}", ADMIN).id for n in range(communities)
        ]

    def unit(self, name: str, *paired: UUID) -> UUID:
        return self.ledger.register_unit(name, UnitKind.ORGAN, ADMIN, communities=paired).id

    def member(self, unit: UUID | None, home: UUID, *, reported: bool = True) -> UUID:
        kind = MemberKind.PARTY_MEMBER if unit else MemberKind.RESIDENT
        member = self.ledger.register_member(kind, "张三丰", home, ADMIN, unit_id=unit).id
        if reported:
            self.ledger.report_member(member, date(2026, 1, 5), ADMIN)
        return member

    def serve(
        self,
        member: UUID,
        where: UUID,
        start: datetime,
        minutes: int,
        category: str = "应急保障",
        rating: Rating = Rating.GOOD,
    ) -> UUID:
        task = self.ledger.publish_task(
            where, "任务", category, start, start + timedelta(minutes=minutes), 5, ADMIN
        ).id
        service = self.ledger.claim_task(task, member, ADMIN).id
        self.ledger.check_in(service, ADMIN, at=start)
        self.ledger.check_out(service, ADMIN, at=start + timedelta(minutes=minutes))
        self.ledger.rate_service(service, rating, ADMIN)
        return service


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CST)


async def test_a_service_counts_for_the_members_unit_wherever_it_happened(
    ledger: Ledger, read_side: ReadSide, db: asyncpg.Connection
) -> None:
    street = Street(ledger)
    home, away = street.communities
    finance = street.unit("财政局", home, away)
    health = street.unit("卫健委", home)
    lives_home, lives_away, other = (
        street.member(finance, home),
        street.member(finance, away),
        street.member(health, home),
    )
    street.serve(lives_home, away, at(date(2026, 3, 2)), 120)  # serves outside home
    street.serve(lives_away, home, at(date(2026, 3, 3)), 60)
    street.serve(other, home, at(date(2026, 3, 4)), 180)
    read_side.catch_up()

    ranked = {r["unit_id"]: r for r in await unit_ranking(db, "2026", metric="hours", first=200)}
    assert ranked[finance]["hours"] == Decimal("3.0") and ranked[finance]["services"] == 2
    assert ranked[health]["hours"] == Decimal("3.0")
    board = await community_board(db, home, at(date(2026, 3, 1)))
    by_unit = {r["unit_id"]: r["hours"] for r in board.by_unit}
    assert by_unit == {finance: Decimal("1.0"), health: Decimal("3.0")}
    away_board = await community_board(db, away, at(date(2026, 3, 1)))
    assert {r["unit_id"]: r["hours"] for r in away_board.by_unit} == {finance: Decimal("2.0")}
    paired_with_away = await unit_ranking(db, "2026", community_id=away, first=200)
    assert [r["unit_id"] for r in paired_with_away] == [finance]


async def test_equal_units_are_ordered_by_id_and_share_a_rank(
    ledger: Ledger, read_side: ReadSide, db: asyncpg.Connection
) -> None:
    street = Street(ledger, communities=1)
    (home,) = street.communities
    twins = [street.unit(f"孪生单位{n}", home) for n in range(3)]
    for unit in twins:
        street.serve(street.member(unit, home), home, at(date(2026, 4, 1)), 90)
    read_side.catch_up()
    ranked = list(await unit_ranking(db, "2026-04", metric="hours", community_id=home, first=200))
    assert [r["unit_id"] for r in ranked] == sorted(twins)
    assert [r["position"] for r in ranked] == [1, 2, 3]
    assert {r["rank"] for r in ranked} == {1}
    page = await unit_ranking(db, "2026-04", metric="hours", community_id=home, first=1, after=1)
    assert [r["unit_id"] for r in page] == [sorted(twins)[1]]


async def test_a_service_late_on_new_years_eve_counts_in_the_old_year(
    ledger: Ledger, read_side: ReadSide, db: asyncpg.Connection
) -> None:
    street = Street(ledger, communities=1)
    (home,) = street.communities
    unit = street.unit("跨年单位", home)
    member = street.member(unit, home)
    street.serve(member, home, at(date(2025, 12, 31), 23, 59), 60)  # ends 00:59 on 1 January
    street.serve(member, home, at(date(2026, 1, 1), 1, 0), 30)  # after the first ends
    read_side.catch_up()
    for period, hours in (
        ("2025", "1.0"),
        ("2025-Q4", "1.0"),
        ("2025-12", "1.0"),
        ("2026", "0.5"),
        ("2026-Q1", "0.5"),
        ("2026-01", "0.5"),
    ):
        (row,) = list(await unit_ranking(db, period, metric="hours", community_id=home))
        assert row["hours"] == Decimal(hours), period
    assert (await member_summary(db, member, 2025))["year_hours"] == Decimal("1.0")


async def test_the_annual_floor_flag_turns_at_twenty_hours(
    ledger: Ledger, read_side: ReadSide, db: asyncpg.Connection
) -> None:
    street = Street(ledger, communities=1)
    (home,) = street.communities
    unit = street.unit("下限单位", home)
    short, enough = street.member(unit, home), street.member(unit, home)
    for day in range(1, 6):  # 5 x 4 h of hard work = 20 h
        street.serve(enough, home, at(date(2026, 5, day)), 240)
        street.serve(short, home, at(date(2026, 5, day)), 240 if day < 5 else 234)  # 19.9 h
    read_side.catch_up()
    assert (await member_summary(db, enough, 2026))["meets_floor"] is True
    low = await member_summary(db, short, 2026)
    assert low["year_hours"] == Decimal("19.9") and low["meets_floor"] is False
    (row,) = await unit_ranking(db, "2026", metric="floor_rate", community_id=home)
    assert row["floor_rate"] == Decimal("0.5")


async def test_a_dossier_ranks_the_member_in_unit_and_community_and_cites_events(
    ledger: Ledger, read_side: ReadSide, db: asyncpg.Connection
) -> None:
    street = Street(ledger, communities=1)
    (home,) = street.communities
    unit = street.unit("评优单位", home)
    best, middle, idle = (street.member(unit, home) for _ in range(3))
    street.serve(best, home, at(date(2026, 6, 1)), 300, rating=Rating.EXCELLENT)  # 12.0
    kept = street.serve(middle, home, at(date(2026, 6, 2)), 120)  # 4.0
    wrong = street.serve(middle, home, at(date(2026, 6, 3)), 240)  # 8.0, reversed below
    ledger.reverse_service(wrong, "重复登记", "街道党工委", ADMIN)
    ledger.review_member(home, middle, 2026, Grade.COMPETENT, "按要求参加服务", ADMIN)
    read_side.catch_up()

    file = await dossier(db, middle, 2026)
    assert file is not None
    assert file.name_masked == "张*丰" and file.unit == "评优单位"
    assert [s["service_id"] for s in file.services] == [kept, wrong]
    assert file.services[1]["reversal_reason"] == "重复登记"
    assert (file.points, file.hours) == (Decimal("4.0"), Decimal("2.0"))
    assert file.review is not None and file.review["grade"] == "COMPETENT"
    assert file.in_unit is not None and (file.in_unit.rank, file.in_unit.size) == (2, 3)
    assert file.in_unit.percentile == Decimal("66.7")
    top = await dossier(db, best, 2026)
    assert top is not None and top.in_unit is not None and top.in_unit.percentile == 100
    assert (await dossier(db, idle, 2026)).in_unit.rank == 3  # type: ignore[union-attr]

    # every line cites the event it came from
    for line in file.services:
        (notification,) = ledger.recorder.select_notifications(line["rated_position"], 1)
        assert notification.originator_id == line["service_id"]
        assert notification.topic.endswith("Service.Rated")


async def test_a_member_who_changes_unit_or_home_takes_the_years_work_along(
    ledger: Ledger, read_side: ReadSide, db: asyncpg.Connection
) -> None:
    """A standing counts the people of the member's present unit and community, each
    with all their service of the year, wherever and whenever it was done."""
    street = Street(ledger, communities=2)
    first_home, second_home = street.communities
    before, after = street.unit("原单位", first_home), street.unit("新单位", first_home)
    mover, stayer = street.member(before, first_home), street.member(after, first_home)
    street.serve(mover, first_home, at(date(2026, 7, 1)), 240)  # 8.0
    street.serve(stayer, first_home, at(date(2026, 7, 2)), 120)  # 4.0
    ledger.move_member(mover, ADMIN, unit_id=after, community_id=second_home)
    newcomer = street.member(after, second_home)
    street.serve(newcomer, second_home, at(date(2026, 7, 3)), 180)  # 6.0
    read_side.catch_up()

    moved = await dossier(db, mover, 2026)
    assert moved is not None and moved.in_unit is not None and moved.in_community is not None
    assert (moved.in_unit.rank, moved.in_unit.size) == (1, 3)  # ahead of 6.0 and 4.0
    assert (moved.in_community.rank, moved.in_community.size) == (1, 2)
    stayed = await dossier(db, stayer, 2026)
    assert stayed is not None and stayed.in_unit is not None and stayed.in_community is not None
    assert (stayed.in_unit.rank, stayed.in_community.rank) == (3, 1)
    assert stayed.in_community.size == 1  # the mover no longer lives there

    ledger.correct_member(stayer, "单位登记有误", ADMIN, unit_id=before)
    read_side.catch_up()
    corrected = await dossier(db, stayer, 2026)
    assert corrected is not None and corrected.in_unit is not None
    assert (corrected.in_unit.rank, corrected.in_unit.size) == (1, 1)
    assert (await dossier(db, newcomer, 2026)).in_unit.size == 2  # type: ignore[union-attr]


async def test_a_board_lists_what_needs_doing(
    ledger: Ledger, read_side: ReadSide, db: asyncpg.Connection
) -> None:
    street = Street(ledger, communities=1)
    (home,) = street.communities
    start = datetime(2026, 7, 1, 1, 0, tzinfo=UTC)
    hard = ledger.publish_task(
        home, "调解", "矛盾调解", start, start + timedelta(hours=3), 2, ADMIN
    ).id
    easy = ledger.publish_task(home, "巡逻", "巡逻", start, start + timedelta(hours=3), 2, ADMIN).id
    member = street.member(None, home, reported=False)
    service = ledger.claim_task(easy, member, ADMIN).id
    ledger.check_in(service, ADMIN, at=start)
    ledger.check_out(service, ADMIN, at=start + timedelta(hours=3))
    item = ledger.list_item(home, "毛巾", "2", ADMIN).id
    ledger.restock_item(item, 5, "评优单位", ADMIN)
    read_side.catch_up()

    board = await community_board(db, home, start + timedelta(hours=1))
    assert {t["task_id"] for t in board.open_tasks} == {hard, easy}
    assert {t["task_id"] for t in board.understaffed} == {hard, easy}
    assert [t["task_id"] for t in board.hard_untaken] == [hard]
    assert [s["service_id"] for s in board.awaiting_rating] == [service]
    assert [(i["name"], i["stock"]) for i in board.items] == [("毛巾", 5)]


async def test_the_composite_weighs_the_published_rule_books_weights(
    ledger: Ledger, read_side: ReadSide, db: asyncpg.Connection
) -> None:
    """Run last in this module: it publishes new versions of the rule book."""
    street = Street(ledger, communities=1)
    (home,) = street.communities
    many, few = street.unit("人人参与单位", home), street.unit("一人多干单位", home)
    for _ in range(2):
        street.serve(street.member(many, home), home, at(date(2026, 8, 3)), 60)
    street.serve(street.member(few, home), home, at(date(2026, 8, 4)), 240)
    street.member(few, home)  # serves nothing

    async def first_by_composite(**weights: str) -> UUID:
        current = ledger.current_policy()
        every = dict.fromkeys(RANKING_INDICATORS, Decimal(0))
        every |= {k: Decimal(v) for k, v in weights.items()}
        book = dataclasses.replace(current, version=current.version + 1, ranking_weights=every)
        ledger.publish_policy(book, "考核权重调整", ADMIN)
        read_side.catch_up()
        ranked = await unit_ranking(db, "2026-08", metric="composite", community_id=home)
        return UUID(str(ranked[0]["unit_id"]))

    assert await first_by_composite(hours_per_member="1") == few  # 2 h a member against 1 h
    assert await first_by_composite(participation_rate="1") == many  # all served against half
