"""An event the code cannot apply, written past the commands' checks, stops the commands
on its own aggregate with a clear code, and nothing else; the operator finds it where
quarantined events are listed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from ledger import database
from ledger.application import Ledger
from ledger.database import EmbeddedServer, ensure_database, eventsourcing_env
from ledger.domain.errors import UnreadableRecord
from ledger.domain.values import CST, Context, MemberKind, Role
from projections.runner import ReadSide
from tests.integration.test_read_side_commands import ledger_command
from tests.support import earn

ADMIN = Context(actor_id="test", role=Role.ADMIN)


@pytest.fixture
def store(pg_server: EmbeddedServer) -> Iterator[dict[str, UUID | str]]:
    """A store with two items, the first restocked once by a well-formed event and once
    by an ``Item.Restocked`` without its quantity; a member with points to spend."""
    url = database.database_url(pg_server.url(), f"test_{uuid4().hex[:12]}")
    ensure_database(url)
    app = Ledger(eventsourcing_env(url), id_hash_key=b"unreadable")
    try:
        street = app.register_street("修复街道", ADMIN).id
        home = app.register_community(street, "修复社区", ADMIN).id
        member = app.register_member(MemberKind.RESIDENT, "孙七", home, ADMIN).id
        earn(app, home, member, datetime(2026, 5, 1, 9, tzinfo=CST), ADMIN)
        broken = app.list_item(home, "毛巾", "1", ADMIN).id
        sound = app.list_item(home, "肥皂", "1", ADMIN).id
        app.restock_item(broken, 5, "区财政局", ADMIN)
        app.restock_item(sound, 5, "区财政局", ADMIN)
        item = app.get_item(broken)
        item.restock(3, "区财政局", ADMIN)
        del item.pending_events[-1].__dict__["quantity"]  # as an insider could have stored it
        app.save(item)
    finally:
        app.close()
    yield {"url": url, "home": home, "member": member, "broken": broken, "sound": sound}
    database.drop_database(url)


def test_a_command_on_an_aggregate_with_an_unreadable_event_is_refused_with_its_code(
    store: dict[str, UUID | str],
) -> None:
    app = Ledger(eventsourcing_env(str(store["url"])), id_hash_key=b"unreadable")
    try:
        home, member = store["home"], store["member"]
        with pytest.raises(UnreadableRecord) as refused:
            app.redeem("device:till", "k1", member, home, [(store["broken"], 1)], ADMIN)
        assert refused.value.code == "RECORD_UNREADABLE"
        assert refused.value.details["id"] == store["broken"]
        assert refused.value.details["topic"].endswith("Item.Restocked")
        assert "quantity" in refused.value.details["reason"]
        with pytest.raises(UnreadableRecord):
            app.restock_item(store["broken"], 1, "区财政局", ADMIN)  # every command on it
        sold = app.redeem("device:till", "k2", member, home, [(store["sound"], 1)], ADMIN)
        assert sold.total == 1  # the rest of the store, the member's account included, go on
        assert [e.details["id"] for e in app.unreadable([store["sound"], store["broken"]])] == [
            store["broken"]
        ]
    finally:
        app.close()


def test_the_operator_finds_the_refused_aggregate_beside_the_quarantined_event(
    store: dict[str, UUID | str], tmp_path: Path
) -> None:
    app = Ledger(eventsourcing_env(str(store["url"])), id_hash_key=b"unreadable")
    try:
        read_side = ReadSide(app)
        read_side.open()
        read_side.catch_up()
        assert {q.originator_id for q in read_side.quarantined()} == {str(store["broken"])}
    finally:
        app.close()
    listed = ledger_command(str(store["url"]), tmp_path, "quarantine", "list")
    assert listed.returncode == 0, listed.stderr
    assert "写入端也无法重建的对象" in listed.stdout and "RECORD_UNREADABLE" in listed.stdout
    refused_lines = listed.stdout.split("写入端也无法重建的对象")[1].splitlines()[2:]
    assert [line.split("\t")[:2] for line in refused_lines] == [[str(store["broken"]), "3"]]
    as_json = ledger_command(str(store["url"]), tmp_path, "quarantine", "list", "--json")
    rows = json.loads(as_json.stdout)
    assert rows and all(row["commands_refused"] for row in rows)
