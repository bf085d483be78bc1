"""The member's inbox over HTTP: a task published in their grid, their claim, the points a
rated service earned, their need's progress, in Chinese words and China Standard Time;
nobody else's messages, and a task for another grid not at all."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from ledger.domain.values import CST, Role
from tests.e2e.conftest import Server
from tests.e2e.test_needs_api import create_named_token, send
from tests.e2e.test_story import RECEIPT, ok

INBOX = "query($w: Int) { inbox(waitFor: $w) { id at title body } }"


@pytest.fixture(scope="module")
def street(server: Server) -> dict[str, Any]:
    admin, g = server.admin, server.gql
    street = ok(
        g(admin, f'mutation {{ registerStreet(name: "消息街道") {{ {RECEIPT} }} }}'),
        "registerStreet",
    )
    community = ok(
        g(
            admin,
            """mutation($s: UUID!) { registerCommunity(streetId: $s, name: "长青社区",
            grids: ["东网格", "西网格"]) { ... on Receipt { id created } } }""",
            s=street["id"],
        ),
        "registerCommunity",
    )
    east, west = community["created"]
    members = {}
    for name, grid in (("周志愿", east), ("吴邻居", west)):
        members[name] = ok(
            g(
                admin,
                f"""mutation($c: UUID!, $g: UUID!, $n: String!) {{ registerMember(kind: VOLUNTEER,
                name: $n, communityId: $c, gridId: $g) {{ {RECEIPT} }} }}""",
                c=community["id"],
                g=grid,
                n=name,
            ),
            "registerMember",
        )["id"]
    return {
        "community": community["id"],
        "east": east,
        "member": members["周志愿"],
        "token": server.token(Role.MEMBER, members["周志愿"]),
        "neighbour": server.token(Role.MEMBER, members["吴邻居"]),
        "worker": create_named_token(server, Role.COMMUNITY, community["id"], "长青社区工作站"),
    }


def test_the_inbox_tells_a_member_of_a_task_their_points_and_their_needs_progress(
    server: Server, street: dict[str, Any]
) -> None:
    worker, member = street["worker"], street["token"]
    now = datetime.now(CST).replace(second=0, microsecond=0)
    start, end = now - timedelta(hours=2), now + timedelta(minutes=30)
    task = send(
        server,
        worker,
        "publishTask",
        'communityId: $c, title: "防汛值守", category: "应急保障", capacity: 3, '
        "gridId: $g, startsAt: $s, endsAt: $e",
        c=street["community"],
        g=street["east"],
        s=start.isoformat(),
        e=end.isoformat(),
    )
    assert task["__typename"] == "Receipt", task
    claimed = server.gql(
        member,
        f"""mutation($t: UUID!, $m: UUID!) {{ claimTask(taskId: $t, memberId: $m)
        {{ {RECEIPT} }} }}""",
        t=task["id"],
        m=street["member"],
    )
    service = ok(claimed, "claimTask")["id"]
    for field, at in (("checkIn", start), ("checkOut", now - timedelta(minutes=5))):
        done = server.gql(
            worker,
            f"""mutation($s: UUID!, $a: DateTime!) {{ {field}(serviceId: $s, at: $a)
            {{ {RECEIPT} }} }}""",
            s=service,
            a=at.isoformat(),
        )
        ok(done, field)
    rated = ok(
        server.gql(
            worker,
            f"""mutation($s: UUID!) {{ rateService(serviceId: $s, rating: EXCELLENT)
            {{ {RECEIPT} }} }}""",
            s=service,
        ),
        "rateService",
    )
    need = send(
        server,
        member,
        "raiseNeed",
        "communityId: $c, description: $d",
        c=street["community"],
        d="楼下路灯不亮,晚上出行不便",
    )["id"]
    accepted = send(server, worker, "acceptNeed", "needId: $n", n=need)
    closed = send(
        server, worker, "closeNeed", "needId: $n, note: $note", n=need, note="已联系物业更换灯泡"
    )

    messages = server.gql(member, INBOX, w=closed["position"])["data"]["inbox"]
    earned = server.gql(
        member, "query($m: UUID!) { member(id: $m) { earnedPoints } }", m=street["member"]
    )["data"]["member"]["earnedPoints"]
    assert float(earned) > 0
    titles = [m["title"] for m in messages]
    assert titles == ["需求已办结", "需求已受理", "服务已评价", "报名成功", "新任务:防汛值守"]
    by_title = {m["title"]: m["body"] for m in messages}
    assert "长青社区东网格发布了任务“防汛值守”(应急保障)" in by_title["新任务:防汛值守"]
    assert start.strftime("%Y-%m-%d %H:%M") in by_title["新任务:防汛值守"]  # CST, as read
    assert by_title["服务已评价"].startswith("您在任务“防汛值守”中的服务获评“很好”")
    assert f"获得 {earned} 积分" in by_title["服务已评价"]
    assert (
        by_title["需求已受理"] == "您提出的需求“楼下路灯不亮,晚上出行不便”已由社区受理,请等候安排。"
    )
    assert "已办结:已联系物业更换灯泡" in by_title["需求已办结"]
    assert all(m["at"].endswith("+08:00") for m in messages)
    assert len({m["id"] for m in messages}) == len(messages)
    assert rated["position"] < accepted["position"]

    # the neighbour in the west grid heard of none of it
    theirs = server.gql(street["neighbour"], INBOX, w=closed["position"])["data"]["inbox"]
    assert theirs == []


def test_only_a_member_token_has_an_inbox(server: Server, street: dict[str, Any]) -> None:
    refused = server.gql(street["worker"], INBOX, w=None)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "消息" in refused["errors"][0]["message"]
