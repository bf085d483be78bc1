"""The words people read for the ledger's ids: accounts, members, events, token holders."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from uuid import uuid4

from eventsourcing.domain import Aggregate

import ledger.domain
from ledger.domain.base import LedgerAggregate
from ledger.domain.member import reads_full_names
from ledger.domain.values import (
    EXPIRY_ACCOUNT,
    CauseKind,
    Role,
    issuance_account,
    member_account,
    store_account,
)
from projections.queries.names import (
    EVENT_WORDS,
    ROLE_WORDS,
    SYSTEM_ACTORS,
    Names,
    Wanted,
    event_word,
    role_word,
)
from tests.readable import unreadable

COMMUNITY, MEMBER, SERVICE, REDEMPTION = uuid4(), uuid4(), uuid4(), uuid4()
TOKEN = uuid4()
FOUND = {
    ("place", COMMUNITY): "第6社区",
    ("person", MEMBER): "张三丰",
    ("service", SERVICE): "汛期巡查",
    ("goods", REDEMPTION): "大米×1、食用油×2",
}
TOKENS = {f"token:{TOKEN}": "第6社区工作站", "device:kiosk-6-1": "第6社区积分超市1号机"}


def recorded_events() -> set[str]:
    """Every event the domain's aggregates record, as ``Aggregate.Name``."""
    found = set()
    for module in pkgutil.iter_modules(ledger.domain.__path__):
        loaded = importlib.import_module(f"ledger.domain.{module.name}")
        for cls in vars(loaded).values():
            if inspect.isclass(cls) and issubclass(cls, LedgerAggregate):
                found |= {
                    v.__qualname__
                    for n, v in vars(cls).items()
                    if inspect.isclass(v)
                    and issubclass(v, Aggregate.Event)
                    and n not in ("Event", "Created")
                }
    return found


def test_every_event_the_ledger_records_has_chinese_words() -> None:
    events = recorded_events()
    assert len(events) > 40
    assert events == set(EVENT_WORDS)
    assert [w for w in EVENT_WORDS.values() if unreadable(w)] == []
    assert [w for w in ROLE_WORDS.values() if unreadable(w)] == []
    assert event_word("Credited") == event_word("Account.Credited") == "获得积分"


def test_every_role_has_chinese_words() -> None:
    assert set(ROLE_WORDS) == set(Role)
    assert role_word("kiosk") == role_word(Role.KIOSK) == "积分超市终端"
    assert role_word(None) is None


def test_accounts_are_named_by_their_member_or_community() -> None:
    names = Names(full=True, found=FOUND)
    assert names.account(issuance_account(COMMUNITY)) == "第6社区 积分发放"
    assert names.account(store_account(COMMUNITY)) == "第6社区 积分超市"
    assert names.account(member_account(MEMBER)) == "张三丰"
    assert names.account(EXPIRY_ACCOUNT) == "积分过期"
    unknown = names.account(issuance_account(uuid4()))
    assert not unreadable(unknown) and unknown.endswith("积分发放")


def test_a_member_is_masked_unless_the_reader_reads_full_names() -> None:
    full = [role for role in Role if reads_full_names(role)]
    assert set(full) == {Role.ADMIN, Role.COMMUNITY, Role.UNIT, Role.MEMBER}
    assert not reads_full_names(None)
    masked = Names(full=reads_full_names(Role.AUDITOR), found=FOUND)
    assert masked.member(MEMBER) == "张*丰"
    assert masked.account(member_account(MEMBER)) == "张*丰"
    assert Names(full=reads_full_names(Role.COMMUNITY), found=FOUND).member(MEMBER) == "张三丰"


def test_causes_name_the_task_or_the_goods() -> None:
    names = Names(full=True, found=FOUND)
    assert names.cause(CauseKind.SERVICE, SERVICE) == "服务「汛期巡查」"
    assert names.cause("reversal", SERVICE) == "冲正服务「汛期巡查」"
    assert names.cause(CauseKind.REDEMPTION, REDEMPTION) == "兑换 大米×1、食用油×2"
    assert names.cause(CauseKind.REDEMPTION_CANCELLED, uuid4()) == "取消兑换"
    assert names.cause(CauseKind.EXPIRY, None) == "积分到期"


def test_actors_and_devices_are_named_by_their_tokens_or_jobs() -> None:
    names = Names(full=True, tokens=TOKENS)
    assert names.actor(f"token:{TOKEN}") == "第6社区工作站"
    assert names.actor(f"token:{uuid4()}") == "(未知令牌)"
    assert names.actor("expiry") == "积分过期(每日自动)"
    assert names.actor("import:2025年纸质台账") == "导入(2025年纸质台账)"
    assert names.device("kiosk-6-1") == "第6社区积分超市1号机"
    assert names.device("kiosk") == "积分超市终端"
    assert names.actor(None) is None and names.device(None) is None


def test_wanted_collects_the_parties_of_accounts_and_the_causes() -> None:
    wanted = (
        Wanted()
        .account(member_account(MEMBER), issuance_account(COMMUNITY), EXPIRY_ACCOUNT)
        .cause("service", SERVICE)
        .cause(CauseKind.REDEMPTION, REDEMPTION)
        .cause(CauseKind.EXPIRY, None)
        .actor(f"token:{TOKEN}", "kiosk-6-1")
    )
    assert wanted.people == {MEMBER} and wanted.places == {COMMUNITY}
    assert wanted.services == {SERVICE} and wanted.redemptions == {REDEMPTION}
    assert wanted.actors == {f"token:{TOKEN}"} and wanted.devices == {"kiosk-6-1"}


def test_every_job_the_ledger_runs_as_is_named() -> None:
    """The actors the ledger's own jobs record (``Context.system("…")``, a job's ``ACTOR``,
    the generator's contexts) each have words; an unnamed one would show its code."""
    root = Path(__file__).resolve().parents[2]
    jobs = set()
    for package in ("ledger", "entrypoints", "api", "audit"):
        for path in (root / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            jobs |= set(re.findall(r'Context\.system\("([^"]+)"\)', text))
            jobs |= set(re.findall(r'^ACTOR = "([^"]+)"', text, re.M))
            jobs |= set(re.findall(r'Context\("([^"]+)", Role\.', text))
    assert {"expiry", "closing", "generator", "rule-book"} <= jobs
    assert jobs - set(SYSTEM_ACTORS) == set()
    names = Names(full=True)
    assert {job: names.actor(job) for job in jobs} == {job: SYSTEM_ACTORS[job] for job in jobs}
