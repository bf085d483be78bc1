"""A generated year of a street, recorded through the ledger's own commands.

It follows the patterns the source documents complain about: easy tasks are
taken at once while hard ones find few takers, some members sign in and
leave, some stay below the annual floor. The same seed gives the same
history. Used by the tests, the benchmarks and the demo.

About 310 lines: one generator, whose steps share one random stream (the same seed,
the same street).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from uuid import UUID

from ledger.application import Ledger
from ledger.domain.errors import LedgerError
from ledger.domain.policy import HARD_CATEGORIES, ROUTINE_CATEGORIES, SKILLED_CATEGORIES
from ledger.domain.values import (
    CST,
    Context,
    Grade,
    MemberKind,
    Rating,
    Role,
    Satisfaction,
    UnitKind,
    stable_id,
)

ADMIN = Context("generator", Role.ADMIN)
GOODS = (("食用油", "8"), ("大米", "10"), ("洗衣液", "6"), ("毛巾", "3"), ("肥皂", "2"))
UNIT_KINDS = (
    UnitKind.ORGAN,
    UnitKind.INSTITUTION,
    UnitKind.STATE_ENTERPRISE,
    UnitKind.NEW_ORGANISATION,
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


@dataclass(frozen=True)
class Scale:
    communities: int = 12
    grids: int = 4
    units: int = 40
    party_members: int = 1268
    branches: int = 38
    volunteer_teams: int = 67
    residents: int = 400
    days: int = 365
    tasks_per_community_day: float = 1.0
    start: date = date(2025, 1, 1)
    """A year already past: the ledger refuses service times in the future."""

    @property
    def last_day(self) -> date:
        return self.start + timedelta(days=self.days - 1)

    def ending_before(self, today: date) -> Scale:
        """The same street, its days ending the day before ``today`` (the demo's: the
        twelve months up to today)."""
        return replace(self, start=today - timedelta(days=self.days))


@dataclass
class History:
    """What was generated, for whoever needs to look things up afterwards."""

    street: UUID
    communities: list[UUID] = field(default_factory=list)
    units: list[UUID] = field(default_factory=list)
    members: list[UUID] = field(default_factory=list)
    party_members: list[UUID] = field(default_factory=list)
    items: dict[UUID, list[UUID]] = field(default_factory=dict)
    services: list[UUID] = field(default_factory=list)
    served: dict[UUID, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    """Each member's times, so that nobody is generated in two places at once."""
    paired: dict[UUID, list[UUID]] = field(default_factory=dict)
    """Each unit's paired communities."""
    residents: dict[UUID, list[UUID]] = field(default_factory=dict)
    serving: dict[UUID, list[UUID]] = field(default_factory=dict)
    """Who may take a community's tasks: its residents and its paired units' members."""


def _at(day: date, hour: float) -> datetime:
    return datetime.combine(day, time(0), CST) + timedelta(hours=hour)


