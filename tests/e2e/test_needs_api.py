"""A resident's need over HTTP: raised on the member's phone, accepted, dispatched and
closed by the community, rated by the resident, counted in the satisfaction rate; every
step named and timed in China Standard Time, every refusal in Chinese."""

from __future__ import annotations

import itertools
from typing import Any

import psycopg
import pytest

from api.auth import create_token
from ledger.domain.values import Role
from tests.e2e.conftest import Server
from tests.e2e.test_story import RECEIPT, ok

_keys = itertools.count()
NEED = """needId communityName gridName category description place raisedByName raisedAt
status statusName taskId taskTitle closingNote satisfaction satisfactionName
satisfactionComment steps { at statusName byName note }"""
BOARD = """query($c: UUID!, $w: Int) { communityBoard(communityId: $c, waitFor: $w) {
satisfaction { rated satisfied basicallySatisfied dissatisfied rate } } }"""


@pytest.fixture(scope="module")
def street(server: Server) -> dict[str, Any]:
    admin, g = server.admin, server.gql
    street = ok(
        g(admin, f'mutation {{ registerStreet(name: "点单街道") {{ {RECEIPT} }} }}'),
        "registerStreet",
    )
    communities = {}
    for name in ("和平社区", "友谊社区"):
        made = ok(
            g(
                admin,
                """mutation($s: UUID!, $n: String!) { registerCommunity(streetId: $s, name: $n,
                grids: ["一网格"]) { ... on Receipt { id created } } }""",
                s=street["id"],
                n=name,
            ),
            "registerCommunity",
        )
        communities[name] = made
    home = communities["和平社区"]
    resident, neighbour = (
        ok(
            g(
                admin,
                f"""mutation($c: UUID!, $g: UUID!, $n: String!) {{ registerMember(kind: RESIDENT,
                name: $n, communityId: $c, gridId: $g) {{ {RECEIPT} }} }}""",
                c=home["id"],
                g=home["created"][0],
                n=name,
            ),
            "registerMember",
        )["id"]
        for name in ("刘大妈", "陈阿姨")
    )
    worker = create_named_token(server, Role.COMMUNITY, home["id"], "和平社区网格员张丽")
    return {
        "home": home["id"],
        "away": communities["友谊社区"]["id"],
        "resident": resident,
        "member": server.token(Role.MEMBER, resident),
        "neighbour": server.token(Role.MEMBER, neighbour),
        "worker": worker,
        "other_worker": server.token(Role.COMMUNITY, communities["友谊社区"]["id"]),
    }


def create_named_token(server: Server, role: Role, scope: Any, name: str) -> str:
    return create_token(server.database_url, role, [scope], name)[1]


def send(server: Server, token: str, mutation: str, args: str, **variables: Any) -> dict[str, Any]:
    """A keyed mutation; the answer's receipt or problem (``__typename`` too)."""
    declared = ", ".join(f"${name}: {kind}" for name, kind in _types(variables))
    query = (
        f'mutation({declared}) {{ {mutation}({args}, key: "needs-{next(_keys)}") '
        f"{{ __typename {RECEIPT} }} }}"
    )
    result = server.gql(token, query, **variables)
    assert "errors" not in result, result
    answer: dict[str, Any] = result["data"][mutation]
    return answer


def _types(variables: dict[str, Any]) -> list[tuple[str, str]]:
    kinds = {
        "c": "UUID!",
        "n": "UUID!",
        "t": "UUID!",
        "g": "UUID",
        "s": "DateTime!",
        "e": "DateTime!",
        "d": "String!",
        "note": "String!",
    }
    return [(name, kinds.get(name, "String")) for name in variables]


def read_need(server: Server, token: str, need_id: str, position: int | None) -> Any:
    result = server.gql(
        token,
        f"query($id: UUID!, $w: Int) {{ need(id: $id, waitFor: $w) {{ {NEED} }} }}",
        id=need_id,
        w=position,
    )
    assert "errors" not in result, result
    return result["data"]["need"]


