"""The exported SDL (schema.graphql) is the schema the server serves."""

from pathlib import Path

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
