"""The exported SDL (schema.graphql) is the schema the server serves."""

from pathlib import Path
from uuid import uuid4

from graphql import get_introspection_query

from api.schema import build_schema

SDL = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_matches_the_served_schema():
    assert SDL.read_text(encoding="utf-8") == str(build_schema()) + "\n", (
        "schema.graphql is out of date: run `ledger schema`"
    )


def test_production_mode_turns_introspection_off():
    result = build_schema(production=True).execute_sync("{ __schema { types { name } } }")
    assert result.errors and "introspection" in result.errors[0].message.lower()
    assert build_schema().execute_sync("{ __schema { queryType { name } } }").errors is None
    standard = build_schema(production=True).execute_sync(STANDARD_INTROSPECTION)
    assert standard.errors and standard.data is None


STANDARD_INTROSPECTION = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
)


def test_the_standard_introspection_query_is_answered_though_deeper_than_a_read():
    result = build_schema().execute_sync(STANDARD_INTROSPECTION)
    assert result.errors is None, result.errors
    assert result.data is not None
    assert result.data["__schema"]["queryType"]["name"] == "Query"
    names = {t["name"] for t in result.data["__schema"]["types"]}
    assert {"Query", "Mutation", "UnitRank"} <= names


def nested(levels: int) -> str:
    return "ofType { " * levels + "name" + " }" * levels


def test_an_introspection_document_is_bounded_on_its_own():
    from api.limits import INTROSPECTION_MAX_DEPTH

    schema = build_schema()
    deep = schema.execute_sync(
        f'{{ __type(name: "Query") {{ {nested(INTROSPECTION_MAX_DEPTH)} }} }}'
    )
    assert deep.errors and deep.errors[0].extensions == {"code": "QUERY_TOO_COMPLEX"}
    assert str(INTROSPECTION_MAX_DEPTH) in deep.errors[0].message
    within = schema.execute_sync(f'{{ __type(name: "Query") {{ {nested(12)} }} }}')
    assert within.errors is None and within.data == {"__type": {"ofType": None}}
    lists = schema.execute_sync(
        "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    )
    assert lists.errors and lists.data is None  # graphql-core's MaxIntrospectionDepthRule


def test_a_read_that_also_introspects_keeps_the_bounds_of_a_read():
    from api.limits import MAX_DEPTH

    query = f'{{ __typename __type(name: "Query") {{ {nested(12)} }} members {{ id }} }}'
    result = build_schema().execute_sync(query)
    assert result.errors and result.errors[0].extensions == {"code": "QUERY_TOO_COMPLEX"}
    assert f"上限 {MAX_DEPTH} 层" in result.errors[0].message


class BrokenPool:
    async def fetchrow(self, *_: object) -> None:
        raise RuntimeError("connection to server lost: secret detail")


async def test_unexpected_errors_are_masked_with_a_correlation_id(caplog):
    from api.auth import Principal
    from api.context import RequestContext
    from ledger.domain.values import Role

    context = RequestContext(
        principal=Principal(uuid4(), Role.ADMIN, frozenset()),
        pool=BrokenPool(),  # type: ignore[arg-type]
        ledger=None,  # type: ignore[arg-type]
        read_side=None,  # type: ignore[arg-type]
        cache=None,  # type: ignore[arg-type]
        tokens=None,  # type: ignore[arg-type]
        correlation_id="corr-42",
    )
    result = await build_schema().execute(
        '{ member(id: "00000000-0000-0000-0000-000000000001") { name } }',
        context_value=context,
    )
    (error,) = result.errors or []
    assert "secret" not in error.message and "corr-42" in error.message
    assert error.extensions == {"code": "INTERNAL", "correlation_id": "corr-42"}
    assert any("corr-42" in r.getMessage() for r in caplog.records)
