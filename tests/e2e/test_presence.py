"""Sign-in by one-time code, tasks a member signs up for and withdraws from, and
presence at the site, over HTTP: the site code a community shows, refused when it is
missing, stale, another task's or used before; a location that cannot be right is
refused before anything is written; another community's task answers as an unknown id."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.domain.policy import PointsPolicy
from ledger.domain.presence import site_code, site_code_key, time_step
from ledger.domain.values import Role
from tests.e2e.conftest import Server, running_server
from tests.e2e.test_story import RECEIPT, ok

KEY = bytes(range(32))
RESULT = f"__typename {RECEIPT}"
_names = itertools.count()


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose ID-hash key the test knows, to make codes of other minutes."""
    workdir: Path = tmp_path_factory.mktemp("presence")
    with running_server(database_url, workdir, env={"LEDGER_ID_HASH_KEY": KEY.hex()}) as running:
        yield running


def community(server: Server, street: str, name: str) -> str:
    found: str = ok(
        server.gql(
            server.admin,
            f"""mutation($s: UUID!, $n: String!) {{ registerCommunity(streetId: $s, name: $n)
            {{ {RECEIPT} }} }}""",
            s=street,
            n=name,
        ),
        "registerCommunity",
    )["id"]
    return found


@pytest.fixture(scope="module")
def place(server: Server) -> dict[str, Any]:
    """Two communities of one street; the first requires site codes in its own rule book."""
    street = ok(
        server.gql(
            server.admin, f'mutation {{ registerStreet(name: "签到街道") {{ {RECEIPT} }} }}'
        ),
        "registerStreet",
    )["id"]
    own, other = community(server, street, "现场社区"), community(server, street, "隔壁社区")
    staff = server.token(Role.COMMUNITY, own)
    rules = PointsPolicy(version=2).to_data() | {"site_code_required": True}
    published = server.gql(
        staff,
        f"""mutation($p: JSON!, $c: UUID) {{ publishPolicy(policy: $p, note: "要求现场签到码",
        communityId: $c) {{ {RESULT} }} }}""",
        p=rules,
        c=own,
    )
    ok(published, "publishPolicy")
    return {
        "community": own,
        "other": other,
        "staff": staff,
        "other_staff": server.token(Role.COMMUNITY, other),
    }


def member(server: Server, place: dict[str, Any]) -> tuple[str, str]:
    found = ok(
        server.gql(
            place["staff"],
            f"""mutation($c: UUID!, $n: String!) {{ registerMember(kind: RESIDENT, name: $n,
            communityId: $c) {{ {RECEIPT} }} }}""",
            c=place["community"],
            n=f"签到居民{next(_names)}",
        ),
        "registerMember",
    )["id"]
    return found, server.token(Role.MEMBER, found)


def task(server: Server, site: dict[str, Any], start: datetime, **where: Any) -> str:
    """A task of two hours from ``start`` (``where``: place, latitude, longitude)."""
    found: str = ok(
        server.gql(
            site["staff"],
            f"""mutation($c: UUID!, $a: DateTime!, $b: DateTime!, $p: String, $la: Float,
            $lo: Float) {{ publishTask(communityId: $c, title: "楼道清扫", category: "清洁卫生",
            startsAt: $a, endsAt: $b, capacity: 5, place: $p, latitude: $la, longitude: $lo)
            {{ {RECEIPT} }} }}""",
            c=site["community"],
            a=start.isoformat(),
            b=(start + timedelta(hours=2)).isoformat(),
            p=where.get("place"),
            la=where.get("latitude"),
            lo=where.get("longitude"),
        ),
        "publishTask",
    )["id"]
    return found


def claim(server: Server, token: str, task_id: str, member_id: str) -> str:
    claimed: str = ok(
        server.gql(
            token,
            f"""mutation($t: UUID!, $m: UUID!) {{ claimTask(taskId: $t, memberId: $m)
            {{ {RECEIPT} }} }}""",
            t=task_id,
            m=member_id,
        ),
        "claimTask",
    )["id"]
    return claimed


def stamp(server: Server, token: str, what: str, service_id: str, **given: Any) -> dict[str, Any]:
    """``checkIn`` or ``checkOut`` with a site code and a location, if given."""
    result = server.gql(
        token,
        f"""mutation($s: UUID!, $c: String, $l: SiteLocation) {{ {what}(serviceId: $s,
        siteCode: $c, location: $l) {{ {RESULT} }} }}""",
        s=service_id,
        c=given.get("code"),
        l=given.get("location"),
    )
    assert "errors" not in result, result
    data: dict[str, Any] = result["data"][what]
    return data


