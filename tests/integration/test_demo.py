"""``ledger serve --demo`` prepares a street once and hands out tokens that work."""

from pathlib import Path
from uuid import UUID, uuid4

import psycopg

from api.auth import LOOKUP, hash_token
from entrypoints.bootstrap import bootstrap
from entrypoints.demo import prepare_demo
from ledger.domain.values import Context, Role
from ledger.settings import load_settings
from ledger.simulation import Scale

TINY = Scale(communities=2, grids=1, units=3, party_members=20, residents=5, days=3)


def test_the_demo_generates_once_and_prints_working_tokens(database_url: str, tmp_path: Path):
    settings = load_settings({"LEDGER_DATA_DIR": str(tmp_path), "DATABASE_URL": database_url})
    with bootstrap(settings) as services:
        tokens = prepare_demo(services, scale=TINY)
    *tokens, (label, code) = tokens
    with psycopg.connect(database_url) as conn:
        events = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
        assert events is not None and events[0] > 100
        roles = {
            conn.execute(LOOKUP.replace("$1", "%s"), (hash_token(token),)).fetchone()[1]  # type: ignore[index]
            for _, token in tokens
        }
    assert roles == {"admin", "auditor", "kiosk", "community"}
    assert "一次性登录码" in label and len(code) == 8
    with bootstrap(settings) as services:
        taken = services.ledger.activate_sign_in(
            code, uuid4(), "演示手机", Context(actor_id="demo phone", role=Role.MEMBER)
        )
        again = prepare_demo(services, scale=TINY)
        home = services.ledger.read_member(taken.member_id).community_id
    assert home == UUID(tokens[-1][0].split("社区 ")[1].rstrip(")"))  # the worker's community
    with psycopg.connect(database_url) as conn:
        # a second run issues a new code (one event), generates nothing
        count = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
        assert count is not None and count[0] == events[0] + 2
    assert len(again) == 5


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
