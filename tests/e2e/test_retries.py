"""Every mutation is safe to retry, over HTTP: the same key and request give the first
result and move nothing; the same key with another request is refused."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx

from ledger.domain.policy import PointsPolicy
from ledger.domain.values import Role
from tests.e2e.conftest import Server

RESULT = """__typename ... on Receipt { id position created replayed }
... on Problem { code message }"""
_keys = itertools.count()


class Enum(str):
    """An enum value, written bare in a GraphQL document."""


def literal(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


class Retrier:
    """Sends each mutation three times: once, again with the same key, and with the
    same key but one argument changed."""

    def __init__(self, server: Server, token: str) -> None:
        self.server, self.token = server, token
        self.retried: list[str] = []

    def send(self, field: str, args: dict[str, Any], key: str, **variables: Any) -> Any:
        given = ", ".join(f"{name}: {literal(v)}" for name, v in args.items())
        declared = "".join(f", ${name}: JSON!" for name in variables)
        query = f"""mutation($k: String!{declared}) {{
            {field}({given}, key: $k) {{ {RESULT} }} }}"""
        result = self.server.gql(self.token, query, k=key, **variables)
        assert "errors" not in result, result
        return result["data"][field]

    def once(self, field: str, args: dict[str, Any]) -> Any:
        return self.send(field, args, f"once-{field}-{next(_keys)}")

    def __call__(
        self, field: str, args: dict[str, Any], other: dict[str, Any], **variables: Any
    ) -> dict[str, Any]:
        key = f"retry-{field}-{next(_keys)}"
        first = self.send(field, args, key, **variables)
        assert first["__typename"] == "Receipt" and first["replayed"] is False, (field, first)
        again = self.send(field, args, key, **variables)
        assert again == first | {"replayed": True}, (field, first, again)
        changed = self.send(field, args | other, key, **variables)
        assert changed["__typename"] == "IdempotencyKeyReused", (field, changed)
        assert changed["code"] == "IDEMPOTENCY_KEY_REUSED" and key in changed["message"]
        self.retried.append(field)
        result: dict[str, Any] = first
        return result


KEYED_MUTATIONS = {
    "registerStreet",
    "registerCommunity",
    "addGrid",
    "registerUnit",
    "pairUnit",
    "formTeam",
    "reportUnit",
    "registerMember",
    "reportMember",
    "moveMember",
    "correctMember",
    "reviewMember",
    "raiseNeed",
    "acceptNeed",
    "dispatchNeed",
    "closeNeed",
    "rateNeed",
    "publishTask",
    "claimTask",
    "checkIn",
    "checkOut",
    "confirmService",
    "rateService",
    "correctService",
    "listItem",
    "restockItem",
    "repriceItem",
    "cancelRedemption",
    "reverseService",
    "closeTask",
    "cancelTask",
    "publishPolicy",
    "editTask",
    "withdrawClaim",
    "revokeSignIn",
}
"""Every mutation that writes, but ``redeem`` (its key is required, and tested with the
kiosk), ``issueSignIn`` (its code is told once: a retry is told so, tested with the
sign-in), ``issueMemberCard`` (its answer is a secret told once: sending it again issues a
new card and retires the lost one), ``expirePoints`` (running it again moves nothing),
``myKioskCode`` (it writes nothing) and ``activateSignIn`` (no token, so no one's key:
a code is taken once whatever is sent)."""


def test_the_keyed_mutations_are_every_mutation_but_the_documented_few(server: Server) -> None:
    result = server.gql(
        server.admin,
        """{ __schema { mutationType { fields { name args { name type { kind ofType { name } } }
        } } } }""",
    )
    fields = result["data"]["__schema"]["mutationType"]["fields"]
    keyed = {f["name"] for f in fields if any(a["name"] == "key" for a in f["args"])}
    # redeem's and issueCertificate's retries are tested with the kiosk and the documents
    assert keyed == KEYED_MUTATIONS | {"redeem", "issueCertificate", "issueSignIn"}
    assert {f["name"] for f in fields} - keyed == {
        "issueMemberCard",
        "expirePoints",
        "myKioskCode",
        "activateSignIn",
        "publishCheckpoint",  # signs the head as it is when sent; the ledger is unchanged
    }


def test_every_mutation_retried_with_its_key_is_applied_once(server: Server) -> None:
    admin = Retrier(server, server.admin)
    street = admin("registerStreet", {"name": "重试街道"}, {"name": "别的街道"})["id"]
    registered = admin(
        "registerCommunity",
        {"streetId": street, "name": "重试社区", "grids": ["一网格", "二网格"]},
        {"name": "别的社区"},
    )
    community, grids = registered["id"], registered["created"]
    assert len(set(grids)) == 2
    neighbour = admin.once("registerCommunity", {"streetId": street, "name": "邻社区"})["id"]
    grid = admin("addGrid", {"communityId": community, "name": "三网格"}, {"name": "四网格"})
    assert grid["id"] not in grids
    unit = admin(
        "registerUnit",
        {"name": "重试单位", "kind": Enum("ORGAN"), "communities": [community]},
        {"name": "别的单位"},
    )["id"]
    admin("pairUnit", {"unitId": unit, "communityId": neighbour}, {"communityId": community})
    admin(
        "formTeam",
        {"unitId": unit, "communityId": community, "name": "先锋队"},
        {"name": "突击队"},
    )
    admin(
        "reportUnit",
        {"unitId": unit, "communityId": community, "on": "2026-01-05"},
        {"on": "2026-01-06"},
    )
    member = admin(
        "registerMember",
        {"kind": Enum("PARTY_MEMBER"), "name": "赵重试", "communityId": community, "unitId": unit},
        {"name": "钱重试"},
    )["id"]
    admin("reportMember", {"memberId": member, "on": "2026-01-10"}, {"on": "2026-01-11"})
    admin("moveMember", {"memberId": member, "gridId": grids[0]}, {"gridId": grids[1]})
    admin(
        "correctMember",
        {"memberId": member, "reason": "姓名录入有误", "name": "赵正", "phone": "13800001111"},
        {"name": "赵政"},
    )
    admin(
        "reviewMember",
        {
            "communityId": community,
            "memberId": member,
            "year": 2025,
            "grade": Enum("COMPETENT"),
            "comment": "认真",
        },
        {"grade": Enum("OUTSTANDING")},
    )
    need = admin(
        "raiseNeed",
        {"communityId": community, "raisedBy": "居民甲", "description": "楼道积水"},
        {"description": "路灯坏了"},
    )["id"]
    window = {"startsAt": "2026-05-01T09:00:00+08:00", "endsAt": "2026-05-01T13:00:00+08:00"}
    task = admin(
        "publishTask",
        {
            "communityId": community,
            "title": "排水",
            "category": "应急保障",
            "capacity": 2,
            "needId": need,
        }
        | window,
        {"capacity": 3},
    )["id"]
    other_need = admin.once(
        "raiseNeed", {"communityId": community, "raisedBy": "居民丙", "description": "井盖松动"}
    )["id"]
    admin("acceptNeed", {"needId": other_need}, {"needId": need})
    admin("dispatchNeed", {"needId": other_need, "taskId": task}, {"needId": need})
    admin("closeNeed", {"needId": need, "note": "积水已排"}, {"note": "排水完毕"})
    admin(
        "rateNeed",
        {"needId": need, "satisfaction": Enum("SATISFIED")},
        {"satisfaction": Enum("DISSATISFIED")},
    )
    second = admin.once(
        "registerMember", {"kind": Enum("RESIDENT"), "name": "孙重试", "communityId": community}
    )["id"]
    service = admin("claimTask", {"taskId": task, "memberId": member}, {"memberId": second})["id"]
    other_service = admin.once("claimTask", {"taskId": task, "memberId": second})["id"]
    admin(
        "checkIn",
        {"serviceId": service, "at": window["startsAt"]},
        {"at": "2026-05-01T09:05:00+08:00"},
    )
    admin(
        "checkOut",
        {"serviceId": service, "at": window["endsAt"]},
        {"at": "2026-05-01T12:55:00+08:00"},
    )
    admin("confirmService", {"serviceId": service}, {"serviceId": other_service})
    rated = admin(
        "rateService",
        {"serviceId": service, "rating": Enum("EXCELLENT")},
        {"rating": Enum("FAIR")},
    )
    admin(
        "correctService",
        {
            "serviceId": service,
            "reason": "复核评价",
            "approvedBy": "社区党委",
            "rating": Enum("GOOD"),
        },
        {"rating": Enum("FAIR")},
    )
    item = admin(
        "listItem",
        {"communityId": community, "name": "肥皂", "price": "2"},
        {"price": "3"},
    )["id"]
    admin("restockItem", {"itemId": item, "quantity": 5, "donor": "区财政局"}, {"quantity": 6})
    admin("repriceItem", {"itemId": item, "price": "1.5"}, {"price": "2.5"})
    redeemed = server.gql(
        server.admin,
        """mutation($s: UUID!, $m: UUID!, $i: UUID!) { redeem(storeId: $s, memberId: $m,
        key: "retry-redeem", lines: [{itemId: $i, quantity: 2}]) { ... on RedemptionReceipt
        { id } } }""",
        s=community,
        m=member,
        i=item,
    )["data"]["redeem"]["id"]
    admin(
        "cancelRedemption",
        {"redemptionId": redeemed, "reason": "顾客退货"},
        {"reason": "录入有误"},
    )
    admin(
        "reverseService",
        {"serviceId": service, "reason": "重复登记", "approvedBy": "街道党工委"},
        {"approvedBy": "社区党委"},
    )
    spare = admin(
        "publishTask",
        {"communityId": community, "title": "备用", "category": "巡逻", "capacity": 1} | window,
        {"title": "备用二"},
    )["id"]
    admin("editTask", {"taskId": spare, "place": "东门"}, {"place": "西门"})
    ahead = {"startsAt": "2030-05-01T09:00:00+08:00", "endsAt": "2030-05-01T11:00:00+08:00"}
    later = admin.once(
        "publishTask",
        {"communityId": community, "title": "以后", "category": "巡逻", "capacity": 2} | ahead,
    )["id"]
    phone = Retrier(server, server.token(Role.MEMBER, second))
    leaving = phone.once("claimTask", {"taskId": later, "memberId": second})["id"]
    phone("withdrawClaim", {"serviceId": leaving}, {"serviceId": other_service})
    issued = server.gql(
        server.admin,
        """mutation($m: UUID!) { issueSignIn(memberId: $m) { ... on SignInCode { code } } }""",
        m=second,
    )["data"]["issueSignIn"]["code"]
    signed_in = server.gql(
        None,
        """mutation($c: String!) { activateSignIn(code: $c, device: "重试手机") {
        ... on MemberSession { token } } }""",
        c=issued,
    )["data"]["activateSignIn"]["token"]
    devices = server.gql(
        signed_in, "query($m: UUID!) { member(id: $m) { devices { tokenId device } } }", m=second
    )["data"]["member"]["devices"]
    [device] = [d["tokenId"] for d in devices if d["device"] == "重试手机"]
    [other_device] = [d["tokenId"] for d in devices if d["device"] != "重试手机"]
    admin("revokeSignIn", {"memberId": second, "tokenId": device}, {"tokenId": other_device})
    admin("closeTask", {"taskId": spare}, {"taskId": task})
    admin("cancelTask", {"taskId": task, "reason": "改期"}, {"reason": "天气"})
    policy = PointsPolicy(version=2).to_data()
    published = admin(
        "publishPolicy",
        {"policy": Enum("$p"), "note": "第二版"},
        {"note": "第二版(改)"},
        p=policy,
    )
    assert set(admin.retried) | set(phone.retried) == KEYED_MUTATIONS

    # Nothing was applied twice: one award of 4 h x 2.0 x 1.2 = 9.6, corrected once to
    # 4 h x 2.0 x 1.0 = 8.0, reversed once;
    # five cakes of soap restocked once, two taken and given back once.
    state = server.gql(
        server.admin,
        """query($m: UUID!, $c: UUID!, $w: Int!) { member(id: $m, waitFor: $w) {
        balance earnedPoints } storeCatalogue(communityId: $c) { name stock price } }""",
        m=member,
        c=community,
        w=published["position"],
    )
    assert "errors" not in state, state
    assert state["data"]["member"] == {"balance": "0.0", "earnedPoints": "0.0"}
    assert state["data"]["storeCatalogue"] == [{"name": "肥皂", "stock": 5, "price": "1.5"}]
    assert rated["position"] < published["position"]


def test_a_key_belongs_to_the_token_that_sent_it_whatever_the_headers_say(
    server: Server,
) -> None:
    admin = Retrier(server, server.admin)
    street = admin("registerStreet", {"name": "键的街道"}, {"name": "键的另一街道"})["id"]
    community = admin.once("registerCommunity", {"streetId": street, "name": "键社区"})["id"]
    need = {"communityId": community, "raisedBy": "居民乙", "description": "电梯停运"}
    first = admin.send("raiseNeed", need, "shared-key")
    worker = Retrier(server, server.token(Role.COMMUNITY, community))
    other = worker.send("raiseNeed", need, "shared-key")
    assert other["__typename"] == "Receipt" and other["id"] != first["id"]
    assert other["replayed"] is False
    query = f"""mutation($k: String!, $c: UUID!) {{ raiseNeed(communityId: $c,
        raisedBy: "居民乙", description: "电梯停运", key: $k) {{ {RESULT} }} }}"""
    response = httpx.post(
        f"{server.base}/graphql",
        json={"query": query, "variables": {"k": "shared-key", "c": community}},
        headers={"Authorization": f"Bearer {server.admin}", "X-Device-Id": "pad-9"},
        timeout=30,
    )
    assert response.json()["data"]["raiseNeed"] == first | {"replayed": True}