def shown(server: Server, token: str, task_id: str) -> dict[str, Any]:
    result = server.gql(
        token,
        """query($t: UUID!) { siteCode(taskId: $t) { __typename
        ... on SiteCode { taskId taskTitle code qrSvg validUntil periodSeconds }
        ... on Problem { code message } } }""",
        t=task_id,
    )
    assert "errors" not in result, result
    data: dict[str, Any] = result["data"]["siteCode"]
    return data


def code_at(task_id: str, minutes_ago: int) -> str:
    step = time_step(datetime.now(UTC)) - minutes_ago
    return site_code(uuid.UUID(task_id), step, site_code_key(KEY))


def claimants(server: Server, token: str, community_id: str, position: int) -> Any:
    return server.gql(
        token,
        """query($c: UUID!, $w: Int) { communityBoard(communityId: $c, waitFor: $w) {
        openTasks { taskId placesLeft siteCodeRequired communityName categoryClassName place
        claimants { serviceId memberName status statusName presenceVerified checkedInAt } } } }""",
        c=community_id,
        w=position,
    )


def test_a_self_check_in_needs_the_site_code_where_the_community_requires_it(
    server: Server, place: dict[str, Any]
) -> None:
    who, token = member(server, place)
    task_id = task(server, place, datetime.now(UTC) - timedelta(minutes=10), place="三号楼")
    service = claim(server, token, task_id, who)
    refused = stamp(server, token, "checkIn", service)
    assert (refused["__typename"], refused["code"]) == ("Rejected", "SITE_CODE_REQUIRED")
    assert "签到码" in refused["message"]
    screen = shown(server, place["staff"], task_id)
    assert screen["__typename"] == "SiteCode" and screen["taskTitle"] == "楼道清扫"
    assert len(screen["code"]) == 6 and screen["code"].isdigit() and "<svg" in screen["qrSvg"]
    assert screen["periodSeconds"] == 60 and screen["validUntil"].endswith("+08:00")
    # A code typed two minutes after the screen showed it still counts.
    checked_in = stamp(server, token, "checkIn", service, code=code_at(task_id, 2))
    assert checked_in["__typename"] == "Receipt", checked_in
    # The same code does not count twice for the service, a newer one does.
    again = stamp(server, token, "checkOut", service, code=code_at(task_id, 2))
    assert (again["__typename"], again["code"]) == ("Rejected", "SITE_CODE_INVALID")
    out = stamp(
        server, token, "checkOut", service, code=shown(server, place["staff"], task_id)["code"]
    )
    assert out["__typename"] == "Receipt", out
    board = claimants(server, place["staff"], place["community"], out["position"])
    assert "errors" not in board, board
    [row] = [t for t in board["data"]["communityBoard"]["openTasks"] if t["taskId"] == task_id]
    assert row["siteCodeRequired"] is True and row["communityName"] == "现场社区"
    assert row["place"] == "三号楼" and row["categoryClassName"] == "日常服务"
    assert row["placesLeft"] == 4
    [claimant] = row["claimants"]
    assert claimant["serviceId"] == service and claimant["memberName"].startswith("签到居民")
    assert (claimant["status"], claimant["statusName"]) == ("CHECKED_OUT", "已签退")
    assert claimant["presenceVerified"] is True and claimant["checkedInAt"].endswith("+08:00")


def test_a_stale_code_and_another_tasks_code_are_refused(
    server: Server, place: dict[str, Any]
) -> None:
    who, token = member(server, place)
    start = datetime.now(UTC) - timedelta(minutes=5)
    task_id, elsewhere = task(server, place, start), task(server, place, start)
    service = claim(server, token, task_id, who)
    for code in (code_at(task_id, 6), code_at(elsewhere, 0), "12345", "abcdef"):
        refused = stamp(server, token, "checkIn", service, code=code)
        assert (refused["__typename"], refused["code"]) == ("Rejected", "SITE_CODE_INVALID")
        assert "签到码不正确或已过期" in refused["message"]
    assert stamp(server, token, "checkIn", service, code=code_at(task_id, 5))["__typename"] == (
        "Receipt"
    )


