"""A planned query gives what graphql-core gives, or gives up: the same data in the
same order where the answer is plain data, and the long way wherever it is not."""

from __future__ import annotations

import enum
import gc
import json
import warnings
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import pytest
import strawberry
from graphql import GraphQLError
from strawberry.dataloader import DataLoader
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission
from strawberry.schema.config import StrawberryConfig

from api.execution import LeanExecutionContext
from api.plans import Direct, GiveUp, Plan, Plans


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


class Code:
    """A value whose scalar answers its text, and refuses an empty one."""

    def __init__(self, text: str) -> None:
        self.text = text


CODE = strawberry.scalar(name="Code", serialize=lambda code: code.text or None, parse_value=Code)


@strawberry.type
class Detail:
    note: str | None
    size: int


@strawberry.type
class Row:
    number: int
    label: str
    amount: Decimal
    id: UUID
    colour: Colour
    required: str
    code: Code
    detail: Detail | None = None

    @strawberry.field
    def doubled(self) -> int:
        return self.number * 2

    @strawberry.field
    async def later(self, info: strawberry.Info, by: int = 1) -> int:
        loaded: int = await info.context["loader"].load(self.number)
        return loaded + by


@strawberry.type
class Other:
    name: str


def _row(n: int, **changes: Any) -> Row:
    values: dict[str, Any] = {
        "number": n,
        "label": f"行 {n}",
        "amount": Decimal(n) / 4,
        "id": UUID(int=n),
        "colour": Colour.RED if n % 2 else Colour.GREEN,
        "required": "有",
        "code": Code(f"C{n}"),
        "detail": Detail(note=None if n % 2 else "备注", size=n) if n % 3 else None,
    }
    return Row(**(values | changes))


class Deny(BasePermission):
    message = "不可以"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Query:
    @strawberry.field
    async def rows(self, first: int = 3, colour: Colour | None = None) -> list[Row]:
        rows = [_row(n) for n in range(first)]
        return [r for r in rows if colour is None or r.colour is colour]

    @strawberry.field
    def row(self, id: UUID) -> Row | None:
        return _row(id.int) if id.int < 10 else None

    @strawberry.field
    def sync_rows(self) -> list[Row]:
        return [_row(n) for n in range(4)]

    @strawberry.field
    def broken(self) -> list[Row | None]:
        return [_row(1), _row(2, required=None)]

    @strawberry.field
    def odd(self) -> list[Row]:
        return [_row(1, number=True)]  # a bool is an Int's 1, by its coercion

    @strawberry.field
    def refused(self) -> list[Row]:
        return [_row(1), _row(2, code=Code(""))]  # its scalar refuses the second code

    @strawberry.field
    def wide(self) -> list[Row]:
        return [_row(1), _row(2, number=2**31)]  # past 32 bits: an Int refuses it

    @strawberry.field(permission_classes=[Deny])  # type: ignore[untyped-decorator]
    def secret(self) -> str:
        return "秘密"

    @strawberry.field
    def failing(self) -> int:
        raise ValueError("坏了")

    @strawberry.field
    def either(self) -> Annotated[Row | Other, strawberry.union("Either")]:
        return Other(name="别的")


SCHEMA = strawberry.Schema(
    Query,
    execution_context_class=LeanExecutionContext,
    config=StrawberryConfig(scalar_map={Code: CODE}),
)


class _Batches:
    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    async def load(self, keys: list[int]) -> list[int]:
        self.calls.append(list(keys))
        return [k * 10 for k in keys]


def _context() -> tuple[dict[str, Any], _Batches]:
    batches = _Batches()
    return {"loader": DataLoader(load_fn=batches.load)}, batches


def _planned(query: str, schema: strawberry.Schema = SCHEMA) -> Plan | None:
    """The plan made of a document that has been answered."""
    plans = Plans(schema)
    plans.learn(query, None)
    return plans.get(query, None)


async def _both(query: str, variables: dict[str, Any] | None = None) -> tuple[Any, Any]:
    """The long way's answer, and the plan's answer to the same request."""
    context, _ = _context()
    result = await SCHEMA.execute(query, variable_values=variables, context_value=context)
    assert not result.errors, result.errors
    plan = _planned(query)
    assert plan is not None
    context, _ = _context()
    return result.data, await plan.answer(variables, context)


QUERIES = [
    ("{ rows { number label amount id colour required doubled } }", None),
    (
        """query($n: Int!, $c: Colour) { rows(first: $n, colour: $c) {
             ...Parts again: label detail { note size } later(by: 2) __typename } }
           fragment Parts on Row { number ... on Row { amount } ... { id } }""",
        {"n": 7, "c": "RED"},
    ),
    (
        "query($id: UUID!) { row(id: $id) { label detail { size } } none: row(id: $id) { id } }",
        {"id": str(UUID(int=4))},
    ),
    ('{ row(id: "00000000-0000-0000-0000-0000000000ff") { label } }', None),
    ("{ a: rows(first: 2) { number } a: rows(first: 2) { label } }", None),
    ("{ syncRows { later detail { size } number } rows { later } }", None),
    ("{ rows(first: 4) { number label amount id colour required code detail { note } } }", None),
    ("{ odd { label number } }", None),
    ("{ rows { number label amount code later(by: 2) id detail { size } } }", None),
]