def test_a_need_goes_from_the_residents_phone_to_a_rated_close(
    server: Server, street: dict[str, Any]
) -> None:
    member, worker = street["member"], street["worker"]
    raised = send(
        server,
        member,
        "raiseNeed",
        'communityId: $c, description: $d, category: "扶老帮困", place: $p',
        c=street["home"],
        d="家里水管漏水,老人行动不便,需要帮忙联系维修",
        p="3号楼2单元501",
    )
    assert raised["__typename"] == "Receipt", raised
    need = raised["id"]
    seen = read_need(server, member, need, raised["position"])
    assert seen["raisedByName"] == "刘大妈"  # the member's own name, not an argument
    assert seen["communityName"] == "和平社区" and seen["gridName"] == "一网格"
    assert (seen["status"], seen["statusName"]) == ("RAISED", "待受理")
    assert seen["place"] == "3号楼2单元501"
    assert seen["raisedAt"].endswith("+08:00")

    accepted = send(server, worker, "acceptNeed", "needId: $n", n=need)
    assert accepted["__typename"] == "Receipt", accepted
    task = send(
        server,
        worker,
        "publishTask",
        'communityId: $c, title: "上门维修水管", category: "扶老帮困", '
        'startsAt: "2026-06-01T09:00:00+08:00", endsAt: "2026-06-01T11:00:00+08:00", capacity: 2',
        c=street["home"],
    )
    dispatched = send(
        server, worker, "dispatchNeed", "needId: $n, taskId: $t", n=need, t=task["id"]
    )
    assert dispatched["__typename"] == "Receipt", dispatched
    closed = send(
        server, worker, "closeNeed", "needId: $n, note: $note", n=need, note="已更换水管,漏水已止"
    )
    assert closed["__typename"] == "Receipt", closed
    rated = send(
        server,
        member,
        "rateNeed",
        "needId: $n, satisfaction: SATISFIED, comment: $m",
        n=need,
        m="师傅来得及时",
    )
    assert rated["__typename"] == "Receipt", rated

    seen = read_need(server, worker, need, rated["position"])
    assert (seen["status"], seen["statusName"]) == ("REVISITED", "已回访")
    assert seen["taskTitle"] == "上门维修水管" and seen["taskId"] == task["id"]
    assert seen["closingNote"] == "已更换水管,漏水已止"
    assert (seen["satisfaction"], seen["satisfactionName"]) == ("SATISFIED", "满意")
    assert seen["satisfactionComment"] == "师傅来得及时"
    steps = [(s["statusName"], s["byName"], s["note"]) for s in seen["steps"]]
    assert steps == [
        ("待受理", "刘大妈", None),
        ("已受理", "和平社区网格员张丽", None),
        ("已派单", "和平社区网格员张丽", "派单任务“上门维修水管”"),
        ("已办结", "和平社区网格员张丽", "已更换水管,漏水已止"),
        ("已回访", "刘大妈", "满意:师傅来得及时"),
    ]
    assert all(s["at"].endswith("+08:00") for s in seen["steps"])

    mine = server.gql(member, "{ myNeeds { needId statusName } }")["data"]["myNeeds"]
    assert mine == [{"needId": need, "statusName": "已回访"}]
    listed = server.gql(
        worker,
        "query($c: UUID!) { needs(communityId: $c, status: REVISITED) { needId } }",
        c=street["home"],
    )["data"]["needs"]
    assert need in [n["needId"] for n in listed]

    again = send(server, worker, "closeNeed", "needId: $n, note: $note", n=need, note="再办一次")
    assert again["code"] == "NEED_ALREADY_CLOSED" and "已办结" in again["message"], again


def test_the_satisfaction_rate_counts_the_residents_verdicts(
    server: Server, street: dict[str, Any]
) -> None:
    worker = street["worker"]
    before = server.gql(worker, BOARD, c=street["home"])["data"]["communityBoard"]["satisfaction"]
    for verdict in ("SATISFIED", "DISSATISFIED"):
        need = send(
            server,
            worker,
            "raiseNeed",
            'communityId: $c, description: $d, raisedBy: "王大爷"',
            c=street["home"],
            d="楼道灯坏了",
        )["id"]
        send(server, worker, "closeNeed", "needId: $n, note: $note", n=need, note="已修好")
        rated = send(server, worker, "rateNeed", f"needId: $n, satisfaction: {verdict}", n=need)
        assert rated["__typename"] == "Receipt", rated
    after = server.gql(worker, BOARD, c=street["home"], w=rated["position"])
    after = after["data"]["communityBoard"]["satisfaction"]
    assert after["rated"] == before["rated"] + 2
    assert after["satisfied"] == before["satisfied"] + 1
    assert after["dissatisfied"] == before["dissatisfied"] + 1
    expected = (after["satisfied"] + after["basicallySatisfied"]) / after["rated"]
    assert float(after["rate"]) == pytest.approx(expected, abs=1e-4)


def test_a_need_is_rated_only_after_it_is_closed(server: Server, street: dict[str, Any]) -> None:
    need = send(
        server,
        street["member"],
        "raiseNeed",
        "communityId: $c, description: $d",
        c=street["home"],
        d="小区门口垃圾堆放",
    )["id"]
    early = send(
        server, street["member"], "rateNeed", "needId: $n, satisfaction: SATISFIED", n=need
    )
    assert early["__typename"] == "InvalidTransition"
    assert early["code"] == "NEED_NOT_CLOSED" and "办结后" in early["message"]


