"""The SQL of the unit ranking (read model: ``projections.units``).

Units are ranked by a metric over a year, quarter or month, across all units or
among those paired with one community; the ranking, the ties and the paging are
all done in SQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import asyncpg

from ledger.domain.policy import RANKING_INDICATORS, PointsPolicy
from projections.queries.paging import page_size


class Metric(Enum):
    """What units are ranked by: an indicator the rule book can weigh, a total, or
    the weighted composite of the indicators."""

    REPORT_RATE = "report_rate"
    PARTICIPATION_RATE = "participation_rate"
    HOURS_PER_MEMBER = "hours_per_member"
    POINTS_PER_MEMBER = "points_per_member"
    HARD_SHARE = "hard_share"
    AVERAGE_RATING = "average_rating"
    FLOOR_RATE = "floor_rate"
    SERVICES = "services"
    HOURS = "hours"
    POINTS = "points"
    COMPOSITE = "composite"


METRICS = tuple(metric.value for metric in Metric)


class UnknownMetric(ValueError):
    pass


def check_period(period: str) -> str:
    """'2026' is a year, '2026-Q2' a quarter, '2026-05' a month."""
    if len(period) == 4 and period.isdigit():
        return "year"
    if len(period) == 7 and period[4:6] == "-Q" and period[6] in "1234":
        return "quarter"
    if (
        len(period) == 7
        and period[4] == "-"
        and period[5:].isdigit()
        and 1 <= int(period[5:]) <= 12
    ):
        return "month"
    raise ValueError(period)


UNIT_METRICS_SQL = """
SELECT u.unit_id, u.name, u.kind, u.members, u.reported,
       coalesce(t.served, 0) AS served,
       coalesce(t.services, 0) AS services,
       coalesce(t.hours, 0) AS hours,
       coalesce(t.points, 0) AS points,
       coalesce(t.hard_services, 0) AS hard_services,
       coalesce(u.reported::numeric / nullif(u.members, 0), 0)::numeric(12, 4) AS report_rate,
       coalesce(t.served::numeric / nullif(u.members, 0), 0)::numeric(12, 4) AS participation_rate,
       coalesce(t.hours / nullif(u.members, 0), 0)::numeric(12, 4) AS hours_per_member,
       coalesce(t.points / nullif(u.members, 0), 0)::numeric(12, 4) AS points_per_member,
       coalesce(t.hard_services::numeric / nullif(t.services, 0), 0)::numeric(12, 4) AS hard_share,
       coalesce(t.rating_total::numeric / nullif(t.services, 0), 0)::numeric(12, 4)
           AS average_rating,
       coalesce(t.at_floor::numeric / nullif(u.members, 0), 0)::numeric(12, 4) AS floor_rate
FROM ranking_units u
LEFT JOIN ranking_periods t ON t.unit_id = u.unit_id AND t.period = $1
WHERE $2::uuid IS NULL OR EXISTS (
    SELECT 1 FROM ranking_pairs p WHERE p.unit_id = u.unit_id AND p.community_id = $2)
"""


def _weight(param: int, name: str) -> str:
    """The composite's weight ``name`` in the rule book in force, read by the ranking's
    own statement (one round trip); ``$param`` is the default book's, before any."""
    return (
        f"coalesce((SELECT coalesce((weights::jsonb ->> '{name}')::numeric, 0) "
        f"FROM ranking_policy WHERE id = 1), ${param}::numeric)"
    )


_DEFAULT_WEIGHTS = PointsPolicy().ranking_weights
"""The default rule book's weights, read once: they stand in before any book is published."""


def _default_weights(names: Iterable[str]) -> list[Decimal]:
    return [_DEFAULT_WEIGHTS.get(name, Decimal(0)) for name in names]


