"""The exported SDL (schema.graphql) is the schema the server serves."""

from pathlib import Path
from uuid import uuid4

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
