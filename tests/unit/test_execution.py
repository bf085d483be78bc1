"""Plain fields answered the short way give what graphql-core gives the long way:
the same data, in the same order, and the same errors where a value is refused."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from api.execution import LeanExecutionContext, plain_fields


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@strawberry.type
class Row:
    number: int
    label: str
    amount: Decimal
    at: datetime
    id: UUID
    colour: Colour
    note: str | None
    required: str  # some rows hold None here: graphql-core's error, either way
    count: int  # some rows hold text or a number past 32 bits: refused by Int, either way

    @strawberry.field
    def doubled(self) -> int:
        return self.number * 2

    @strawberry.field
    def shifted(self, by: int) -> int:
        return self.number + by


def _row(n: int, **changes: Any) -> Row:
    values: dict[str, Any] = {
        "number": n,
        "label": f"row {n}",
        "amount": Decimal(n) / 4,
        "at": datetime(2026, 1, 1 + n, tzinfo=UTC),
        "id": UUID(int=n),
        "colour": Colour.RED if n % 2 else Colour.GREEN,
        "note": None if n % 3 else "备注",
        "required": "有",
        "count": n,
    }
    return Row(**(values | changes))


@strawberry.type
class Query:
    @strawberry.field
    def rows(self) -> list[Row]:
        return [_row(n) for n in range(5)]

    @strawberry.field
    def broken(self) -> list[Row | None]:
        return [
            _row(1),
            _row(2, required=None),
            _row(3, count="三"),
            _row(4, count=2**31),
            _row(5, count=True),  # a bool is an Int's 1, not the value as it is
        ]


class Shout(SchemaExtension):
    """A middleware: every field passes through it."""

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        value = _next(root, info, *args, **kwargs)
        return value.upper() if isinstance(value, str) else value


ROWS = """{ rows { label number a: amount at id colour note required count doubled
                   shifted(by: 3) ... on Row { number again: label } } }"""
BROKEN = "{ broken { number required count } }"


def _schemas(**options: Any) -> tuple[strawberry.Schema, strawberry.Schema]:
    return (
        strawberry.Schema(Query, execution_context_class=LeanExecutionContext, **options),
        strawberry.Schema(
            Query, execution_context_class=StrawberryGraphQLCoreExecutionContext, **options
        ),
    )


def _answer(result: Any) -> tuple[Any, Any]:
    errors = [(e.message, e.path) for e in result.errors or ()]
    return result.data, errors


async def test_plain_fields_give_what_the_long_way_gives() -> None:
    lean, standard = _schemas()
    short, long = await lean.execute(ROWS), await standard.execute(ROWS)
    assert short.errors is None
    assert _answer(short) == _answer(long)
    assert list(short.data["rows"][0]) == list(long.data["rows"][0])  # the order asked
    first = short.data["rows"][0]
    assert (first["a"], first["colour"], first["doubled"], first["shifted"]) == (
        "0",
        "GREEN",
        0,
        3,
    )


async def test_refused_values_give_graphql_cores_errors() -> None:
    lean, standard = _schemas()
    short, long = await lean.execute(BROKEN), await standard.execute(BROKEN)
    assert _answer(short) == _answer(long)
    assert short.data == {
        "broken": [
            {"number": 1, "required": "有", "count": 1},
            None,
            None,
            None,
            {"number": 5, "required": "有", "count": 1},
        ]
    }
    assert [e.path for e in short.errors] == [
        ["broken", 1, "required"],
        ["broken", 2, "count"],
        ["broken", 3, "count"],
    ]


async def test_a_middleware_sees_every_field() -> None:
    lean, standard = _schemas(extensions=[Shout])
    short, long = await lean.execute(ROWS), await standard.execute(ROWS)
    assert _answer(short) == _answer(long)
    assert short.data["rows"][1]["label"] == "ROW 1"


def test_which_fields_are_plain() -> None:
    lean, _ = _schemas()
    row = lean._schema.type_map["Row"]
    assert set(plain_fields(row)) == {
        "number",
        "label",
        "amount",
        "at",
        "id",
        "colour",
        "note",
        "required",
        "count",
    }
