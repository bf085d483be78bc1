"""No existence oracle: every mutation that takes an id answers a scoped token the same
for a real id out of its scope as for an id that does not exist. The sweep walks the
mutations of schema.graphql (which a test keeps equal to the served schema)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    build_schema,
    get_named_type,
)

from api.auth import create_token
from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.domain.values import CST, Context, MemberKind, Role, UnitKind
from tests.e2e.conftest import Server
from tests.support import earn

ADMIN = Context(actor_id="test", role=Role.ADMIN)
SCHEMA = build_schema((Path(__file__).parents[2] / "schema.graphql").read_text(encoding="utf-8"))
KIND_OF_ID = {
    "communityId": "community",
    "communities": "community",
    "storeId": "community",
    "gridId": "grid",
    "needId": "need",
    "memberId": "member",
    "taskId": "task",
    "serviceId": "service",
    "itemId": "item",
    "redemptionId": "redemption",
    "unitId": "unit",
    "streetId": "street",
}
PUBLIC_KINDS = {"unit", "street"}
"""Units and streets are named to every token (rankings, pages): no unit or street is
out of anyone's scope, so there is nothing to hide about one."""
TEXT = {
    "category": "巡逻",
    "startsAt": "2026-06-01T09:00:00+08:00",
    "endsAt": "2026-06-01T10:00:00+08:00",
    "on": "2026-06-01",
    "start": "2026-01-01",
    "end": "2026-12-31",
    "price": "1",
    "raisedBy": "居民",
}
"""Text by argument name; an optional argument named here is sent too (a worker gives
whose need it is)."""
_keys = itertools.count()


def _world(ledger: Ledger, street: UUID, unit: UUID, name: str) -> dict[str, UUID]:
    """One community with one of everything a mutation can name."""
    made = ledger.register_community(street, name, ADMIN, grids=["一网格"])
    community, (grid,) = made.id, made.created
    ledger.pair_unit(unit, community, ADMIN)
    member = ledger.register_member(
        MemberKind.PARTY_MEMBER, "王五", community, ADMIN, unit_id=unit
    ).id
    earn(ledger, community, member, datetime(2026, 5, 1, 9, tzinfo=CST), ADMIN)
    task = ledger.publish_task(
        community,
        "巡逻",
        "巡逻",
        datetime(2026, 6, 1, 9, tzinfo=CST),
        datetime(2026, 6, 1, 10, tzinfo=CST),
        5,
        ADMIN,
    ).id
    item = ledger.list_item(community, "毛巾", "1", ADMIN).id
    ledger.restock_item(item, 10, "区财政局", ADMIN)
    return {
        "community": community,
        "grid": grid,
        "need": ledger.raise_need(community, "居民", "需要巡逻", ADMIN).id,
        "member": member,
        "task": task,
        "service": ledger.claim_task(task, member, ADMIN).id,
        "item": item,
        "redemption": ledger.redeem(
            f"device:{community.hex[:8]}", "first", member, community, [(item, 1)], ADMIN
        ).id,
        "unit": unit,
        "street": street,
    }


@pytest.fixture(scope="module")
def worlds(server: Server) -> dict[str, Any]:
    ledger = Ledger(eventsourcing_env(server.database_url), id_hash_key=b"oracle")
    try:
        street = ledger.register_street("查询街道", ADMIN).id
        home_unit, away_unit = (
            ledger.register_unit(name, UnitKind.ORGAN, ADMIN).id for name in ("甲单位", "乙单位")
        )
        home = _world(ledger, street, home_unit, "甲社区")
        away = _world(ledger, street, away_unit, "乙社区")
    finally:
        ledger.close()
    url = server.database_url
    tokens = {
        "community": create_token(url, Role.COMMUNITY, [home["community"]], "社区")[1],
        "kiosk": create_token(url, Role.KIOSK, [home["community"]], "终端", device="oracle-1")[1],
        "member": create_token(url, Role.MEMBER, [home["member"]], "成员")[1],
        "unit": create_token(url, Role.UNIT, [home_unit], "单位")[1],
        "auditor": create_token(url, Role.AUDITOR, [], "督查")[1],
    }
    return {"home": home, "away": away, "tokens": tokens}