def test_a_location_that_cannot_be_right_is_refused_and_nothing_is_written(
    server: Server, place: dict[str, Any]
) -> None:
    who, token = member(server, place)
    start = datetime.now(UTC) - timedelta(minutes=5)
    task_id = task(server, place, start, place="社区广场", latitude=39.9087, longitude=116.3975)
    service = claim(server, token, task_id, who)
    code = code_at(task_id, 0)
    for location, words in (
        ({"latitude": 39.9087, "longitude": 116.3975, "accuracyMeters": 0}, "定位精度"),
        ({"latitude": 39.9087, "longitude": 116.3975, "accuracyMeters": 99999}, "定位精度"),
        ({"latitude": 48.85, "longitude": 2.35, "accuracyMeters": 20}, "中国境内"),
    ):
        refused = stamp(server, token, "checkIn", service, code=code, location=location)
        assert (refused["__typename"], refused["code"]) == ("InvalidInput", "INVALID_INPUT")
        assert words in refused["message"], refused
    far = {"latitude": 39.95, "longitude": 116.3975, "accuracyMeters": 20}
    too_far = stamp(server, token, "checkIn", service, code=code, location=far)
    assert (too_far["__typename"], too_far["code"]) == ("Rejected", "TOO_FAR_FROM_SITE")
    assert "500 米" in too_far["message"]
    records = server.gql(
        token,
        """query($m: UUID!) { member(id: $m) { serviceRecords { serviceId status taskTitle
        communityName place presenceVerified } } }""",
        m=who,
    )
    [record] = records["data"]["member"]["serviceRecords"]
    assert record["status"] == "CLAIMED" and record["presenceVerified"] is False
    assert (record["taskTitle"], record["communityName"], record["place"]) == (
        "楼道清扫",
        "现场社区",
        "社区广场",
    )
    near = {"latitude": 39.9090, "longitude": 116.3978, "accuracyMeters": 15}
    assert stamp(server, token, "checkIn", service, code=code, location=near)["__typename"] == (
        "Receipt"
    )


def test_a_member_withdraws_before_the_start_and_not_after(
    server: Server, place: dict[str, Any]
) -> None:
    who, token = member(server, place)
    tomorrow = task(server, place, datetime.now(UTC) + timedelta(days=1))
    started = task(server, place, datetime.now(UTC) - timedelta(minutes=1))
    withdraw = f"""mutation($s: UUID!) {{ withdrawClaim(serviceId: $s) {{ {RESULT} }} }}"""
    late = server.gql(token, withdraw, s=claim(server, token, started, who))["data"]
    assert (late["withdrawClaim"]["__typename"], late["withdrawClaim"]["code"]) == (
        "InvalidTransition",
        "CLAIM_WITHDRAWAL_TOO_LATE",
    )
    assert "不能再退出" in late["withdrawClaim"]["message"]
    service = claim(server, token, tomorrow, who)
    others = server.gql(place["staff"], withdraw, s=service)["data"]["withdrawClaim"]
    assert others["__typename"] == "Forbidden"  # a member withdraws for themself only
    withdrawn = ok(server.gql(token, withdraw, s=service), "withdrawClaim")
    board = claimants(server, place["staff"], place["community"], withdrawn["position"])
    [row] = [t for t in board["data"]["communityBoard"]["openTasks"] if t["taskId"] == tomorrow]
    assert row["placesLeft"] == 5 and row["claimants"] == []
    assert claim(server, token, tomorrow, who) == service  # signing up again: the same record


def test_another_communitys_task_answers_as_an_unknown_one(
    server: Server, place: dict[str, Any]
) -> None:
    task_id = task(server, place, datetime.now(UTC) + timedelta(days=2))
    unknown = str(uuid.uuid4())
    other = place["other_staff"]
    assert shown(server, other, task_id) == shown(server, other, unknown)
    assert shown(server, other, task_id)["__typename"] == "Forbidden"
    edit = f"""mutation($t: UUID!) {{ editTask(taskId: $t, title: "改名") {{ {RESULT} }} }}"""
    theirs = server.gql(other, edit, t=task_id)["data"]["editTask"]
    assert theirs == server.gql(other, edit, t=unknown)["data"]["editTask"]
    assert theirs["__typename"] == "Forbidden"
    refused = claimants(server, other, place["community"], 0)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    edited = ok(server.gql(place["staff"], edit, t=task_id), "editTask")
    who, token = member(server, place)
    claim(server, token, task_id, who)
    closed = server.gql(place["staff"], edit, t=task_id)["data"]["editTask"]
    assert closed["code"] == "TASK_ALREADY_CLAIMED" and "已有成员认领" in closed["message"]
    assert edited["id"] == task_id


