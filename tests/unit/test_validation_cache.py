"""A query is validated once: asked again with other variables, its validation is the
kept one (graphql-core's validation is most of a small query's cost)."""

from __future__ import annotations

from api.limits import validate
from api.schema import build_schema

QUERY = "query($show: Boolean!) { __typename @include(if: $show) }"


async def test_the_same_query_with_other_variables_hits_the_validation_cache() -> None:
    schema = build_schema(production=True)
    first = await schema.execute(QUERY, variable_values={"show": True})
    assert first.errors is None
    before = validate.cache_info()
    for n in range(10):
        again = await schema.execute(QUERY, variable_values={"show": n % 2 == 0})
        assert again.errors is None
        assert again.data == ({"__typename": "Query"} if n % 2 == 0 else {})
    after = validate.cache_info()
    assert after.hits - before.hits == 10
    assert after.misses == before.misses