def _ranking_sql(metric: Metric) -> str:
    maxima = ", ".join(f"max({name}) AS {name}" for name in RANKING_INDICATORS)
    maxima += ", count(*) AS units"
    composite = " + ".join(
        f"{_weight(3 + i, name)} * coalesce(m.{name} / nullif(x.{name}, 0), 0)"
        for i, name in enumerate(RANKING_INDICATORS)
    )
    return f"""
WITH m AS ({UNIT_METRICS_SQL}), x AS (
    SELECT {maxima} FROM m
), scored AS (
    SELECT m.*, ({composite})::numeric(12, 4) AS composite, x.units FROM m, x
), ranked AS (
    SELECT scored.*,
           row_number() OVER (ORDER BY {metric.value} DESC, unit_id) AS position,
           rank() OVER (ORDER BY {metric.value} DESC) AS rank
    FROM scored
)
SELECT * FROM ranked
WHERE position > ${3 + len(RANKING_INDICATORS)} AND EXISTS (SELECT 1 FROM m WHERE services > 0)
ORDER BY position LIMIT ${4 + len(RANKING_INDICATORS)}
"""


RANKING_SQL = {metric: _ranking_sql(metric) for metric in Metric}

ALL_UNITS = UUID(int=0)
"""The scope of a kept ranking of every unit (one of a community's is its id)."""
STANDING_COLUMNS = (
    ("unit_id", "uuid"),
    ("name", "text"),
    ("kind", "text"),
    ("members", "integer"),
    ("reported", "integer"),
    ("served", "integer"),
    ("services", "integer"),
    ("hours", "numeric"),
    ("points", "numeric"),
    ("hard_services", "integer"),
    *((name, "numeric") for name in RANKING_INDICATORS),
    ("composite", "numeric"),
    ("units", "bigint"),
    ("position", "bigint"),
    ("rank", "bigint"),
)
"""A row of the composite ranking as its statement gives it, and as it is kept."""
_STANDING_NAMES = ", ".join(name for name, _ in STANDING_COLUMNS)
KEPT_RANKING_SQL = f"""
SELECT {_STANDING_NAMES} FROM ranking_standings
WHERE period = $1 AND scope = $2 AND position > $3 ORDER BY position LIMIT $4
"""
KEPT_SQL = "SELECT EXISTS (SELECT 1 FROM ranking_standing_sets WHERE period = $1 AND scope = $2)"
_RANKING_TABLES = re.compile(r"\b(ranking_units|ranking_periods|ranking_pairs|ranking_policy)\b")


def keep_ranking_sql(physical: Callable[[str], str]) -> str:
    """The statement that keeps one scope's composite ranking of one period, whole:
    the ranking's own statement, over the tables ``physical`` names, in the runner's
    parameters (psycopg's, by name: ``period``, ``scope``, ``community_id``)."""
    ranking = _RANKING_TABLES.sub(lambda m: physical(m.group(1)), RANKING_SQL[Metric.COMPOSITE])
    names = ["period", "community_id", *(f"w{i}" for i in range(len(RANKING_INDICATORS)))]
    names += ["after", "all"]
    ranking = re.sub(r"\$(\d+)", lambda m: f"%({names[int(m.group(1)) - 1]})s", ranking)
    return f"""
INSERT INTO {physical("ranking_standings")} (period, scope, {_STANDING_NAMES})
SELECT %(period)s, %(scope)s, {_STANDING_NAMES} FROM ({ranking}) ranked
"""


def keep_ranking_parameters(period: str, scope: UUID) -> dict[str, Any]:
    weights = _default_weights(RANKING_INDICATORS)
    return {
        "period": period,
        "scope": scope,
        "community_id": None if scope == ALL_UNITS else scope,
        **{f"w{i}": weight for i, weight in enumerate(weights)},
        "after": 0,
        "all": None,  # LIMIT NULL: every row
    }


