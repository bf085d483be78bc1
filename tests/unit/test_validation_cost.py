"""The cost measure counts what validation walks: selections repeated under one response
name are compared pairwise, so a document that repeats one is refused before validation."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
import strawberry
from graphql import GraphQLError

from api.limits import MAX_MERGES, check_document
from api.schema import build_schema


@pytest.fixture(scope="module")
def schema() -> strawberry.Schema:
    return build_schema()


def execute(schema: strawberry.Schema, query: str) -> Any:
    return asyncio.run(schema.execute(query))


def test_a_thousand_typenames_are_refused_in_milliseconds_with_a_code(
    schema: strawberry.Schema,
) -> None:
    query = "{" + " __typename" * 1000 + f" }} #{uuid.uuid4().hex}"  # never seen before
    assert len(query) > 11_000
    started = time.perf_counter()
    result = execute(schema, query)
    elapsed = time.perf_counter() - started
    assert result.data is None
    [error] = result.errors
    assert error.extensions["code"] == "QUERY_TOO_COMPLEX"
    assert f"合并比较上限 {MAX_MERGES} 次" in error.message
    assert elapsed < 0.05, elapsed


def test_repeats_spread_over_fragments_are_counted_together(schema: strawberry.Schema) -> None:
    half = " __typename" * 40
    query = f"{{ ... on Query {{ {half} }} ...F }} fragment F on Query {{ {half} }}"
    result = execute(schema, query)
    assert result.errors and result.errors[0].extensions["code"] == "QUERY_TOO_COMPLEX"


def test_a_pair_costs_the_fields_beneath_it() -> None:
    pair = " viewer { role scope names __typename }"
    with pytest.raises(GraphQLError, match="合并比较"):
        check_document("{" + pair * 21 + " }")  # 210 pairs, 5 each: 1,050 > 1,000
    check_document("{" + pair * 20 + " }")  # 190 pairs, 950


def test_a_few_repeated_names_are_answered(schema: strawberry.Schema) -> None:
    result = execute(schema, "{ __typename ... on Query { __typename } t: __typename }")
    assert result.errors is None
    assert result.data == {"__typename": "Query", "t": "Query"}


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ __typename", "GRAPHQL_PARSE_FAILED"),
        ("{" * 30_000, "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
        ("query { ...F } fragment F on Query { ...F }", "GRAPHQL_VALIDATION_FAILED"),
    ],
)
def test_every_refusal_carries_a_code(schema: strawberry.Schema, query: str, code: str) -> None:
    result = execute(schema, query)
    assert result.errors
    assert [e.extensions["code"] for e in result.errors] == [code] * len(result.errors)
