"""Where service happens and who sends people: streets, communities with grids, units."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import (
    AlreadyReported,
    InvalidText,
    NotPaired,
    TooManyItems,
    UnknownGrid,
)
from ledger.domain.limits import MAX_GRIDS, MAX_PAIRED_COMMUNITIES, ORG_NAME
from ledger.domain.text import clean_text
from ledger.domain.values import Context, UnitKind, day, stable_id


def check_name(name: object, what: str) -> str:
    """An organisation's name (street, community, grid, unit, team, branch)."""
    return clean_text(name, f"{what}名称", ORG_NAME)


class Street(LedgerAggregate):
    """街道: the parent of communities."""

    @classmethod
    def create(cls, name: str, ctx: Context, id: UUID | None = None) -> Street:
        return cls(check_name(name, "街道"), ctx=ctx, id=id)

    @event("Registered")
    def __init__(self, name: str, ctx: Context, id: UUID | None = None) -> None:
        self.name = name


class Community(LedgerAggregate):
    """社区: belongs to a street and is divided into grids (网格)."""

    @classmethod
    def create(
        cls,
        street_id: UUID,
        name: str,
        ctx: Context,
        grids: Sequence[str] = (),
        id: UUID | None = None,
    ) -> Community:
        if isinstance(grids, str):
            raise InvalidText(field="网格", reason="须为名称的列表")
        if len(grids) > MAX_GRIDS:
            raise TooManyItems(field="网格", limit=MAX_GRIDS, count=len(grids))
        community = cls(street_id, check_name(name, "社区"), ctx=ctx, id=id)
        for grid in grids:
            community.add_grid(grid, ctx)
        return community

    @event("Registered")
    def __init__(self, street_id: UUID, name: str, ctx: Context, id: UUID | None = None) -> None:
        self.street_id = street_id
        self.name = name
        self.grids: dict[UUID, str] = {}

    @staticmethod
    def grid_id(community_id: UUID, name: str) -> UUID:
        return stable_id("grid", community_id, name)

    def add_grid(self, name: str, ctx: Context) -> UUID:
        name = check_name(name, "网格")
        grid_id = self.grid_id(self.id, name)
        if grid_id not in self.grids:
            if len(self.grids) >= MAX_GRIDS:
                raise TooManyItems(field="社区的网格", limit=MAX_GRIDS, count=len(self.grids))
            self._grid_added(grid_id, name, ctx)
        return grid_id

    @event("GridAdded")
    def _grid_added(self, grid_id: UUID, name: str, ctx: Context) -> None:
        self.grids[grid_id] = name

    def check_grid(self, grid_id: UUID | None) -> None:
        if grid_id is not None and grid_id not in self.grids:
            raise UnknownGrid(id=grid_id)


class Unit(LedgerAggregate):
    """单位: a member's employer, paired with communities (对口联系社区)."""

    @classmethod
    def create(cls, name: str, kind: UnitKind, ctx: Context, id: UUID | None = None) -> Unit:
        return cls(check_name(name, "单位"), kind, ctx=ctx, id=id)

    @event("Registered")
    def __init__(self, name: str, kind: UnitKind, ctx: Context, id: UUID | None = None) -> None:
        self.name = name
        self.kind = kind
        self.paired: list[UUID] = []
        self.reports: dict[UUID, date] = {}
        self.teams: dict[UUID, str] = {}

    def pair(self, community_id: UUID, ctx: Context) -> None:
        if community_id not in self.paired:
            if len(self.paired) >= MAX_PAIRED_COMMUNITIES:
                raise TooManyItems(
                    field="单位的结对社区", limit=MAX_PAIRED_COMMUNITIES, count=len(self.paired)
                )
            self._paired(community_id, ctx)

    @event("Paired")
    def _paired(self, community_id: UUID, ctx: Context) -> None:
        self.paired.append(community_id)

    def report(self, community_id: UUID, on: date, ctx: Context) -> None:
        """双报到, unit side: the unit's Party organisation reports to a paired community."""
        on = day(on, "报到日期")
        if community_id not in self.paired:
            raise NotPaired(unit_id=self.id, community_id=community_id)
        if community_id in self.reports:
            raise AlreadyReported(on=self.reports[community_id].isoformat())
        self._reported(community_id, on, ctx)

    @event("Reported")
    def _reported(self, community_id: UUID, on: date, ctx: Context) -> None:
        self.reports[community_id] = on

    def form_team(self, community_id: UUID, name: str, ctx: Context) -> None:
        """下沉工作队: the unit's team that serves a paired community."""
        if community_id not in self.paired:
            raise NotPaired(unit_id=self.id, community_id=community_id)
        self._team_formed(community_id, check_name(name, "工作队"), ctx)

    @event("TeamFormed")
    def _team_formed(self, community_id: UUID, name: str, ctx: Context) -> None:
        self.teams[community_id] = name
