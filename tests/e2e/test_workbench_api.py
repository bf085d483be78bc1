"""What the community workbench reads beyond the board, over HTTP: a community's tasks of every
status in a window of start times, and the service categories of the rule book in force."""

from __future__ import annotations

from typing import Any

from ledger.domain.values import Role
from tests.e2e.conftest import Server

RECEIPT = "... on Receipt { id position } ... on Problem { code message }"
TASKS = """query($c: UUID!, $from: DateTime!, $to: DateTime!, $w: Int) {
  tasks(communityId: $c, startsFrom: $from, startsBefore: $to, waitFor: $w) {
    taskId title status } }"""


def created(server: Server, query: str, **variables: Any) -> dict[str, Any]:
    body = server.gql(server.admin, query, **variables)
    assert "errors" not in body, body
    (answer,) = body["data"].values()
    assert "id" in answer, answer
    return dict(answer)


def test_a_community_reads_its_tasks_of_every_status_in_a_window(server: Server) -> None:
    street = created(server, 'mutation { registerStreet(name: "工作台街道") { ' + RECEIPT + " } }")
    community, other = (
        created(
            server,
            "mutation($s: UUID!, $n: String!) { registerCommunity(streetId: $s, name: $n) { "
            + RECEIPT
            + " } }",
            s=street["id"],
            n=name,
        )["id"]
        for name in ("工作台社区", "隔壁社区")
    )
    publish = (
        "mutation($c: UUID!, $t: String!, $s: DateTime!, $e: DateTime!) { publishTask("
        'communityId: $c, title: $t, category: "巡逻", startsAt: $s, endsAt: $e, capacity: 2) { '
        + RECEIPT
        + " } }"
    )
    days = ("2097-03-01", "2097-03-02", "2097-03-09")
    tasks = [
        created(
            server,
            publish,
            c=community,
            t=f"巡逻{day}",
            s=f"{day}T09:00:00+08:00",
            e=f"{day}T11:00:00+08:00",
        )
        for day in days
    ]
    cancelled = created(
        server,
        'mutation($t: UUID!) { cancelTask(taskId: $t, reason: "下雨") { ' + RECEIPT + " } }",
        t=tasks[1]["id"],
    )
    token = server.token(Role.COMMUNITY, community)
    window = {"from": "2097-03-01T00:00:00+08:00", "to": "2097-03-09T00:00:00+08:00"}
    body = server.gql(token, TASKS, c=community, w=cancelled["position"], **window)
    assert body["data"]["tasks"] == [
        {"taskId": tasks[0]["id"], "title": "巡逻2097-03-01", "status": "OPEN"},
        {"taskId": tasks[1]["id"], "title": "巡逻2097-03-02", "status": "CANCELLED"},
    ]  # the third starts at the window's end: not in it

    stranger = server.token(Role.COMMUNITY, other)
    refused = server.gql(stranger, TASKS, c=community, **window)
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_the_publish_form_offers_the_rule_books_categories(server: Server) -> None:
    body = server.gql(server.admin, "{ taskCategories }")
    categories = body["data"]["taskCategories"]
    assert {"巡逻", "法律援助", "扶老帮困"} <= set(categories)
    assert len(categories) == len(set(categories))
