"""What people read where the ledger keeps ids: one place that names members,
communities, units, streets, tasks, accounts, events, token holders and devices.

A reader is given words, never a UUID, an account string or an event's class name:
``member:<id>`` is the member's name (masked unless the reader's role reads full
names: ``ledger.domain.member.reads_full_names``), ``issuance:<id>`` is
"第6社区 积分发放", ``store:<id>`` "第6社区 积分超市", ``Account.Credited`` "获得积分",
``token:<id>`` the name its token was given. The API and the CLI ask ``Wanted`` for
what a page holds and read the answers off one ``Names``: one statement for the read
models' names, one for the tokens', whichever driver asks (asyncpg for the API,
psycopg for the auditor's services).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, overload
from uuid import UUID

import asyncpg
import psycopg

from ledger.domain.member import mask_name
from ledger.domain.values import EXPIRY_ACCOUNT, CauseKind, Role, member_of

EVENT_WORDS = {
    "Account.Opened": "开立积分账户",
    "Account.Credited": "获得积分",
    "Account.Debited": "兑换扣减积分",
    "Account.Refunded": "取消兑换退回积分",
    "Account.Reversed": "冲正扣回积分",
    "Account.Expired": "积分过期",
    "Certificate.Issued": "出具志愿服务证明",
    "RequestKey.Used": "记录请求编号",
    "Member.Registered": "登记成员",
    "Member.Reported": "向居住社区报到",
    "Member.UnitChanged": "调动单位",
    "Member.Moved": "迁居",
    "Member.Corrected": "更正登记信息",
    "Member.CardIssued": "发放积分卡",
    "Member.SignInRevoked": "撤销手机登录",
    "SignInCode.Issued": "发放登录码",
    "SignInCode.Activated": "用登录码登录手机",
    "Street.Registered": "登记街道",
    "Community.Registered": "登记社区",
    "Community.GridAdded": "增加网格",
    "Unit.Registered": "登记单位",
    "Unit.Paired": "与社区结对",
    "Unit.Reported": "向对口社区报到",
    "Unit.TeamFormed": "组建下沉工作队",
    "AnnualReview.Given": "年度评价",
    "RuleBook.Opened": "建立积分规则簿",
    "RuleBook.Published": "发布积分规则",
    "Item.Listed": "商品上架",
    "Item.Restocked": "商品入库",
    "Item.Repriced": "调整商品积分",
    "Item.Taken": "兑换出库",
    "Item.Returned": "取消兑换入库",
    "Redemption.Redeemed": "兑换",
    "Redemption.Cancelled": "取消兑换",
    "Timesheet.Opened": "建立考勤",
    "Timesheet.Started": "考勤开始",
    "Timesheet.Ended": "考勤结束",
    "Timesheet.Amended": "更正考勤",
    "Timesheet.Dropped": "撤销考勤",
    "Need.Raised": "群众点单",
    "Need.Accepted": "受理需求",
    "Need.Dispatched": "社区派单",
    "Need.Closed": "办结需求",
    "Need.Revisited": "回访",
    "Task.Published": "发布任务",
    "Task.Claimed": "任务被认领",
    "Task.Cancelled": "取消任务",
    "Task.Closed": "关闭任务",
    "Task.Edited": "修改任务",
    "Task.ClaimWithdrawn": "名额被退回",
    "Service.Claimed": "认领任务",
    "Service.CheckedIn": "签到",
    "Service.CheckedOut": "签退",
    "Service.TimeRefused": "签到或签退被拒",
    "Service.Confirmed": "核实服务",
    "Service.Rated": "评价并计分",
    "Service.Reversed": "冲正计分",
    "Service.Released": "释放认领",
    "Service.Withdrawn": "退出任务",
    "Service.Rejoined": "重新认领",
    "Service.Lapsed": "未签退自动关闭",
    "Service.Mended": "更正未签退的服务",
}
"""Every event the ledger records, by its aggregate and name (a test checks none is missing)."""

ROLE_WORDS = {
    Role.ADMIN: "街道管理员",
    Role.COMMUNITY: "社区工作人员",
    Role.UNIT: "单位党组织",
    Role.KIOSK: "积分超市终端",
    Role.AUDITOR: "审计人员",
    Role.MEMBER: "成员本人",
    Role.SYSTEM: "账本系统",
}
"""Who did something, by the role the event records (histories, and papers' 确认人, 评价人)."""

SYSTEM_ACTORS = {
    "generator": "演示数据生成",
    "expiry": "积分过期(每日自动)",
    "closing": "未签退服务的定时关闭",
    "rule-book": "默认积分规则",
    "documents": "文书出具",
    "cards": "积分卡制作",
    "demo": "演示准备",
    "kiosk": "积分超市终端",
}
"""The ledger's own jobs, by the actor (or device) their events name."""
KNOWN_DEVICES = {"kiosk": "积分超市终端", "importer": "导入程序"}
IMPORTER = "import:"

UNKNOWN_MEMBER = "(未登记的成员)"
UNKNOWN_PLACE = "(名称未知)"
UNKNOWN_TASK = "(未知任务)"
UNKNOWN_TOKEN = "(未知令牌)"

_CAUSE_PREFIX = {
    CauseKind.SERVICE: "服务",
    CauseKind.REVERSAL: "冲正服务",
    CauseKind.REDEMPTION: "兑换",
    CauseKind.REDEMPTION_CANCELLED: "取消兑换",
}


def event_word(event: str) -> str:
    """The words for an event: ``Member.Registered``, or an account's ``Credited``."""
    return EVENT_WORDS.get(event) or EVENT_WORDS.get(f"Account.{event}", "其他事件")


def role_word(role: Role | str | None) -> str | None:
    """The words for a role (an enum member or its value)."""
    if role is None:
        return None
    return ROLE_WORDS[role if isinstance(role, Role) else Role(role)]


def account_party(account: str) -> UUID | None:
    """The member or community an account belongs to (None: the expiry sink)."""
    _, _, ident = account.partition(":")
    try:
        return UUID(ident) if ident else None
    except ValueError:
        return None


@dataclass
class Wanted:
    """The ids a page holds, collected before its names are looked up at once."""

    people: set[UUID] = field(default_factory=set)
    places: set[UUID] = field(default_factory=set)
    tasks: set[UUID] = field(default_factory=set)
    services: set[UUID] = field(default_factory=set)
    redemptions: set[UUID] = field(default_factory=set)
    actors: set[str] = field(default_factory=set)
    devices: set[str] = field(default_factory=set)

    def member(self, *ids: UUID | None) -> Wanted:
        self.people.update(i for i in ids if i is not None)
        return self

    def place(self, *ids: UUID | None) -> Wanted:
        self.places.update(i for i in ids if i is not None)
        return self

    def task(self, *ids: UUID | None) -> Wanted:
        self.tasks.update(i for i in ids if i is not None)
        return self

    def account(self, *accounts: str) -> Wanted:
        for account in accounts:
            member = member_of(account)
            if member is not None:
                self.people.add(member)
            else:
                self.place(account_party(account))
        return self

    def cause(self, kind: CauseKind | str, cause_id: UUID | None) -> Wanted:
        if cause_id is not None:
            kind = CauseKind(kind)
            if kind in (CauseKind.SERVICE, CauseKind.REVERSAL):
                self.services.add(cause_id)
            elif kind in (CauseKind.REDEMPTION, CauseKind.REDEMPTION_CANCELLED):
                self.redemptions.add(cause_id)
        return self

    def kiosk(self, *keys: str | None) -> Wanted:
        """Redeeming kiosks as redemptions record them: ``device:…`` or ``token:…``."""
        for key in filter(None, keys):
            kind, _, ident = key.partition(":")
            if kind == "device":
                self.devices.add(ident)
            elif kind == "token":
                self.actors.add(key)
        return self

    def actor(self, actor_id: str | None, device: str | None = None) -> Wanted:
        if actor_id is not None:
            self.actors.add(actor_id)
        if device is not None:
            self.devices.add(device)
        return self


NAMES_SQL = """
SELECT 'person' AS kind, member_id AS id, name FROM member_totals
WHERE member_id = ANY($1::uuid[])
UNION ALL
SELECT 'place', id, name FROM board_places WHERE id = ANY($2::uuid[])
UNION ALL
SELECT 'place', id, name FROM dossier_names WHERE id = ANY($2::uuid[])
UNION ALL
SELECT 'place', id, name FROM document_places WHERE id = ANY($2::uuid[]) AND street_id IS NULL
UNION ALL
SELECT 'task', task_id, title FROM dossier_tasks WHERE task_id = ANY($3::uuid[])
UNION ALL
SELECT 'service', s.service_id, t.title
FROM dossier_services s JOIN dossier_tasks t ON t.task_id = s.task_id
WHERE s.service_id = ANY($4::uuid[])
UNION ALL
SELECT 'goods', redemption_id, string_agg(name || '×' || quantity, '、' ORDER BY line)
FROM board_redemption_lines WHERE redemption_id = ANY($5::uuid[])
GROUP BY redemption_id
"""
"""Communities and grids are named by the boards' places, units by the dossiers' names,
streets by the documents' places."""
TOKEN_NAMES_SQL = """
SELECT 'token:' || id::text AS key, name FROM api_tokens
WHERE 'token:' || id::text = ANY($1::text[])
UNION ALL
(SELECT DISTINCT ON (device) 'device:' || device, name FROM api_tokens
 WHERE device = ANY($2::text[]) ORDER BY device, created_at DESC)
"""
"""A token by the actor id its events carry; a device by the newest token that names it."""
TOKENS_EXIST_SQL = "SELECT to_regclass('api_tokens') IS NOT NULL"


@dataclass(frozen=True)
class Names:
    """The names of what a page holds, as one reader may read them."""

    full: bool
    """Whether the reader reads people's full names (else masked)."""
    found: Mapping[tuple[str, UUID], str] = field(default_factory=dict)
    tokens: Mapping[str, str] = field(default_factory=dict)

    @overload
    def member(self, member_id: UUID) -> str: ...
    @overload
    def member(self, member_id: UUID | None) -> str | None: ...
    def member(self, member_id: UUID | None) -> str | None:
        if member_id is None:
            return None
        name = self.found.get(("person", member_id))
        if name is None:
            return UNKNOWN_MEMBER
        return name if self.full else mask_name(name)

    @overload
    def place(self, place_id: UUID) -> str: ...
    @overload
    def place(self, place_id: UUID | None) -> str | None: ...
    def place(self, place_id: UUID | None) -> str | None:
        """A street's, a community's, a grid's or a unit's name."""
        return None if place_id is None else self.found.get(("place", place_id), UNKNOWN_PLACE)

    @overload
    def task(self, task_id: UUID) -> str: ...
    @overload
    def task(self, task_id: UUID | None) -> str | None: ...
    def task(self, task_id: UUID | None) -> str | None:
        return None if task_id is None else self.found.get(("task", task_id), UNKNOWN_TASK)

    def service_task(self, service_id: UUID | None) -> str | None:
        """The title of the task a service was for."""
        if service_id is None:
            return None
        return self.found.get(("service", service_id), UNKNOWN_TASK)

    def account(self, account: str) -> str:
        if account == EXPIRY_ACCOUNT:
            return "积分过期"
        member = member_of(account)
        if member is not None:
            return self.member(member)
        kind, _, _ = account.partition(":")
        place = self.place(account_party(account)) or UNKNOWN_PLACE
        return {"issuance": f"{place} 积分发放", "store": f"{place} 积分超市"}.get(kind, "其他账户")

    def cause(self, kind: CauseKind | str, cause_id: UUID | None) -> str:
        """Why points moved: 服务「汛期巡查」, 兑换 大米×1, 积分到期."""
        kind = CauseKind(kind)
        if kind is CauseKind.EXPIRY:
            return "积分到期"
        if kind in (CauseKind.SERVICE, CauseKind.REVERSAL):
            return f"{_CAUSE_PREFIX[kind]}「{self.service_task(cause_id)}」"
        goods = self.found.get(("goods", cause_id)) if cause_id is not None else None
        return f"{_CAUSE_PREFIX[kind]} {goods}" if goods else _CAUSE_PREFIX[kind]

    def actor(self, actor_id: str | None) -> str | None:
        """Who did it: a token's name, one of the ledger's own jobs, or an importer."""
        if actor_id is None:
            return None
        if actor_id.startswith("token:"):
            return self.tokens.get(actor_id, UNKNOWN_TOKEN)
        if actor_id.startswith(IMPORTER):
            return f"导入({actor_id.removeprefix(IMPORTER)})"
        return SYSTEM_ACTORS.get(actor_id, actor_id)

    def kiosk(self, key: str | None) -> str | None:
        """A redeeming kiosk's name: its device's newest token's, or its token's (None
        when no token names it)."""
        return None if key is None else self.tokens.get(key)

    def device(self, device: str | None) -> str | None:
        """Where it was done: the name of the (newest) token of that device."""
        if device is None:
            return None
        return self.tokens.get(f"device:{device}") or KNOWN_DEVICES.get(device, f"终端 {device}")


def _arguments(wanted: Wanted) -> list[list[UUID]]:
    return [
        list(wanted.people),
        list(wanted.places),
        list(wanted.tasks),
        list(wanted.services),
        list(wanted.redemptions),
    ]


def _made(full: bool, rows: Iterable[Any], tokens: Iterable[Any]) -> Names:
    return Names(
        full=full,
        found={(r[0], r[1]): r[2] for r in rows},
        tokens={r[0]: r[1] for r in tokens},
    )


async def names(conn: asyncpg.Connection | asyncpg.Pool, wanted: Wanted, *, full: bool) -> Names:
    """The names of what ``wanted`` holds, for a reader who reads full names or not."""
    rows: list[Any] = []
    if any(_arguments(wanted)):
        rows = list(await conn.fetch(NAMES_SQL, *_arguments(wanted)))
    tokens: list[Any] = []
    if wanted.actors or wanted.devices:
        tokens = list(await conn.fetch(TOKEN_NAMES_SQL, list(wanted.actors), list(wanted.devices)))
    return _made(full, rows, tokens)


def _psycopg(sql: str) -> str:
    """An asyncpg statement in psycopg's placeholders (``$2`` → ``%(p2)s``)."""
    return re.sub(r"\$(\d+)", r"%(p\1)s", sql)


def names_sync(conn: psycopg.Connection[Any], wanted: Wanted, *, full: bool) -> Names:
    """``names`` for the auditor's services, on their own (psycopg) connection; a
    database that never had a token names none."""
    rows: list[Any] = []
    if any(_arguments(wanted)):
        params = {f"p{i}": v for i, v in enumerate(_arguments(wanted), start=1)}
        rows = [_values(r) for r in conn.execute(_psycopg(NAMES_SQL), params)]
    tokens: list[Any] = []
    if (wanted.actors or wanted.devices) and _values(conn.execute(TOKENS_EXIST_SQL).fetchone())[0]:
        holders = {"p1": list(wanted.actors), "p2": list(wanted.devices)}
        tokens = [_values(r) for r in conn.execute(_psycopg(TOKEN_NAMES_SQL), holders)]
    return _made(full, rows, tokens)


def _values(row: Any) -> tuple[Any, ...]:
    """A row's values, whichever row factory the connection has."""
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)