@pytest.mark.parametrize(("query", "variables"), QUERIES)
async def test_a_plan_gives_what_graphql_core_gives(
    query: str, variables: dict[str, Any] | None
) -> None:
    long, planned = await _both(query, variables)
    assert json.dumps(planned) == json.dumps(long)  # the same keys, in the same order


async def test_a_plan_batches_loads_as_graphql_core_does() -> None:
    query = "{ rows(first: 5) { later } }"
    plan = _planned(query)
    assert plan is not None
    context, batches = _context()
    assert await plan.answer(None, context) == {"rows": [{"later": n * 10 + 1} for n in range(5)]}
    assert batches.calls == [[0, 1, 2, 3, 4]]


def test_an_object_of_plain_fields_is_read_as_a_row() -> None:
    plan = _planned("{ rows { number label amount id colour required } }")
    assert plan is not None
    row = plan.root.selections[0].inner
    assert row is not None and row.row is not None
    assert row.row.keys == ("number", "label", "amount", "id", "colour", "required")
    other = _planned("{ rows { number detail { note size } } syncRows { doubled number } }")
    assert other is not None
    rows, sync_rows = (s.inner for s in other.root.selections)
    assert rows is not None and rows.row is None  # an object among its fields
    detail = rows.selections[1].inner
    assert detail is not None and detail.row is not None  # whose own fields are plain
    assert sync_rows is not None and sync_rows.row is None  # a resolver among them
    leading = _planned("{ rows { number label later id colour } }")
    assert leading is not None
    rows = leading.root.selections[0].inner
    assert rows is not None and rows.row is None and rows.head is not None
    assert rows.head.keys == ("number", "label")  # the plain fields before the resolver
    assert [s.key for s in rows.rest] == ["later", "id", "colour"]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ broken { required } }", None),  # a null where null is not allowed
        ("{ broken { number required } }", None),  # the same, in a row of plain fields
        ("{ wide { number label } }", None),  # an Int past 32 bits, in a row
        ("{ refused { number code } }", None),  # a value of its declared type, refused
        ("{ broken { number required doubled } }", None),  # a null before a resolver
        ("{ failing }", None),  # a resolver's error
        ("{ secret }", None),  # a permission refused
        ("query($n: Int!) { rows(first: $n) { number } }", {"n": "三"}),  # a refused variable
        ("query($n: Int!) { rows(first: $n) { number } }", {}),  # a missing one
    ],
)
async def test_a_plan_gives_up_where_the_answer_is_not_plain_data(
    query: str, variables: dict[str, Any] | None
) -> None:
    plan = _planned(query)
    assert plan is not None
    context, _ = _context()
    with pytest.raises((GiveUp, ValueError, GraphQLError)):
        await plan.answer(variables, context)


async def test_a_plan_that_gives_up_leaves_nothing_unawaited() -> None:
    """The second row's ``later`` is asked for before its ``required`` turns out null:
    its coroutine is closed, not left to be collected unawaited."""
    query = "{ broken { later required } }"
    plan = _planned(query)
    assert plan is not None
    context, _ = _context()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(GiveUp):
            await plan.answer(None, context)
        gc.collect()
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []


@pytest.mark.parametrize(
    "query",
    [
        "{ either { ... on Other { name } } }",  # a union: its type is decided per value
        "query($x: Boolean!) { rows { number @include(if: $x) } }",
        "{ __schema { queryType { name } } }",
        "mutation { x }",
    ],
)
def test_what_is_not_planned(query: str) -> None:
    assert _planned(query) is None


def test_which_resolvers_are_called_as_strawberry_would() -> None:
    types = SCHEMA._schema.type_map

    def direct(type_name: str, field: str) -> bool:
        return Direct.of(SCHEMA, types[type_name].fields[field]) is not None  # type: ignore[attr-defined]

    assert direct("Row", "later") and direct("Row", "doubled") and direct("Query", "row")
    assert direct("Query", "rows")  # an enum argument: graphql-core gives the member
    assert not direct("Query", "secret")  # a permission class is a field extension
    assert not direct("Row", "label")  # no resolver: a plain field


def test_nothing_is_planned_under_a_middleware() -> None:
    class Shout(SchemaExtension):
        def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
            return _next(root, info, *args, **kwargs)

    schema = strawberry.Schema(Query, extensions=[Shout], config=SCHEMA.config)
    query = "{ rows { number } }"
    assert _planned(query, schema) is None