def test_another_communitys_need_answers_as_an_unknown_one(
    server: Server, street: dict[str, Any]
) -> None:
    need = send(
        server,
        street["member"],
        "raiseNeed",
        "communityId: $c, description: $d",
        c=street["home"],
        d="想请人教用智能手机",
    )
    unknown = "00000000-0000-4000-8000-000000000000"
    other = street["other_worker"]
    for mutation, args in (
        ("acceptNeed", "needId: $n"),
        ("closeNeed", 'needId: $n, note: "办了"'),
        ("rateNeed", "needId: $n, satisfaction: SATISFIED"),
    ):
        theirs = send(server, other, mutation, args, n=need["id"])
        nobodys = send(server, other, mutation, args, n=unknown)
        assert theirs == nobodys and theirs["code"] == "FORBIDDEN", (theirs, nobodys)
    publish = (
        'communityId: $c, title: "教用手机", category: "技能培训", capacity: 1, needId: $n, '
        'startsAt: "2026-06-02T09:00:00+08:00", endsAt: "2026-06-02T10:00:00+08:00"'
    )
    theirs, nobodys = (
        send(server, other, "publishTask", publish, c=street["away"], n=n)
        for n in (need["id"], unknown)
    )
    assert theirs["code"] == nobodys["code"] == "FORBIDDEN"
    assert theirs["message"].replace(need["id"], unknown) == nobodys["message"]
    assert read_need(server, other, need["id"], need["position"]) is None
    assert read_need(server, other, unknown, None) is None
    refused = server.gql(
        other, "query($c: UUID!) { needs(communityId: $c) { needId } }", c=street["home"]
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # a member raises needs only where they live, and reads only their own
    away = send(
        server,
        street["member"],
        "raiseNeed",
        "communityId: $c, description: $d",
        c=street["away"],
        d="别处的事",
    )
    assert away["code"] == "FORBIDDEN"
    assert read_need(server, street["neighbour"], need["id"], None) is None
    theirs = send(
        server, street["neighbour"], "rateNeed", "needId: $n, satisfaction: SATISFIED", n=need["id"]
    )
    assert theirs["code"] == "FORBIDDEN"


def test_an_over_long_description_is_refused_in_chinese_and_nothing_is_written(
    server: Server, street: dict[str, Any]
) -> None:
    def events() -> int:
        with psycopg.connect(server.database_url) as conn:
            row = conn.execute("SELECT count(*) FROM ledger_events").fetchone()
        assert row is not None
        return int(row[0])

    before = events()
    for args, variables, message in (
        ("communityId: $c, description: $d", {"d": "漏" * 501}, "需求描述不能超过 500 个字"),
        ("communityId: $c, description: $d", {"d": "\u200b\u200b"}, "需求描述不能为空"),
        (
            "communityId: $c, description: $d, place: $p",
            {"d": "修灯", "p": "楼" * 101},
            "服务地点不能超过 100 个字",
        ),
    ):
        refused = send(server, street["member"], "raiseNeed", args, c=street["home"], **variables)
        assert refused["__typename"] == "InvalidInput", refused
        assert refused["message"].startswith(message), refused
    need = send(
        server,
        street["worker"],
        "raiseNeed",
        'communityId: $c, description: "修灯", raisedBy: "王大爷"',
        c=street["home"],
    )["id"]
    send(server, street["worker"], "closeNeed", "needId: $n, note: $note", n=need, note="修好了")
    middle = events()
    refused = send(
        server,
        street["worker"],  # recording what the resident said on the phone
        "rateNeed",
        "needId: $n, satisfaction: DISSATISFIED, comment: $m",
        n=need,
        m="差" * 501,
    )
    assert refused["message"].startswith("评价意见不能超过 500 个字"), refused
    assert events() == middle
    assert middle > before  # the need raised and closed: the count moves when events are written


def test_a_communitys_needs_come_newest_first_a_page_at_a_time(
    server: Server, street: dict[str, Any]
) -> None:
    worker = street["worker"]
    raised = [
        send(
            server,
            worker,
            "raiseNeed",
            'communityId: $c, description: $d, raisedBy: "居民"',
            c=street["home"],
            d=f"第{n}件事",
        )
        for n in range(3)
    ]
    query = """query($c: UUID!, $a: UUID, $w: Int) { needs(communityId: $c, first: 2,
    after: $a, status: RAISED, waitFor: $w) { needId description statusName } }"""
    first = server.gql(worker, query, c=street["home"], a=None, w=raised[-1]["position"])
    page = first["data"]["needs"]
    assert [n["description"] for n in page] == ["第2件事", "第1件事"]
    assert {n["statusName"] for n in page} == {"待受理"}
    after = server.gql(worker, query, c=street["home"], a=page[-1]["needId"], w=None)
    assert after["data"]["needs"][0]["description"] == "第0件事"
    assert raised[0]["id"] not in [n["needId"] for n in page]
