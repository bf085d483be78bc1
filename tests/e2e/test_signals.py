"""Anti-formalism signals over HTTP, each with the records behind it: signed in and left,
refused times, rotating units, hard tasks nobody took, members under the floor."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from ledger.domain.values import Role
from tests.e2e.conftest import Server
from tests.e2e.test_story import RECEIPT, ok

_names = itertools.count()
SIGNALS = """query($p: String!, $c: UUID, $u: UUID, $w: Int) {
  formalismSignals(period: $p, communityId: $c, unitId: $u, waitFor: $w) {
    period
    signedInAndLeft { serviceId memberId unitId title checkedInAt checkedOutAt }
    signedInAndLeftTotal
    refusedTimes { serviceId memberId action code reason at }
    refusedTimesTotal
    rotation { unitId members oneOff services oneOffShare memberServices { memberId services } }
    rotationTotal
    hardUntaken { taskId title }
    hardUntakenTotal
    underFloor { memberId hours annualFloorHours }
    underFloorTotal
  } }"""


class Place:
    def __init__(self, server: Server) -> None:
        self.server, self.admin = server, server.admin
        street = self.do("registerStreet", 'name: "预警街道"')
        self.community = self.do("registerCommunity", f'streetId: "{street}", name: "预警社区"')
        self.position = 0

    def do(self, field: str, args: str) -> str:
        result = ok(
            self.server.gql(self.admin, f"mutation {{ {field}({args}) {{ {RECEIPT} }} }}"), field
        )
        self.position = max(getattr(self, "position", 0), result["position"] or 0)
        found: str = result["id"]
        return found

    def unit(self, members: int) -> tuple[str, list[str]]:
        unit = self.do(
            "registerUnit",
            f'name: "单位{next(_names)}", kind: ORGAN, communities: ["{self.community}"]',
        )
        people = []
        for _ in range(members):
            member = self.do(
                "registerMember",
                f'kind: PARTY_MEMBER, name: "党员{next(_names)}", '
                f'communityId: "{self.community}", unitId: "{unit}"',
            )
            self.do("reportMember", f'memberId: "{member}", on: "2026-01-05"')
            people.append(member)
        return unit, people

    def task(self, category: str, day: int, hours: int = 2, capacity: int = 5) -> str:
        return self.do(
            "publishTask",
            f'communityId: "{self.community}", title: "{category}{day}", category: "{category}", '
            f'startsAt: "2026-04-{day:02d}T09:00:00+08:00", '
            f'endsAt: "2026-04-{day:02d}T{9 + hours:02d}:00:00+08:00", capacity: {capacity}',
        )

    def serve(self, task: str, member: str, day: int, minutes: int) -> str:
        service = self.do("claimTask", f'taskId: "{task}", memberId: "{member}"')
        self.do("checkIn", f'serviceId: "{service}", at: "2026-04-{day:02d}T09:00:00+08:00"')
        out = f"2026-04-{day:02d}T{9 + minutes // 60:02d}:{minutes % 60:02d}:00+08:00"
        self.do("checkOut", f'serviceId: "{service}", at: "{out}"')
        self.do("rateService", f'serviceId: "{service}", rating: GOOD')
        return service

    def signals(self, token: str, period: str, **scope: str) -> dict[str, Any]:
        result = self.server.gql(token, SIGNALS, p=period, w=self.position, **scope)
        assert "errors" not in result, result
        found: dict[str, Any] = result["data"]["formalismSignals"]
        return found


@pytest.fixture(scope="module")
def place(server: Server) -> dict[str, Any]:
    at = Place(server)
    rotating, day_trippers = at.unit(5)
    steady, (worker, poser) = at.unit(2)
    for n, member in enumerate(day_trippers):  # one a day, each once: 一天一轮换
        at.serve(at.task("巡逻", 1 + n), member, 1 + n, 120)
    for day in (1, 2, 3):
        at.serve(at.task("应急保障", 10 + day, hours=4), worker, 10 + day, 240)
    left = at.serve(at.task("应急保障", 20, hours=4), poser, 20, 10)  # ten minutes of four hours
    early = at.do("claimTask", f'taskId: "{at.task("矛盾调解", 21)}", memberId: "{worker}"')
    refused = at.server.gql(
        at.admin,
        f"""mutation {{ checkIn(serviceId: "{early}", at: "2026-04-21T06:00:00+08:00")
        {{ __typename ... on Problem {{ code }} }} }}""",
    )["data"]["checkIn"]
    assert refused == {"__typename": "Rejected", "code": "OUTSIDE_TASK_WINDOW"}
    untaken = at.task("楼栋长", 25)
    return {
        "at": at,
        "rotating": rotating,
        "day_trippers": day_trippers,
        "steady": steady,
        "worker": worker,
        "poser": poser,
        "left": left,
        "early": early,
        "untaken": untaken,
    }


def test_a_communitys_signals_list_the_records_behind_them(place: dict[str, Any]) -> None:
    at: Place = place["at"]
    found = at.signals(at.admin, "2026-04", c=at.community)
    assert [(s["serviceId"], s["memberId"]) for s in found["signedInAndLeft"]] == [
        (place["left"], place["poser"])
    ]
    assert found["signedInAndLeftTotal"] == 1
    [refusal] = found["refusedTimes"]
    assert (refusal["serviceId"], refusal["action"], refusal["code"]) == (
        place["early"],
        "签到",
        "OUTSIDE_TASK_WINDOW",
    )
    assert "签到最早可在开始前" in refusal["reason"]
    [rotating] = found["rotation"]
    assert (rotating["unitId"], rotating["members"], rotating["oneOff"]) == (
        place["rotating"],
        5,
        5,
    )
    assert sorted(m["memberId"] for m in rotating["memberServices"]) == sorted(
        place["day_trippers"]
    )
    assert {m["services"] for m in rotating["memberServices"]} == {1}
    assert [t["taskId"] for t in found["hardUntaken"]] == [place["untaken"]]
    assert found["underFloor"] == []  # a month: the floor is a year's
    board = at.server.gql(
        at.admin,
        "query($c: UUID!, $w: Int) { communityBoard(communityId: $c, waitFor: $w) "
        "{ byUnit { unitId services hours } } }",
        c=at.community,
        w=at.position,
    )["data"]["communityBoard"]["byUnit"]
    # The board's service by unit counts real service only: the ten minutes are not one.
    assert {u["unitId"]: (u["services"], u["hours"]) for u in board} == {
        place["rotating"]: (5, "10.0"),
        place["steady"]: (3, "12.0"),
    }


def test_a_year_lists_the_members_under_the_floor(place: dict[str, Any]) -> None:
    at: Place = place["at"]
    found = at.signals(at.admin, "2026", c=at.community)
    under = {m["memberId"]: m["hours"] for m in found["underFloor"]}
    # Nobody here served 20 hours: the steady worker 12, the day trippers 2 each, the
    # one who signed in and left nothing.
    assert under == {
        place["worker"]: "12.0",
        place["poser"]: "0.0",
        **dict.fromkeys(place["day_trippers"], "2.0"),
    }
    assert found["underFloorTotal"] == 7


def test_a_units_signals_are_its_members_and_only_its_own_token_reads_them(
    server: Server, place: dict[str, Any]
) -> None:
    at: Place = place["at"]
    own = server.token(Role.UNIT, place["steady"])
    found = at.signals(own, "2026-04", u=place["steady"])
    assert [s["serviceId"] for s in found["signedInAndLeft"]] == [place["left"]]
    assert [r["serviceId"] for r in found["refusedTimes"]] == [place["early"]]
    assert found["rotation"] == []  # the steady unit does not rotate
    other = server.gql(
        server.token(Role.UNIT, place["rotating"]), SIGNALS, p="2026-04", u=place["steady"]
    )
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    both = server.gql(at.admin, SIGNALS, p="2026", c=at.community, u=place["steady"])
    assert both["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
