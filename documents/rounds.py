"""The lists of a 评先评优 round, read from the read models: units ranked over a period
(the top N with their indicators), the community's 十佳实事项目, and the members below the
annual floor (for 约谈提醒)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import asyncpg

from documents.labels import kind
from documents.lists import Listing
from ledger.domain import values
from ledger.domain.values import MemberKind, UnitKind
from projections.queries import MemberMetric, Metric, member_ranking, unit_ranking
from projections.queries.documents import ProjectMeasure, best_projects
from projections.queries.members import every_member, member_years
from projections.queries.names import Wanted, names

PERCENT = Decimal("0.1")
MAX_LIST = 100
"""The most rows a ranking or a project list takes (its ``first``)."""
METRIC_NAMES = {
    Metric.REPORT_RATE: "报到率",
    Metric.PARTICIPATION_RATE: "参与率",
    Metric.HOURS_PER_MEMBER: "人均服务时长",
    Metric.POINTS_PER_MEMBER: "人均积分",
    Metric.HARD_SHARE: "急难险重占比",
    Metric.AVERAGE_RATING: "平均评价",
    Metric.FLOOR_RATE: "达到年度下限的比例",
    Metric.SERVICES: "服务次数",
    Metric.HOURS: "服务时长",
    Metric.POINTS: "积分",
    Metric.COMPOSITE: "综合得分(按规则书权重)",
}
MEASURE_NAMES = {
    ProjectMeasure.POINTS: "积分合计",
    ProjectMeasure.HOURS: "服务时长合计",
    ProjectMeasure.PARTICIPANTS: "参与人数",
    ProjectMeasure.AVERAGE_RATING: "平均评价",
}


def percent(rate: Decimal) -> Decimal:
    return (rate * 100).quantize(PERCENT)


async def unit_ranking_listing(
    conn: asyncpg.Connection,
    period: str,
    *,
    metric: Metric = Metric.COMPOSITE,
    community_id: UUID | None = None,
    first: int = 10,
) -> Listing:
    """The top ``first`` units of ``period`` by ``metric`` (among those paired with
    ``community_id``, if given)."""
    first = min(max(first, 1), MAX_LIST)
    rows = await unit_ranking(conn, period, metric=metric, community_id=community_id, first=first)
    scope = "全部单位"
    if community_id is not None:
        named = await names(conn, Wanted().place(community_id), full=False)
        scope = f"与{named.place(community_id)}结对的单位"
    return Listing(
        title=f"{period} 单位排名(前 {first} 名)",
        lines=[f"排名依据:{METRIC_NAMES[metric]};范围:{scope};并列者名次相同。"],
        headings=(
            "名次",
            "单位",
            "类型",
            "党员数",
            "报到率%",
            "参与率%",
            "人均时长",
            "人均积分",
            "急难险重%",
            "平均评价",
            "达下限%",
            "综合得分",
        ),
        widths=(10, 27, 16, 11, 13, 13, 13, 13, 15, 13, 13, 17),
        rows=[
            (
                r["rank"],
                r["name"],
                UnitKind[r["kind"]].value,
                r["members"],
                percent(r["report_rate"]),
                percent(r["participation_rate"]),
                r["hours_per_member"].quantize(PERCENT),
                r["points_per_member"].quantize(PERCENT),
                percent(r["hard_share"]),
                r["average_rating"].quantize(Decimal("0.01")),
                percent(r["floor_rate"]),
                r["composite"],
            )
            for r in rows
        ],
        note=(
            "各项指标由单位排名读模型按服务评价事件累计(服务计入评价时成员所在单位,按签到日期归期);"
            "单位各成员的每项服务及其事件编号见其评先评优证据材料。"
            "平均评价:很好=3,好=2,一般=1。"
        ),
        filename=f"单位排名-{period}",
        made_at=datetime.now(UTC),
    )


MEMBER_METRIC_NAMES = {
    MemberMetric.POINTS: "积分",
    MemberMetric.HOURS: "服务时长",
    MemberMetric.COMPOSITE: "综合得分(按规则书权重)",
}


async def member_ranking_listing(
    conn: asyncpg.Connection,
    period: str,
    *,
    metric: MemberMetric = MemberMetric.COMPOSITE,
    street_id: UUID | None = None,
    community_id: UUID | None = None,
    unit_id: UUID | None = None,
    first: int = 10,
    full_names: bool = True,
) -> Listing:
    """The top ``first`` members of ``period`` by ``metric``: of a street, a community
    (where they live) or a unit (where they work); names masked unless ``full_names``."""
    first = min(max(first, 1), MAX_LIST)
    rows = await member_ranking(
        conn,
        period,
        metric=metric,
        street_id=street_id,
        community_id=community_id,
        unit_id=unit_id,
        first=first,
    )
    wanted = Wanted().place(street_id, community_id, unit_id)
    for r in rows:
        wanted.member(r["member_id"]).place(r["unit_id"], r["community_id"])
    named = await names(conn, wanted, full=full_names)
    scope = "全部成员"
    for place, what in ((street_id, "的成员"), (community_id, "的居民"), (unit_id, "的成员")):
        if place is not None:
            scope = f"{named.place(place)}{what}"
    return Listing(
        title=f"{period} 成员排名(前 {first} 名)",
        lines=[
            f"排名依据:{MEMBER_METRIC_NAMES[metric]};范围:{scope};"
            "只排本期有计时服务的成员,并列者名次相同。"
        ],
        headings=(
            "名次",
            "姓名",
            "单位",
            "社区",
            "服务次数",
            "时长",
            "积分",
            "急难险重%",
            "平均评价",
            "综合得分",
        ),
        widths=(10, 20, 30, 24, 13, 13, 13, 15, 13, 17),
        rows=[
            (
                r["rank"],
                named.member(r["member_id"]),
                named.place(r["unit_id"]) or "",
                named.place(r["community_id"]),
                r["services"],
                r["hours"],
                r["points"],
                percent(r["hard_share"]),
                r["average_rating"].quantize(Decimal("0.01")),
                r["composite"],
            )
            for r in rows
        ],
        note=(
            "各项指标由排名读模型按服务评价事件累计,只计挣得时长的服务;"
            "每位成员的每项服务及其事件编号见其评先评优证据材料。平均评价:很好=3,好=2,一般=1。"
        ),
        filename=f"成员排名-{period}",
        made_at=datetime.now(UTC),
    )


async def projects_listing(
    conn: asyncpg.Connection,
    community_id: UUID,
    year: int,
    *,
    measure: ProjectMeasure = ProjectMeasure.POINTS,
    first: int = 10,
) -> Listing:
    """十佳实事项目: the community's service projects (tasks) of the year ranked by the
    community's chosen ``measure``, each with the events of its ratings."""
    first = min(max(first, 1), MAX_LIST)
    year = values.year(year)
    rows = await best_projects(conn, community_id, year, measure, first)
    community = (await names(conn, Wanted().place(community_id), full=False)).place(community_id)
    return Listing(
        title=f"{community} {year} 年度十佳实事项目候选名单",
        lines=[f"排序依据:{MEASURE_NAMES[measure]};取前 {first} 项;已撤销的服务不计。"],
        headings=(
            "名次",
            "项目",
            "类别",
            "日期",
            "参与人数",
            "服务人次",
            "时长",
            "积分",
            "平均评价",
            "评价事件编号",
        ),
        widths=(10, 34, 16, 18, 12, 12, 12, 12, 14, 34),
        rows=[
            (
                r["rank"],
                r["title"],
                r["category"],
                r["day"],
                r["participants"],
                r["services"],
                r["hours"],
                r["points"],
                r["average_rating"],
                "、".join(str(p) for p in r["positions"]),
            )
            for r in rows
        ],
        note="“评价事件编号”为该项目每次服务的评价事件通知编号。平均评价:很好=3,好=2,一般=1。",
        filename=f"十佳实事项目-{community}-{year}",
        made_at=datetime.now(UTC),
    )