async def unit_ranking(
    conn: asyncpg.Connection | asyncpg.Pool,
    period: str,
    *,
    metric: Metric | str = Metric.COMPOSITE,
    community_id: UUID | None = None,
    first: int = 50,
    after: int = 0,
) -> list[asyncpg.Record]:
    """Units ranked by ``metric`` over ``period``, across all units or among those
    paired with ``community_id``. Equal values share a rank; ``position`` breaks
    ties by unit id, and pages go on ``after`` a position. A period in which none of
    them served (a service that earned hours) ranks nobody.

    The composite ranking of the current year, quarter and month is kept by the read
    model as it changes (``projections.units``): a page of it is read by position.
    Any other is worked out by its statement (one connection, taken once)."""
    try:
        metric = Metric(metric)
    except ValueError:
        raise UnknownMetric(metric) from None
    check_period(period)
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as one:
            return await unit_ranking(
                one, period, metric=metric, community_id=community_id, first=first, after=after
            )
    after, first = max(after, 0), page_size(first)
    if metric is Metric.COMPOSITE:
        scope = ALL_UNITS if community_id is None else community_id
        page = list(await conn.fetch(KEPT_RANKING_SQL, period, scope, after, first))
        if page or await conn.fetchval(KEPT_SQL, period, scope):
            return page
    params: list[Any] = [period, community_id, *_default_weights(RANKING_INDICATORS)]
    return list(await conn.fetch(RANKING_SQL[metric], *params, after, first))


class MemberMetric(Enum):
    """What members are ranked by: points, hours, or the weighted composite."""

    POINTS = "points"
    HOURS = "hours"
    COMPOSITE = "composite"


MEMBER_INDICATORS = {
    "hours": "hours_per_member",
    "points": "points_per_member",
    "hard_share": "hard_share",
    "average_rating": "average_rating",
}
"""A member's own indicators, weighed by the rule book's weight of the unit indicator
that averages them (hours per member weighs a member's hours): member composites and
unit composites use one set of weights, and each indicator is scaled by the best
value among the members ranked, as units are among units."""


def _member_ranking_sql(metric: MemberMetric) -> str:
    maxima = ", ".join(f"max({name}) AS {name}" for name in MEMBER_INDICATORS)
    composite = " + ".join(
        f"{_weight(5 + i, weight)} * coalesce(m.{name} / nullif(x.{name}, 0), 0)"
        for i, (name, weight) in enumerate(MEMBER_INDICATORS.items())
    )
    after = 5 + len(MEMBER_INDICATORS)
    return f"""
WITH m AS (
    SELECT p.member_id, r.unit_id, r.community_id, p.services, p.hours, p.points,
           p.hard_services,
           (p.hard_services::numeric / p.services)::numeric(12, 4) AS hard_share,
           (p.rating_total::numeric / p.services)::numeric(12, 4) AS average_rating
    FROM ranking_people_periods p
    JOIN ranking_members r ON r.member_id = p.member_id
    LEFT JOIN ranking_communities c ON c.community_id = r.community_id
    WHERE p.period = $1 AND p.services > 0
      AND ($2::uuid IS NULL OR c.street_id = $2)
      AND ($3::uuid IS NULL OR r.community_id = $3)
      AND ($4::uuid IS NULL OR r.unit_id = $4)
), x AS (
    SELECT {maxima} FROM m
), scored AS (
    SELECT m.*, ({composite})::numeric(12, 4) AS composite FROM m, x
), ranked AS (
    SELECT scored.*,
           row_number() OVER (ORDER BY {metric.value} DESC, member_id) AS position,
           rank() OVER (ORDER BY {metric.value} DESC) AS rank
    FROM scored
)
SELECT * FROM ranked WHERE position > ${after} ORDER BY position LIMIT ${after + 1}
"""


MEMBER_RANKING_SQL = {metric: _member_ranking_sql(metric) for metric in MemberMetric}


async def member_ranking(
    conn: asyncpg.Connection,
    period: str,
    *,
    metric: MemberMetric | str = MemberMetric.COMPOSITE,
    street_id: UUID | None = None,
    community_id: UUID | None = None,
    unit_id: UUID | None = None,
    first: int = 50,
    after: int = 0,
) -> list[asyncpg.Record]:
    """Members ranked by ``metric`` over ``period``: of a street, of a community (where
    they live) or of a unit (where they work), as they are now. Only members who
    served in the period (a service that earned hours) are ranked; ties as units'."""
    try:
        metric = MemberMetric(metric)
    except ValueError:
        raise UnknownMetric(metric) from None
    check_period(period)
    params: list[Any] = [period, street_id, community_id, unit_id]
    params += _default_weights(MEMBER_INDICATORS.values())
    params += [max(after, 0), page_size(first)]
    return list(await conn.fetch(MEMBER_RANKING_SQL[metric], *params))
