"""The ledger's transcoder writes exactly the bytes the library's JSON transcoder
writes, for values of every kind (every event of a generated street:
tests/integration/test_stored_bytes.py)."""

from __future__ import annotations

import enum
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import JSONTranscoder, TranscodingNotRegisteredError

from ledger.application import Ledger
from ledger.domain.values import Context, Role, UnitKind


def library_transcoder(ledger: Ledger) -> JSONTranscoder:
    """The library's transcoder with the ledger's transcodings."""
    transcoder = JSONTranscoder()
    ledger.register_transcodings(transcoder)
    return transcoder


class Colour(enum.StrEnum):
    RED = "红"


class Level(enum.IntEnum):
    HIGH = 3


class Fraction(float):
    pass


ODD_VALUES: list[Any] = [
    {},
    [],
    (),
    {"a": []},
    'quote " backslash \\ slash / tab \t newline \n nul \x00 bell \x07 del \x7f',
    "中文,全角“引号” \u2028 \u2029 😀",
    [1, -0, 2**80, True, False, None],
    [0.1, -0.0, 1e300, 1e-300, float("nan"), float("inf"), float("-inf"), Fraction(2.5)],
    {1: "int key", 2.5: "float key", False: "bool key", None: "none key", "键": "str key"},
    [Colour.RED, Level.HIGH],
    (
        uuid4(),
        (
            date(2026, 5, 1),
            [
                Decimal("1.10"),
                Decimal("-0E-2"),
                Decimal("NaN"),
                Decimal("-Infinity"),
                Decimal("1E+2"),
            ],
        ),
    ),
    {"at": datetime(2026, 5, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))},
    {"at": datetime(2026, 5, 1, 1, 2, 3, 456789, tzinfo=UTC), "naive": datetime(2026, 1, 1)},
    {"ctx": Context("某人", Role.ADMIN, device="kiosk-1", correlation_id='"x"')},
    {"kind": UnitKind.OTHER, "nested": {"deeper": [{"ctx": Context.system("job")}]}},
]


@pytest.mark.parametrize("value", ODD_VALUES, ids=range(len(ODD_VALUES)))
def test_odd_values_are_written_as_the_library_writes_them(value: Any) -> None:
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    assert ledger.mapper.transcoder.encode(value) == library_transcoder(ledger).encode(value)


def test_a_context_is_written_anew_when_another_takes_its_place() -> None:
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    fast, library = ledger.mapper.transcoder, library_transcoder(ledger)
    first = Context("甲", Role.ADMIN)
    for ctx in (first, first, replace(first, actor_id="乙"), first):
        assert fast.encode({"ctx": ctx}) == library.encode({"ctx": ctx})


def test_an_unregistered_type_is_refused_as_by_the_library() -> None:
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    with pytest.raises(TranscodingNotRegisteredError):
        library_transcoder(ledger).encode({"x": object()})
    with pytest.raises(TranscodingNotRegisteredError):
        ledger.mapper.transcoder.encode({"x": object()})
    with pytest.raises(TypeError):
        ledger.mapper.transcoder.encode({UUID(int=1): "key of another type"})
