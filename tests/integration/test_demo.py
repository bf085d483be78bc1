"""``ledger serve --demo`` prepares a street's last days once and hands out, once, a way in
for each kind of user."""

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import psycopg

from api.auth import LOOKUP, hash_token, list_tokens
from entrypoints.bootstrap import bootstrap
from entrypoints.demo import SEED, prepare_demo
from ledger.application import Ledger
from ledger.domain.values import CST, Context, Role
from ledger.domain.work import Service
from ledger.settings import load_settings
from ledger.simulation import Generator, Scale

TINY = Scale(communities=2, grids=1, units=3, party_members=20, residents=5, days=3)
BASE = "http://127.0.0.1:8123"


def test_the_demo_ends_yesterday_a_year_after_it_starts():
    year = Scale().ending_before(date(2026, 12, 7))
    assert (year.start, year.last_day) == (date(2025, 12, 7), date(2026, 12, 6))
    assert Scale(days=3).ending_before(date(2027, 1, 2)).start == date(2026, 12, 30)


def check_ins(ledger: Ledger) -> list[datetime]:
    times, after = [], 0
    while batch := ledger.recorder.select_notifications(after, 500, inclusive_of_start=False):
        for notification in batch:
            event = ledger.mapper.to_domain_event(notification)
            if isinstance(event, Service.CheckedIn):
                times.append(event.at)
        after = batch[-1].id
    return times


def test_the_demo_makes_each_way_in_once_and_says_so_at_each_start_after(
    database_url: str, tmp_path: Path
):
    settings = load_settings({"LEDGER_DATA_DIR": str(tmp_path), "DATABASE_URL": database_url})
    today = datetime.now(CST).date()
    with bootstrap(settings) as services:
        ways = prepare_demo(services, BASE, scale=TINY)
        secrets = [way.secret for way in ways]
        assert None not in secrets
        with psycopg.connect(database_url) as conn:
            grants = [
                conn.execute(LOOKUP.replace("$1", "%s"), (hash_token(str(secret)),)).fetchone()
                for secret in secrets[:4]
            ]
        roles = [(g[1], list(g[2])) for g in grants if g]
        *_, (_, [home]) = roles
        code, card_code = str(secrets[4]), str(secrets[5])
        taken = services.ledger.activate_sign_in(
            code, uuid4(), "演示手机", Context(actor_id="demo phone", role=Role.MEMBER)
        )
        member = services.ledger.get_member(taken.member_id)
        card = services.ledger.read_code(card_code)  # the card is the same member's
        assert card.code_hash is not None and card.code_hash == member.card_hash
        assert services.ledger.get_account(member.id).balance > 0
        served = check_ins(services.ledger)
    assert roles == [("admin", []), ("auditor", []), ("kiosk", [home]), ("community", [home])]
    assert member.community_id == home
    assert len(code) == 8
    days = {t.astimezone(CST).date() for t in served}
    assert days and min(days) >= today - timedelta(days=3) and max(days) < today
    with psycopg.connect(database_url) as conn:
        events = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
        assert events is not None and events[0] > 100
    labels = [way.label for way in ways]
    assert labels[2].startswith("第1社区积分超市终端令牌") and f"{BASE}/kiosk" in labels[2]
    assert labels[3].startswith("第1社区社区工作台令牌") and f"{BASE}/workbench" in labels[3]
    assert member.name in labels[4] and f"{BASE}/me" in labels[4] and "一次性登录码" in labels[4]
    assert member.name in labels[5] and "积分卡号" in labels[5]
    assert not any(re.search("[0-9a-f]{8}-[0-9a-f]{4}", label) for label in labels)

    with bootstrap(settings) as services:
        again = prepare_demo(services, BASE, scale=TINY)
        assert services.ledger.get_member(member.id).card_hash == member.card_hash
    assert [way.label for way in again] == labels
    # tokens and the card were made and shown once; the one-time sign-in code is new each start
    assert [way.secret is None for way in again] == [True] * 4 + [False, True]
    assert again[4].secret != code
    assert len(list_tokens(database_url)) == 4  # none made again
    with psycopg.connect(database_url) as conn:
        count = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
        assert count is not None and count[0] == events[0] + 1  # the new code's one event


def test_the_same_seed_generates_the_same_street(pg_server, tmp_path: Path):
    from uuid import uuid4

    from ledger import database
    from ledger.application import Ledger
    from ledger.database import drop_database, ensure_database, eventsourcing_env
    from ledger.simulation import Generator

    histories, balances = [], []
    for _ in range(2):
        url = database.database_url(pg_server.url(), f"test_{uuid4().hex[:12]}")
        ensure_database(url)
        ledger = Ledger(eventsourcing_env(url))
        try:
            histories.append(Generator(ledger, TINY, seed=7).run())
            balances.append(
                sorted((str(m), ledger.get_account(m).balance) for m in histories[-1].members)
            )
        finally:
            ledger.close()
            drop_database(url)
    first, second = histories
    assert (first.street, first.communities, first.units) == (
        second.street,
        second.communities,
        second.units,
    )
    assert first.members == second.members and first.services == second.services
    assert balances[0] == balances[1]


def test_the_generated_street_has_branches_and_work_teams(ledger):
    from ledger.simulation import Generator

    history = Generator(ledger, TINY, seed=8).run()
    branches = {ledger.get_member(m).branch for m in history.party_members}
    assert len(branches) == min(TINY.branches, TINY.party_members)
    others = [ledger.get_member(m) for m in history.members if m not in history.party_members]
    teams = {m.team for m in others if m.kind.name == "VOLUNTEER"}
    assert teams and None not in teams
    for unit_id in history.units:
        unit = ledger.get_unit(unit_id)
        assert set(unit.teams) == set(unit.paired) and unit.teams


def test_the_demos_balances_as_of_last_month_are_not_zero(pg_server, tmp_path: Path):
    """A fresh install's demo is recent: replayed by when services happened, its members held
    points at the end of last month (the street's days, recorded today, count on their days)."""
    from audit.replay import replay_member
    from ledger import database
    from ledger.database import drop_database, ensure_database

    url = database.database_url(pg_server.url(), f"test_{uuid4().hex[:12]}")
    ensure_database(url)
    settings = load_settings({"LEDGER_DATA_DIR": str(tmp_path), "DATABASE_URL": url})
    today = datetime.now(CST).date()
    end_of_last_month = datetime.combine(today.replace(day=1), datetime.min.time(), CST)
    recent = Scale(communities=1, grids=1, units=2, party_members=12, residents=3, days=40)
    with bootstrap(settings) as services:
        prepare_demo(services, BASE, scale=recent)
        generator = Generator(services.ledger, recent.ending_before(today), seed=SEED)
        members = []
        while services.ledger.exists(member := generator.id_of("member", len(members))):
            members.append(member)
        held = [replay_member(services.ledger, m, end_of_last_month).balance for m in members]
    drop_database(url)
    assert len(members) >= 12
    assert sum(held) > 0 and sum(1 for points in held if points > 0) >= 3
