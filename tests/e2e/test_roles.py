"""Every role against every kind of operation: allowed ones run, the rest are refused."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from ledger.domain.values import Role
from tests.e2e.conftest import Server
from tests.e2e.test_story import RECEIPT, ok

ROLES = (
    "admin",
    "community",
    "other_community",
    "unit",
    "kiosk",
    "auditor",
    "member",
    "other_member",
)
_keys = itertools.count()


@pytest.fixture(scope="module")
def world(server: Server) -> dict[str, Any]:
    admin, g = server.admin, server.gql
    street = ok(
        g(admin, f'mutation {{ registerStreet(name: "权限街道") {{ {RECEIPT} }} }}'),
        "registerStreet",
    )["id"]
    home, away = (
        ok(
            g(
                admin,
                f"""mutation($s: UUID!, $n: String!) {{ registerCommunity(streetId: $s,
            name: $n) {{ {RECEIPT} }} }}""",
                s=street,
                n=name,
            ),
            "registerCommunity",
        )["id"]
        for name in ("甲社区", "乙社区")
    )
    unit = ok(
        g(
            admin,
            f"""mutation($c: UUID!) {{ registerUnit(name: "权限单位", kind: OTHER,
        communities: [$c]) {{ {RECEIPT} }} }}""",
            c=home,
        ),
        "registerUnit",
    )["id"]
    member, other_member = (
        ok(
            g(
                admin,
                f"""mutation($c: UUID!, $u: UUID!) {{ registerMember(kind: PARTY_MEMBER,
            name: "王五", communityId: $c, unitId: $u) {{ {RECEIPT} }} }}""",
                c=home,
                u=unit,
            ),
            "registerMember",
        )["id"]
        for _ in range(2)
    )
    task = ok(
        g(
            admin,
            f"""mutation($c: UUID!) {{ publishTask(communityId: $c, title: "巡逻",
        category: "巡逻", startsAt: "2026-06-01T09:00:00+08:00",
        endsAt: "2026-06-01T10:00:00+08:00", capacity: 100) {{ {RECEIPT} }} }}""",
            c=home,
        ),
        "publishTask",
    )["id"]
    away_member = ok(
        g(
            admin,
            f"""mutation($c: UUID!) {{ registerMember(kind: RESIDENT, name: "赵六",
            communityId: $c) {{ {RECEIPT} }} }}""",
            c=away,
        ),
        "registerMember",
    )["id"]
    item = ok(
        g(
            admin,
            f"""mutation($c: UUID!) {{ listItem(communityId: $c, name: "毛巾",
        price: "1") {{ {RECEIPT} }} }}""",
            c=home,
        ),
        "listItem",
    )["id"]
    tokens = {
        "admin": admin,
        "community": server.token(Role.COMMUNITY, home),
        "other_community": server.token(Role.COMMUNITY, away),
        "unit": server.token(Role.UNIT, unit),
        "kiosk": server.token(Role.KIOSK, home),
        "auditor": server.token(Role.AUDITOR),
        "member": server.token(Role.MEMBER, member),
        "other_member": server.token(Role.MEMBER, other_member),
    }
    need = ok(
        g(
            tokens["member"],
            f"""mutation($c: UUID!) {{ raiseNeed(communityId: $c, description: "楼道灯坏了")
            {{ {RECEIPT} }} }}""",
            c=home,
        ),
        "raiseNeed",
    )["id"]
    return {
        "home": home,
        "unit": unit,
        "member": member,
        "need": need,
        "away_member": away_member,
        "task": task,
        "item": item,
        "street": street,
        "tokens": tokens,
    }


Operation = Callable[[dict[str, Any]], tuple[str, dict[str, Any], str]]

OPERATIONS: dict[str, tuple[Operation, set[str]]] = {
    "register a street": (
        lambda w: (
            f'mutation {{ registerStreet(name: "新街道") {{ __typename {RECEIPT} }} }}',
            {},
            "registerStreet",
        ),
        {"admin"},
    ),
    "publish a task in the community": (
        lambda w: (
            f"""mutation($c: UUID!) {{ publishTask(communityId: $c, title: "清洁",
            category: "清洁卫生", startsAt: "2026-06-02T09:00:00+08:00",
            endsAt: "2026-06-02T10:00:00+08:00", capacity: 2) {{ __typename {RECEIPT} }} }}""",
            {"c": w["home"]},
            "publishTask",
        ),
        {"admin", "community"},
    ),
    "list goods in its store": (
        lambda w: (
            f"""mutation($c: UUID!) {{ listItem(communityId: $c, name: "肥皂",
            price: "2") {{ __typename {RECEIPT} }} }}""",
            {"c": w["home"]},
            "listItem",
        ),
        {"admin", "community"},
    ),
    "claim a task for the member": (
        lambda w: (
            f"""mutation($t: UUID!, $m: UUID!) {{ claimTask(taskId: $t, memberId: $m)
            {{ __typename {RECEIPT} }} }}""",
            {"t": w["task"], "m": w["member"]},
            "claimTask",
        ),
        {"admin", "community", "member"},
    ),
    "redeem at the store": (
        lambda w: (
            """mutation($s: UUID!, $m: UUID!, $k: String!, $i: UUID!) { redeem(
            storeId: $s, memberId: $m, key: $k, lines: [{itemId: $i, quantity: 1}])
            { __typename ... on Problem { code } } }""",
            {"s": w["home"], "m": w["member"], "i": w["item"], "k": f"k{next(_keys)}"},
            "redeem",
        ),
        {"admin", "community", "kiosk"},
    ),
    "review the member": (
        lambda w: (
            f"""mutation($c: UUID!, $m: UUID!) {{ reviewMember(communityId: $c,
            memberId: $m, year: 2031, grade: COMPETENT, comment: "好") {{ __typename {RECEIPT} }}
            }}""",
            {"c": w["home"], "m": w["member"]},
            "reviewMember",
        ),
        {"admin", "community"},
    ),
    "publish a policy version": (
        lambda w: (
            """mutation($p: JSON!) { publishPolicy(policy: $p, note: "x")
            { __typename ... on Problem { code } } }""",
            {"p": {}},
            "publishPolicy",
        ),
        {"admin"},
    ),
    "raise a need in the community": (
        lambda w: (
            f"""mutation($c: UUID!) {{ raiseNeed(communityId: $c, description: "修路灯",
            raisedBy: "居民") {{ __typename {RECEIPT} }} }}""",
            {"c": w["home"]},
            "raiseNeed",
        ),
        {"admin", "community", "member", "other_member"},
    ),
    "accept the member's need": (
        lambda w: (
            f"""mutation($n: UUID!) {{ acceptNeed(needId: $n) {{ __typename {RECEIPT} }} }}""",
            {"n": w["need"]},
            "acceptNeed",
        ),
        {"admin", "community"},
    ),
    "rate the member's need": (
        lambda w: (
            f"""mutation($n: UUID!) {{ rateNeed(needId: $n, satisfaction: SATISFIED)
            {{ __typename {RECEIPT} }} }}""",
            {"n": w["need"]},
            "rateNeed",
        ),
        {"admin", "community", "member"},
    ),
    "list the community's needs": (
        lambda w: (
            "query($c: UUID!) { needs(communityId: $c) { needId } }",
            {"c": w["home"]},
            "needs",
        ),
        {"admin", "auditor", "community"},
    ),
    "read one's own needs and messages": (
        lambda w: ("{ myNeeds { needId } inbox { id } }", {}, "myNeeds"),
        {"member", "other_member"},
    ),
    "read the member": (
        lambda w: ("query($m: UUID!) { member(id: $m) { name } }", {"m": w["member"]}, "member"),
        {"admin", "auditor", "community", "unit", "kiosk", "member"},
    ),
    "read the member's dossier": (
        lambda w: (
            "query($m: UUID!) { member(id: $m) { dossier(year: 2026) { points } } }",
            {"m": w["member"]},
            "member",
        ),
        {"admin", "auditor", "community", "unit", "member"},
    ),
    "list the community's members": (
        lambda w: (
            "query($c: UUID!) { members(communityId: $c) { id } }",
            {"c": w["home"]},
            "members",
        ),
        {"admin", "auditor", "community"},
    ),
    "read the member's points history": (
        lambda w: (
            "query($m: UUID!) { member(id: $m) { history { position } } }",
            {"m": w["member"]},
            "member",
        ),
        {"admin", "auditor", "community", "unit", "member"},  # a kiosk needs the balance only
    ),
    "read the member's year": (
        lambda w: (
            "query($m: UUID!) { member(id: $m) { year(year: 2026) { services } } }",
            {"m": w["member"]},
            "member",
        ),
        {"admin", "auditor", "community", "unit", "member"},
    ),
    "list the community's open tasks": (
        lambda w: (
            "query($c: UUID!) { openTasks(communityId: $c) { taskId } }",
            {"c": w["home"]},
            "openTasks",
        ),
        {"admin", "auditor", "community", "member", "other_member"},  # its residents
    ),
    "list all the community's tasks (the workbench)": (
        lambda w: (
            """query($c: UUID!) { tasks(communityId: $c, startsFrom: "2026-01-01T00:00:00+08:00",
            startsBefore: "2027-01-01T00:00:00+08:00") { taskId claimants { memberName } } }""",
            {"c": w["home"]},
            "tasks",
        ),
        {"admin", "auditor", "community"},  # who claimed is the community's to know
    ),
    "read the street's unit ranking": (
        lambda w: ('query { unitRanking(period: "2026") { unitId } }', {}, "unitRanking"),
        {"admin", "auditor", "unit"},
    ),
    "read the unit ranking of the community": (
        lambda w: (
            'query($c: UUID!) { unitRanking(period: "2026", communityId: $c) { unitId } }',
            {"c": w["home"]},
            "unitRanking",
        ),
        {"admin", "auditor", "community", "unit"},
    ),
    "redeem for a resident of another community": (
        lambda w: (
            """mutation($s: UUID!, $m: UUID!, $k: String!, $i: UUID!) { redeem(
            storeId: $s, memberId: $m, key: $k, lines: [{itemId: $i, quantity: 1}])
            { __typename ... on Problem { code } } }""",
            {"s": w["home"], "m": w["away_member"], "i": w["item"], "k": f"k{next(_keys)}"},
            "redeem",
        ),
        set(),  # a store serves the residents of its community
    ),
    "enrol a resident of another community in the community's task": (
        lambda w: (
            f"""mutation($t: UUID!, $m: UUID!) {{ claimTask(taskId: $t, memberId: $m)
            {{ __typename {RECEIPT} }} }}""",
            {"t": w["task"], "m": w["away_member"]},
            "claimTask",
        ),
        set(),  # a member serves where they live, or where their unit is paired
    ),
    "read the community board": (
        lambda w: (
            "query($c: UUID!) { communityBoard(communityId: $c) { redemptions } }",
            {"c": w["home"]},
            "communityBoard",
        ),
        {"admin", "auditor", "community"},
    ),
    "read the store catalogue": (
        lambda w: (
            "query($c: UUID!) { storeCatalogue(communityId: $c) { name } }",
            {"c": w["home"]},
            "storeCatalogue",
        ),
        {"admin", "auditor", "community", "kiosk"},
    ),
    "read the member's ledger entries": (
        lambda w: (
            "query($a: String!) { ledgerEntries(account: $a) { position } }",
            {"a": f"member:{w['member']}"},
            "ledgerEntries",
        ),
        {"admin", "auditor", "member"},
    ),
}


def refused(result: dict[str, Any], field: str) -> bool:
    errors = result.get("errors") or []
    if any(e.get("extensions", {}).get("code") == "FORBIDDEN" for e in errors):
        return True
    assert not errors, errors
    data = result["data"][field]
    # An admin is told why: the member lives elsewhere.
    return isinstance(data, dict) and (
        data.get("__typename") == "Forbidden"
        or data.get("code") in ("NOT_RESIDENT", "NOT_SERVING_HERE")
    )


@pytest.mark.parametrize("operation", OPERATIONS)
def test_each_role_may_do_exactly_what_its_scope_allows(
    server: Server, world: dict[str, Any], operation: str
) -> None:
    build, allowed = OPERATIONS[operation]
    outcome = {}
    for role in ROLES:
        query, variables, field = build(world)
        outcome[role] = not refused(server.gql(world["tokens"][role], query, **variables), field)
    assert outcome == {role: role in allowed for role in ROLES}
