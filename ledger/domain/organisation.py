"""Where service happens and who sends people: streets, communities with grids, units."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.errors import AlreadyReported, InvalidInput, NotPaired, UnknownGrid
from ledger.domain.values import Context, UnitKind, stable_id


def check_name(name: str, what: str) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput(reason=f"{what}名称须为 1 到 100 个字符")
    return name


class Street(LedgerAggregate):
    """街道: the parent of communities."""

    @event("Registered")
    def __init__(self, name: str, ctx: Context, id: UUID | None = None) -> None:
        self.name = name


class Community(LedgerAggregate):
    """社区: belongs to a street and is divided into grids (网格)."""

    @event("Registered")
    def __init__(self, street_id: UUID, name: str, ctx: Context, id: UUID | None = None) -> None:
        self.street_id = street_id
        self.name = name
        self.grids: dict[UUID, str] = {}

    @staticmethod
    def grid_id(community_id: UUID, name: str) -> UUID:
        return stable_id("grid", community_id, name)

    def add_grid(self, name: str, ctx: Context) -> UUID:
        grid_id = self.grid_id(self.id, check_name(name, "网格"))
        if grid_id not in self.grids:
            self._grid_added(grid_id, name.strip(), ctx)
        return grid_id

    @event("GridAdded")
    def _grid_added(self, grid_id: UUID, name: str, ctx: Context) -> None:
        self.grids[grid_id] = name

    def check_grid(self, grid_id: UUID | None) -> None:
        if grid_id is not None and grid_id not in self.grids:
            raise UnknownGrid(id=grid_id)


class Unit(LedgerAggregate):
    """单位: a member's employer, paired with communities (对口联系社区)."""

    @event("Registered")
    def __init__(self, name: str, kind: UnitKind, ctx: Context, id: UUID | None = None) -> None:
        self.name = name
        self.kind = kind
        self.paired: list[UUID] = []
        self.reports: dict[UUID, date] = {}
        self.teams: dict[UUID, str] = {}

    def pair(self, community_id: UUID, ctx: Context) -> None:
        if community_id not in self.paired:
            self._paired(community_id, ctx)

    @event("Paired")
    def _paired(self, community_id: UUID, ctx: Context) -> None:
        self.paired.append(community_id)

    def report(self, community_id: UUID, on: date, ctx: Context) -> None:
        """双报到, unit side: the unit's Party organisation reports to a paired community."""
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