ISSUE = """mutation($m: UUID!) { issueSignIn(memberId: $m) { __typename
... on SignInCode { code memberName expiresAt qrSvg } ... on Problem { code message } } }"""
ACTIVATE = """mutation($c: String!, $d: String!) { activateSignIn(code: $c, device: $d) {
__typename ... on MemberSession { token memberId memberName communityName device }
... on Problem { code message } } }"""


def test_a_one_time_code_signs_a_phone_in_once(server: Server, place: dict[str, Any]) -> None:
    who, _ = member(server, place)
    foreign = server.gql(place["other_staff"], ISSUE, m=who)["data"]["issueSignIn"]
    assert foreign["__typename"] == "Forbidden"
    issued = server.gql(place["staff"], ISSUE, m=who)["data"]["issueSignIn"]
    assert issued["__typename"] == "SignInCode" and len(issued["code"]) == 8
    assert not set(issued["code"]) & set("01OI") and "<svg" in issued["qrSvg"]
    assert issued["memberName"].startswith("签到居民") and issued["expiresAt"].endswith("+08:00")
    session = server.gql(None, ACTIVATE, c=issued["code"].lower(), d="手机 2026-12-08")
    phone = session["data"]["activateSignIn"]
    assert phone["__typename"] == "MemberSession", phone
    assert (phone["memberId"], phone["communityName"], phone["device"]) == (
        who,
        "现场社区",
        "手机 2026-12-08",
    )
    again = server.gql(None, ACTIVATE, c=issued["code"], d="另一部手机")["data"]
    assert again["activateSignIn"]["code"] == "SIGN_IN_CODE_INVALID"
    assert "登录码无效、已使用或已过期" in again["activateSignIn"]["message"]
    made_up = server.gql(None, ACTIVATE, c="ABCD2345", d="另一部手机")["data"]["activateSignIn"]
    assert made_up == again["activateSignIn"]
    devices = """query($m: UUID!) { member(id: $m) { name devices { tokenId device revoked } } }"""
    mine = server.gql(phone["token"], devices, m=who)
    assert "errors" not in mine, mine
    [device] = [d for d in mine["data"]["member"]["devices"] if d["device"] == "手机 2026-12-08"]
    assert device["revoked"] is False
    revoke = f"""mutation($m: UUID!, $t: String!) {{ revokeSignIn(memberId: $m, tokenId: $t)
    {{ {RESULT} }} }}"""
    assert (
        server.gql(place["other_staff"], revoke, m=who, t=device["tokenId"])["data"][
            "revokeSignIn"
        ]["__typename"]
        == "Forbidden"
    )
    ok(server.gql(place["staff"], revoke, m=who, t=device["tokenId"]), "revokeSignIn")
    listed = server.gql(place["staff"], devices, m=who)["data"]["member"]["devices"]
    assert {d["tokenId"]: d["revoked"] for d in listed}[device["tokenId"]] is True
    again = server.gql(place["staff"], revoke, m=who, t=device["tokenId"])["data"]["revokeSignIn"]
    assert (again["__typename"], again["code"]) == ("NotFound", "UNKNOWN_DEVICE")
    foreign_token = server.gql(place["staff"], revoke, m=who, t=str(uuid.uuid4()))["data"]
    assert foreign_token["revokeSignIn"]["code"] == "UNKNOWN_DEVICE"


def test_a_retried_issue_does_not_show_the_code_again(
    server: Server, place: dict[str, Any]
) -> None:
    who, _ = member(server, place)
    keyed = """mutation($m: UUID!) { issueSignIn(memberId: $m, key: "issue-once") { __typename
    ... on SignInCode { code } ... on Problem { code message } } }"""
    first = server.gql(place["staff"], keyed, m=who)["data"]["issueSignIn"]
    assert first["__typename"] == "SignInCode"
    retried = server.gql(place["staff"], keyed, m=who)["data"]["issueSignIn"]
    assert (retried["__typename"], retried["code"]) == (
        "InvalidTransition",
        "SIGN_IN_CODE_SHOWN_ONCE",
    )
    assert "只显示一次" in retried["message"]
    taken = server.gql(None, ACTIVATE, c=first["code"], d="手机")["data"]["activateSignIn"]
    assert taken["__typename"] == "MemberSession"  # the first code is the one in force