class Generator:
    """Records a street's history in batches of about ``batch_size`` commands."""

    def __init__(
        self,
        ledger: Ledger,
        scale: Scale,
        seed: int = 1,
        batch_size: int = 400,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.ledger = ledger
        self.scale = scale
        self.seed = seed
        self.rng = random.Random(seed)
        self.batch_size = batch_size
        self.progress = progress

    def id_of(self, *key: object) -> UUID:
        """Ids from the seed and a natural key: the same seed, the same ids."""
        return stable_id("generated", self.seed, *key)

    def _name(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(
            self.rng.choices(GIVEN, k=self.rng.randint(1, 2))
        )

    def run(self) -> History:
        history = self.setup()
        self.days(history, 0, self.scale.days)
        self.close_year(history)
        return history

    def setup(self) -> History:
        """The street, its communities, units, members and stores."""
        ledger, rng, scale = self.ledger, self.rng, self.scale
        with ledger.batch():
            history = History(
                ledger.register_street("果园新村街道", ADMIN, id=self.id_of("street")).id
            )
            for c in range(scale.communities):
                grids = [f"{g + 1}网格" for g in range(scale.grids)]
                community = ledger.register_community(
                    history.street,
                    f"第{c + 1}社区",
                    ADMIN,
                    grids=grids,
                    id=self.id_of("community", c),
                ).id
                history.communities.append(community)
            for u in range(scale.units):
                k = min(len(history.communities), rng.randint(1, 3))
                paired = rng.sample(history.communities, k=k)
                unit = ledger.register_unit(
                    f"单位{u + 1}",
                    UNIT_KINDS[u % len(UNIT_KINDS)],
                    ADMIN,
                    communities=paired,
                    id=self.id_of("unit", u),
                ).id
                ledger.report_unit(unit, paired[0], scale.start, ADMIN)
                for community in paired:
                    ledger.form_team(unit, community, f"单位{u + 1}下沉工作队", ADMIN)
                history.units.append(unit)
                history.paired[unit] = paired
        self._register_members(history)
        self._stock_stores(history)
        return history

    def days(self, history: History, first: int, count: int) -> None:
        """Record ``count`` days of service, from day ``first`` of the year."""
        for offset in range(first, first + count):
            with self.ledger.batch():
                self._day(history, self.scale.start + timedelta(days=offset))
            if self.progress:
                self.progress(offset + 1, self.scale.days)

    def close_year(self, history: History) -> None:
        with self.ledger.batch():
            self._annual_reviews(history)

    def _register_members(self, history: History) -> None:
        ledger, rng, scale = self.ledger, self.rng, self.scale
        people = [MemberKind.PARTY_MEMBER] * scale.party_members + [
            rng.choice((MemberKind.RESIDENT, MemberKind.VOLUNTEER)) for _ in range(scale.residents)
        ]
        for start in range(0, len(people), self.batch_size):
            with ledger.batch():
                for kind in people[start : start + self.batch_size]:
                    community = rng.choice(history.communities)
                    grid = rng.choice(list(ledger.get_community(community).grids))
                    party = kind is MemberKind.PARTY_MEMBER
                    unit = rng.choice(history.units) if party else None
                    number = len(history.members)
                    member = ledger.register_member(
                        kind,
                        self._name(),
                        community,
                        ADMIN,
                        grid_id=grid,
                        unit_id=unit,
                        phone=f"13{rng.randint(0, 999_999_999):09d}",
                        member_id=self.id_of("member", number),
                        branch=f"第{number % scale.branches + 1}党支部" if party else None,
                        team=f"志愿服务队{number % scale.volunteer_teams + 1}"
                        if kind is MemberKind.VOLUNTEER
                        else None,
                    ).id
                    history.members.append(member)
                    history.residents.setdefault(community, []).append(member)
                    elsewhere = history.paired.get(unit, []) if unit is not None else []
                    for place in dict.fromkeys([community, *elsewhere]):
                        history.serving.setdefault(place, []).append(member)
                    if kind is MemberKind.PARTY_MEMBER:
                        history.party_members.append(member)
                        if rng.random() < 0.95:
                            on = scale.start + timedelta(days=rng.randint(0, 60))
                            ledger.report_member(member, on, ADMIN)

    def _stock_stores(self, history: History) -> None:
        with self.ledger.batch():
            for community in history.communities:
                items = []
                for name, price in GOODS:
                    item = self.ledger.list_item(
                        community, name, price, ADMIN, item_id=self.id_of("item", community, name)
                    ).id
                    donor = f"单位{self.rng.randint(1, self.scale.units)}"
                    self.ledger.restock_item(item, 10_000, donor, ADMIN)
                    items.append(item)
                history.items[community] = items

    def _day(self, history: History, day: date) -> None:
        ledger, rng, scale = self.ledger, self.rng, self.scale
        for community in history.communities:
            count = int(scale.tasks_per_community_day) + (
                rng.random() < scale.tasks_per_community_day % 1
            )
            for _ in range(count):
                self._task(history, community, day)
        for _ in range(max(1, len(history.communities) // 2)):
            community = rng.choice(history.communities)
            if community not in history.residents:
                continue
            member = rng.choice(history.residents[community])  # a store serves its residents
            item = rng.choice(history.items[community])
            # Members short of points or goods out of stock are refused, as at a real kiosk.
            with contextlib.suppress(LedgerError):
                ledger.redeem(
                    f"kiosk-{community.hex[:6]}",
                    f"{day}-{rng.getrandbits(64):x}",
                    member,
                    community,
                    [(item, 1)],
                    Context("kiosk", Role.KIOSK, device="kiosk"),
                )

    def _task(self, history: History, community: UUID, day: date) -> None:
        ledger, rng = self.ledger, self.rng
        roll = rng.random()
        if roll < 0.55:
            category, takers = rng.choice(ROUTINE_CATEGORIES), (2, 6)
        elif roll < 0.85:
            category, takers = rng.choice(SKILLED_CATEGORIES), (1, 3)
        else:
            category, takers = rng.choice(HARD_CATEGORIES), (0, 2)  # 麻烦事应者寥寥
        start = _at(day, rng.choice((8.5, 9, 14, 15, 19)))
        hours = rng.choice((1, 2, 2, 3, 4))
        capacity = rng.randint(2, 5)
        need = None
        if rng.random() < 0.3:  # 群众点单: a resident's need, dispatched as the task
            need = ledger.raise_need(
                community,
                f"居民{rng.randrange(10_000):04d}",
                f"需要{category}",
                ADMIN,
                category=category,
                need_id=self.id_of("need", community, start, rng.random()),
            ).id
            ledger.accept_need(need, ADMIN)
        task = ledger.publish_task(
            community,
            f"{category}服务",
            category,
            start,
            start + timedelta(hours=hours),
            capacity,
            ADMIN,
            need_id=need,
            task_id=self.id_of("task", community, start, self.rng.random()),
        ).id
        if rng.random() < 0.02:
            ledger.cancel_task(task, "天气原因取消", ADMIN)
            return
        serving = history.serving.get(community, [])
        wanted = min(capacity, rng.randint(*takers), len(serving))
        for member in rng.sample(serving, k=wanted):
            self._serve(history, task, member, start, hours)
        if need is not None:
            self._follow_up(need, category)

    def _follow_up(self, need: UUID, category: str) -> None:
        """办结 and, for most, 回访: the verdict is drawn from the need's id, not from
        the street's random stream, so the rest of the street is as it always was."""
        self.ledger.close_need(need, f"{category}服务已完成", ADMIN)
        draw = need.int % 20
        if draw < 4:
            return  # not yet revisited
        verdict = (
            Satisfaction.DISSATISFIED
            if draw == 4
            else Satisfaction.BASICALLY_SATISFIED
            if draw < 8
            else Satisfaction.SATISFIED
        )
        self.ledger.rate_need(need, verdict, None, ADMIN)

    def _serve(
        self, history: History, task: UUID, member: UUID, start: datetime, hours: int
    ) -> None:
        ledger, rng = self.ledger, self.rng
        service = ledger.claim_task(task, member, ADMIN).id
        if rng.random() < 0.03:
            return  # claimed and never came
        arrived = start + timedelta(minutes=rng.randint(-10, 15))
        evidence = [f"photo:{rng.getrandbits(64):016x}"]
        if rng.random() < 0.06:
            left = arrived + timedelta(minutes=rng.randint(5, 30))  # 签到即走
        else:
            left = start + timedelta(hours=hours, minutes=rng.randint(-20, 30))
        left = max(left, arrived + timedelta(minutes=1))
        served = history.served.setdefault(member, [])
        if any(arrived < end and begun < left for begun, end in served):
            return  # busy elsewhere: claimed and never came
        served.append((arrived, left))
        ledger.check_in(service, ADMIN, at=arrived, evidence=evidence)
        ledger.check_out(service, ADMIN, at=left)
        if rng.random() < 0.05:
            return  # awaiting rating
        if rng.random() < 0.5:
            ledger.confirm_service(service, ADMIN)
        rating = rng.choices(list(Rating), weights=(30, 55, 15))[0]
        ledger.rate_service(service, rating, ADMIN)
        history.services.append(service)
        if rng.random() < 0.003:
            ledger.reverse_service(service, "核查发现重复登记", "街道党工委", ADMIN)

    def _annual_reviews(self, history: History) -> None:
        year = self.scale.last_day.year  # the year the street's days end in
        for member in history.party_members:
            person = self.ledger.get_member(member)
            if not person.reported or self.rng.random() < 0.5:
                continue
            grade = self.rng.choices(list(Grade), weights=(20, 70, 8, 2))[0]
            self.ledger.review_member(
                person.community_id,
                member,
                year,
                grade,
                "服务积极" if grade is Grade.OUTSTANDING else "按要求参加服务",
                ADMIN,
            )


def generate(ledger: Ledger, scale: Scale | None = None, seed: int = 1) -> History:
    return Generator(ledger, scale or Scale(), seed).run()


__all__ = ["Generator", "History", "Scale", "generate"]
