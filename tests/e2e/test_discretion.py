"""A community publishes its own weights over HTTP, within the street's bounds."""

from __future__ import annotations

from ledger.domain.policy import PointsPolicy
from ledger.domain.values import Role
from tests.e2e.conftest import Server
from tests.e2e.test_story import RECEIPT, ok

PUBLISH = f"""mutation($p: JSON!, $c: UUID) {{ publishPolicy(policy: $p, note: "本社区权重",
    communityId: $c) {{ __typename {RECEIPT} ... on Receipt {{ replayed }} }} }}"""


def test_a_community_token_publishes_its_own_version_and_no_other(server: Server) -> None:
    street = ok(
        server.gql(
            server.admin, f'mutation {{ registerStreet(name: "权重街道") {{ {RECEIPT} }} }}'
        ),
        "registerStreet",
    )["id"]
    own, other = (
        ok(
            server.gql(
                server.admin,
                f"""mutation($s: UUID!, $n: String!) {{ registerCommunity(streetId: $s,
                name: $n) {{ {RECEIPT} }} }}""",
                s=street,
                n=name,
            ),
            "registerCommunity",
        )["id"]
        for name in ("甲社区", "乙社区")
    )
    base = PointsPolicy(version=2)
    heavier = base.to_data() | {"rating": {**base.to_data()["rating"], "EXCELLENT": "1.3"}}
    staff = server.token(Role.COMMUNITY, own)
    refused = server.gql(server.token(Role.COMMUNITY, other), PUBLISH, p=heavier, c=own)
    assert refused["data"]["publishPolicy"]["__typename"] == "Forbidden"
    street_wide = server.gql(staff, PUBLISH, p=heavier)  # no community: the street's book
    assert street_wide["data"]["publishPolicy"]["__typename"] == "Forbidden"
    too_much = heavier | {"rating": {**heavier["rating"], "FAIR": "0.3"}}
    beyond = server.gql(staff, PUBLISH, p=too_much, c=own)["data"]["publishPolicy"]
    assert beyond["code"] == "INVALID_POLICY" and "rating.FAIR" in beyond["message"]
    published = server.gql(staff, PUBLISH, p=heavier, c=own)["data"]["publishPolicy"]
    assert published["__typename"] == "Receipt" and published["replayed"] is False
