"""Names, not ids, where people read: over HTTP on a small generated street, every
display field beside an id (members, communities, units, tasks, accounts, token
holders, devices, events) holds Chinese words, masked as the reader's role requires,
and every time is written in China Standard Time. The auditor's history reads the
same from the command line, with a header, and as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.auth import create_token
from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.domain.member import mask_name
from ledger.domain.policy import ROUTINE_CATEGORIES
from ledger.domain.values import CST, Context, Role
from ledger.simulation import GOODS, Generator, Scale
from tests.e2e.conftest import Server
from tests.readable import UUID_PATTERN, unreadable
from tests.support import earn

TINY = Scale(communities=2, grids=1, units=3, party_members=24, residents=6, days=5)
YEAR = TINY.start.year
STAFF, KIOSK = "第1社区工作站", "第1社区积分超市1号机"
SOAP = next(i for i, (name, _) in enumerate(GOODS) if name == "肥皂")


@pytest.fixture(scope="module")
def street(server: Server) -> dict[str, Any]:
    """A generated street; in its first community a member served (rated by a staff
    token), redeemed soap at a named kiosk, and served again unrated (awaiting rating)."""
    url = server.database_url
    ledger = Ledger(eventsourcing_env(url), id_hash_key=b"names")
    try:
        history = Generator(ledger, TINY, seed=5).run()
        home = history.communities[0]
        member = next(m for m in history.party_members if ledger.get_member(m).community_id == home)
        staff_id, staff = create_token(url, Role.COMMUNITY, [home], STAFF)
        kiosk_id, _ = create_token(url, Role.KIOSK, [home], KIOSK, device="kiosk-1")
        by_staff = Context(f"token:{staff_id}", Role.COMMUNITY)
        at_kiosk = Context(f"token:{kiosk_id}", Role.KIOSK, device="kiosk-1")
        day = datetime(YEAR, 1, 20, 9, tzinfo=CST)
        earn(ledger, home, member, day, by_staff)
        ledger.redeem(
            "kiosk-1", "names-1", member, home, [(history.items[home][SOAP], 1)], at_kiosk
        )
        task = ledger.publish_task(
            home,
            "楼道清扫",
            ROUTINE_CATEGORIES[0],
            day + timedelta(days=1),
            day + timedelta(days=1, hours=2),
            2,
            by_staff,
        ).id
        service = ledger.claim_task(task, member, by_staff).id
        ledger.check_in(service, by_staff, at=day + timedelta(days=1))
        last = ledger.check_out(service, by_staff, at=day + timedelta(days=1, hours=2))
    finally:
        ledger.close()
    admin = server.admin
    found = server.gql(
        admin,
        "query($m: UUID!, $p: Int) { member(id: $m, waitFor: $p) { name } }",
        m=str(member),
        p=last.position,
    )
    return {
        "home": str(home),
        "member": str(member),
        "name": found["data"]["member"]["name"],
        "service": str(service),
        "staff": staff,
        "auditor": server.token(Role.AUDITOR),
    }


def data(answer: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in answer, answer
    found: dict[str, Any] = answer["data"]
    return found


def readable(*values: str | None) -> None:
    """Words for people: no id and no English word in any of them."""
    assert [unreadable(v) for v in values if v is not None and unreadable(v)] == [], values


def in_cst(*values: str | None) -> None:
    for value in values:
        if value is not None:
            assert value.endswith("+08:00"), value
            assert datetime.fromisoformat(value).utcoffset() == timedelta(hours=8)


RANKING = f"""query($c: UUID) {{
  memberRanking(period: "{YEAR}", metric: POINTS, communityId: $c, first: 200) {{
    memberId memberName unitId unitName communityId communityName }} }}"""


def test_a_member_ranking_names_each_member_unit_and_community(
    server: Server, street: dict[str, Any]
) -> None:
    rows = data(server.gql(street["staff"], RANKING, c=street["home"]))["memberRanking"]
    assert rows and all(r["communityName"] == "第1社区" for r in rows)
    mine = next(r for r in rows if r["memberId"] == street["member"])
    assert mine["memberName"] == street["name"]
    units = {r["unitName"] for r in rows if r["unitId"]}
    assert units and units <= {"单位1", "单位2", "单位3"}
    for r in rows:
        readable(r["memberName"], r["unitName"], r["communityName"])


def test_an_auditor_reads_the_ranking_with_masked_names(
    server: Server, street: dict[str, Any]
) -> None:
    rows = data(server.gql(street["auditor"], RANKING, c=street["home"]))["memberRanking"]
    mine = next(r for r in rows if r["memberId"] == street["member"])
    assert mine["memberName"] == mask_name(street["name"]) != street["name"]
    members = data(
        server.gql(
            street["auditor"], "query($m: UUID!) { member(id: $m) { name } }", m=street["member"]
        )
    )
    assert members["member"]["name"] == mask_name(street["name"])


def test_services_awaiting_rating_name_the_member_and_the_task(
    server: Server, street: dict[str, Any]
) -> None:
    board = data(
        server.gql(
            street["staff"],
            """query($c: UUID!) { communityBoard(communityId: $c) { awaitingRating {
              serviceId memberId memberName taskId taskTitle checkedInAt checkedOutAt hours
            } } }""",
            c=street["home"],
        )
    )["communityBoard"]
    (pending,) = [p for p in board["awaitingRating"] if p["serviceId"] == street["service"]]
    assert (pending["memberName"], pending["taskTitle"], pending["hours"]) == (
        street["name"],
        "楼道清扫",
        "2.0",
    )
    assert pending["checkedInAt"] == f"{YEAR}-01-21T09:00:00+08:00"
    for p in board["awaitingRating"]:
        readable(p["memberName"], p["taskTitle"])
        in_cst(p["checkedInAt"], p["checkedOutAt"])


def test_a_members_points_history_names_accounts_tasks_and_goods(
    server: Server, street: dict[str, Any]
) -> None:
    entries = data(
        server.gql(
            street["staff"],
            """query($m: UUID!) { member(id: $m) { history(first: 200) {
              account accountName counterAccount counterAccountName causeKind taskTitle
              description at valueAt } } }""",
            m=street["member"],
        )
    )["member"]["history"]
    assert entries
    served = next(e for e in entries if e["taskTitle"] == "汛期巡查")
    assert served["counterAccountName"] == "第1社区 积分发放"
    assert served["description"] == "服务「汛期巡查」"
    assert served["accountName"] == street["name"]
    assert served["valueAt"] == f"{YEAR}-01-20T09:00:00+08:00"  # when the service began
    assert any(
        (e["causeKind"], e["description"], e["counterAccountName"])
        == ("REDEMPTION", "兑换 肥皂×1", "第1社区 积分超市")
        for e in entries
    )
    for e in entries:
        assert e["counterAccount"].split(":")[0] in ("issuance", "store", "expiry")
        readable(e["accountName"], e["counterAccountName"], e["taskTitle"], e["description"])
        in_cst(e["at"], e["valueAt"])


def test_conservation_names_each_community_in_order(server: Server, street: dict[str, Any]) -> None:
    flows = data(
        server.gql(
            street["auditor"],
            """query($s: DateTime!, $e: DateTime!) { conservation(start: $s, end: $e) {
              holds communities { communityId communityName issued } } }""",
            s=f"{YEAR}-01-01T00:00:00+08:00",
            e=datetime.now(UTC).isoformat(),
        )
    )["conservation"]
    assert flows["holds"]
    assert [c["communityName"] for c in flows["communities"]] == ["第1社区", "第2社区"]
    readable(*(c["communityName"] for c in flows["communities"]))


HISTORY = """query($a: UUID!) { history(aggregateId: $a) {
  position event eventName actor actorName role roleName device deviceName summary at } }"""


def test_the_auditors_history_names_events_token_holders_and_devices(
    server: Server, street: dict[str, Any]
) -> None:
    lines = data(server.gql(street["auditor"], HISTORY, a=street["member"]))["history"]
    debit = next(
        line for line in lines if line["event"] == "Account.Debited" and line["actorName"] == KIOSK
    )
    assert (debit["roleName"], debit["deviceName"]) == ("积分超市终端", KIOSK)
    assert debit["summary"] == "兑换扣减积分:兑换 肥皂×1"
    credit = next(
        line for line in lines if line["event"] == "Account.Credited" and line["actorName"] == STAFF
    )
    assert (credit["roleName"], credit["summary"]) == ("社区工作人员", "获得积分:服务「汛期巡查」")
    registered = next(line for line in lines if line["event"] == "Member.Registered")
    assert (registered["eventName"], registered["actorName"]) == ("登记成员", "演示数据生成")
    for line in lines:
        readable(line["eventName"], line["actorName"], line["roleName"], line["summary"])
        readable(line["deviceName"])
        in_cst(line["at"])


def ledger_cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args],
        env={**os.environ, "DATABASE_URL": server.database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def cli_history(server: Server, street: dict[str, Any]) -> tuple[str, str]:
    table = ledger_cli(server, "audit", "history", street["member"])
    assert table.returncode == 0, table.stderr
    as_json = ledger_cli(server, "audit", "history", street["member"], "--json")
    assert as_json.returncode == 0, as_json.stderr
    return table.stdout, as_json.stdout


def test_the_cli_history_has_a_header_and_cst_times_in_words(
    cli_history: tuple[str, str], server: Server, street: dict[str, Any]
) -> None:
    header, *rows = cli_history[0].splitlines()
    columns = header.split("\t")
    assert columns == [
        "位置",
        "记录时间(北京时间)",
        "发生时间(北京时间)",
        "事件",
        "操作者",
        "角色",
        "设备",
        "规则版本",
        "积分",
        "此后余额",
        "关联编号",
    ]
    cells = [dict(zip(columns, row.split("\t"), strict=True)) for row in rows]
    debit = next(c for c in cells if c["事件"] == "兑换扣减积分:兑换 肥皂×1")
    assert (debit["操作者"], debit["角色"], debit["设备"]) == (KIOSK, "积分超市终端", KIOSK)
    credit = next(c for c in cells if c["事件"] == "获得积分:服务「汛期巡查」")
    assert credit["规则版本"] == "1" and credit["积分"] == "9.6"
    assert credit["发生时间(北京时间)"] == f"{YEAR}-01-20 09:00:00"  # the service's own start
    answered = data(server.gql(street["auditor"], HISTORY, a=street["member"]))["history"]
    at = {str(line["position"]): line["at"] for line in answered}
    assert [c["位置"] for c in cells] == list(at)
    for c in cells:  # the instant GraphQL answers, in the same Beijing time
        shown = datetime.strptime(c["记录时间(北京时间)"], "%Y-%m-%d %H:%M:%S")
        assert shown.replace(tzinfo=CST) == datetime.fromisoformat(at[c["位置"]]).replace(
            microsecond=0
        )
        readable(c["事件"], c["操作者"], c["角色"])


def test_the_cli_history_as_json_keeps_ids_beside_the_words(
    cli_history: tuple[str, str], street: dict[str, Any]
) -> None:
    lines = json.loads(cli_history[1])
    debit = next(line for line in lines if line["actor_name"] == KIOSK)
    assert debit["event"] == "Account.Debited" and debit["actor"].startswith("token:")
    assert (debit["role"], debit["role_name"], debit["device"]) == (
        "kiosk",
        "积分超市终端",
        "kiosk-1",
    )
    assert (debit["amount"], debit["summary"]) == ("2.0", "兑换扣减积分:兑换 肥皂×1")
    assert all(line["at"].endswith("+08:00") for line in lines)
    assert debit["value_at"].endswith("+08:00")
    assert {line["aggregate_id"] for line in lines} >= {street["member"]}


def test_formalism_signals_name_the_people_units_and_communities(
    server: Server, street: dict[str, Any]
) -> None:
    found = data(
        server.gql(
            street["staff"],
            f"""query($c: UUID) {{ formalismSignals(period: "{YEAR}", communityId: $c) {{
              signedInAndLeft {{ memberName unitName communityName checkedInAt }}
              refusedTimes {{ memberName unitName communityName action at }}
              rotation {{ unitName memberServices {{ memberName }} }}
              underFloor {{ memberId memberName unitName communityName }} }} }}""",
            c=street["home"],
        )
    )["formalismSignals"]
    assert found["underFloor"], found
    residents = data(
        server.gql(
            street["staff"],
            "query($c: UUID) { members(communityId: $c, first: 200) { id name } }",
            c=street["home"],
        )
    )["members"]
    named = {m["id"]: m["name"] for m in residents}
    assert all(row["memberName"] == named[row["memberId"]] for row in found["underFloor"])
    shown = [
        value
        for key in ("signedInAndLeft", "refusedTimes", "underFloor")
        for row in found[key]
        for value in (row["memberName"], row["unitName"], row["communityName"], row.get("action"))
    ] + [
        value
        for row in found["rotation"]
        for value in (row["unitName"], *(m["memberName"] for m in row["memberServices"]))
    ]
    assert all(row["communityName"] for row in found["underFloor"])
    readable(*shown)
    in_cst(*(row["checkedInAt"] for row in found["signedInAndLeft"]))
    in_cst(*(row["at"] for row in found["refusedTimes"]))


def test_the_cli_conservation_names_the_communities_in_order(server: Server) -> None:
    checked = ledger_cli(
        server,
        "audit",
        "conservation",
        "--start",
        f"{YEAR}-01-01T00:00:00+08:00",
        "--end",
        datetime.now(UTC).isoformat(),
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    flows = [line for line in checked.stdout.splitlines() if ":期初 " in line]
    assert [line.split(":")[0] for line in flows] == ["第1社区", "第2社区"]
    assert not UUID_PATTERN.search(checked.stdout)