def _value(kind: GraphQLInputType, name: str, ids: Callable[[str], str]) -> Any:
    """A valid value of an argument (or an input field) by its type and name; ids by kind."""
    if isinstance(kind, GraphQLNonNull):
        return _value(kind.of_type, name, ids)
    if isinstance(kind, GraphQLList):
        return [_value(kind.of_type, name, ids)]
    if isinstance(kind, GraphQLInputObjectType):
        return {
            field: _value(spec.type, field, ids)
            for field, spec in kind.fields.items()
            if isinstance(spec.type, GraphQLNonNull)
        }
    if isinstance(kind, GraphQLEnumType):  # a resident needs no unit
        return "RESIDENT" if "RESIDENT" in kind.values else next(iter(kind.values))
    assert isinstance(kind, GraphQLScalarType), kind
    match kind.name:
        case "UUID":
            return ids(name)
        case "Int":
            return 2026 if name == "year" else 1
        case "JSON":
            return {}
        case "String" if name == "key":
            return f"oracle-{next(_keys)}"
        case _:
            return TEXT.get(name, "测试")


def _id_arguments(kind: GraphQLInputType, name: str, path: tuple[str, ...]) -> Iterator[Any]:
    """The paths (argument, then input fields) that hold an id of a kind that can be out
    of scope."""
    named = get_named_type(kind)
    if isinstance(named, GraphQLInputObjectType):
        for field, spec in named.fields.items():
            yield from _id_arguments(spec.type, field, (*path, field))
    elif named.name == "UUID" and KIND_OF_ID[name] not in PUBLIC_KINDS:
        yield path


def _cases() -> Iterator[tuple[str, tuple[str, ...]]]:
    assert SCHEMA.mutation_type is not None
    for mutation, field in SCHEMA.mutation_type.fields.items():
        for argument, spec in field.args.items():
            for path in _id_arguments(spec.type, argument, (argument,)):
                yield mutation, path


CASES = list(_cases())


def test_the_sweep_covers_every_command_that_takes_an_id() -> None:
    named = {mutation for mutation, _ in CASES}
    assert {"checkIn", "correctService", "redeem", "cancelRedemption", "claimTask"} <= named
    assert ("redeem", ("lines", "itemId")) in CASES
    assert len(named) >= 25


def _ask(server: Server, token: str, mutation: str, values: dict[str, Any]) -> tuple[str, ...]:
    assert SCHEMA.mutation_type is not None
    field = SCHEMA.mutation_type.fields[mutation]
    sent = {name: value for name, value in values.items() if name in field.args}
    declared = ", ".join(f"${name}: {field.args[name].type}" for name in sent)
    passed = ", ".join(f"{name}: ${name}" for name in sent)
    query = (
        f"mutation({declared}) {{ {mutation}({passed}) "
        "{ __typename ... on Problem { code } } }"
        if sent
        else f"mutation {{ {mutation} {{ __typename ... on Problem {{ code }} }} }}"
    )
    result = server.gql(token, query, **sent)
    answer = (result.get("data") or {}).get(mutation)
    if answer is None:
        return ("errors", *(e.get("extensions", {}).get("code", "") for e in result["errors"]))
    return (answer["__typename"], answer.get("code", ""))


def _set(values: dict[str, Any], path: tuple[str, ...], value: str) -> dict[str, Any]:
    changed = dict(values)
    head, *rest = path
    if rest:
        inner = changed[head]
        changed[head] = (
            [_set(i, tuple(rest), value) for i in inner]
            if isinstance(inner, list)
            else _set(inner, tuple(rest), value)
        )
    elif isinstance(changed[head], list):
        changed[head] = [value]
    else:
        changed[head] = value
    return changed


@pytest.mark.parametrize(("mutation", "path"), CASES, ids=[f"{m}-{'.'.join(p)}" for m, p in CASES])
def test_an_id_out_of_scope_answers_as_an_unknown_id_does(
    server: Server, worlds: dict[str, Any], mutation: str, path: tuple[str, ...]
) -> None:
    assert SCHEMA.mutation_type is not None
    home, away = worlds["home"], worlds["away"]
    kind = KIND_OF_ID[path[-1]]
    field = SCHEMA.mutation_type.fields[mutation]
    values = {
        name: _value(spec.type, name, lambda n: str(home[KIND_OF_ID[n]]))
        for name, spec in field.args.items()
        if isinstance(spec.type, GraphQLNonNull) or name in (path[0], *TEXT)
    }
    answers = {}
    for role, token in worlds["tokens"].items():
        real = _ask(server, token, mutation, _set(values, path, str(away[kind])))
        unknown = _ask(server, token, mutation, _set(values, path, str(uuid4())))
        answers[role] = (real, unknown)
    refused = ("Forbidden", "FORBIDDEN")
    assert answers == dict.fromkeys(answers, (refused, refused))