async def below_floor_listing(
    conn: asyncpg.Connection,
    year: int,
    *,
    community_id: UUID | None = None,
    unit_id: UUID | None = None,
) -> Listing:
    """The reported party members short of the annual floor in ``year`` (of a community
    or a unit, or all), for 约谈提醒, with their hours and the shortfall."""
    year = values.year(year)
    short = await every_member(
        conn,
        community_id=community_id,
        unit_id=unit_id,
        kind=MemberKind.PARTY_MEMBER,
        below_floor_in=year,
    )
    members = [m for m in short if m["reported_on"] is not None]
    years = await member_years(conn, [(m["member_id"], year) for m in members])
    wanted = Wanted().place(community_id, unit_id)
    for m in members:
        wanted.place(m["community_id"], m["unit_id"])
    named = await names(conn, wanted, full=False)
    scope = named.place(community_id or unit_id) or "全部"
    rows = sorted(
        (
            (
                m["name"],
                kind(m["kind"]),
                named.place(m["unit_id"]),
                named.place(m["community_id"]),
                y["hours"],
                y["annual_floor_hours"],
                y["annual_floor_hours"] - y["hours"],
            )
            for m, y in zip(members, years, strict=True)
        ),
        key=lambda row: (row[4], row[0]),
    )
    return Listing(
        title=f"{year} 年度未达到服务下限的党员名单",
        lines=[f"范围:{scope};已报到的在职党员;按本年服务时长从少到多。用于约谈提醒。"],
        headings=(
            "序号",
            "姓名",
            "类别",
            "单位",
            "居住社区",
            "本年时长",
            "年度下限",
            "差额",
        ),
        widths=(10, 24, 12, 44, 38, 16, 16, 14),
        rows=[(n, *row) for n, row in enumerate(rows, start=1)],
        note="时长为该年度已评价且未撤销的服务合计;逐项服务与事件编号见各人的评先评优证据材料。",
        filename=f"未达下限名单-{scope}-{year}",
        made_at=datetime.now(UTC),
    )
