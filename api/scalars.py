"""The scalars every argument goes through: instants with a zone and within the
supported range, decimals that are finite numbers.

Checked where GraphQL coerces the input, so a resolver never sees a naive time, a
year the database cannot convert, or a NaN: the client gets a clear error. Every
instant the API answers is written in China Standard Time (``+08:00``), whatever zone
it was stored or given in: the same instant, as the people who read it count time.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable
from typing import Any

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.base_scalars import (
    DateDefinition,
    DateTimeDefinition,
    DecimalDefinition,
)
from strawberry.types.scalar import ScalarDefinition

from ledger.domain.errors import LedgerError
from ledger.domain.values import CST, day, decimal_number, instant


def _refuse(message: str) -> StrawberryInputCoercionError:
    return StrawberryInputCoercionError(message)


def parse_instant(value: object) -> dt.datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise _refuse(f"时间须为 ISO 8601 字符串,例如 2026-06-30T09:00:00+08:00:{value!r:.60}")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _refuse(f"无法识别的时间:{value}") from None
    try:
        instant(parsed)  # the domain's rule: with a zone, within the supported range
    except LedgerError as error:
        raise _refuse(error.message) from None
    return parsed


def parse_day(value: object) -> dt.date:
    if not isinstance(value, str) or len(value) > 10:
        raise _refuse(f"日期须为 YYYY-MM-DD:{value!r:.60}")
    try:
        return day(dt.date.fromisoformat(value))
    except ValueError:
        raise _refuse(f"无法识别的日期:{value}") from None
    except LedgerError as error:
        raise _refuse(error.message) from None


def parse_number(value: object) -> decimal.Decimal:
    """The domain's one reading of a decimal (``decimal_number``); a JSON number as the
    text it was sent as."""
    text = repr(value) if isinstance(value, float) else value
    parsed = decimal_number(text)
    if parsed is None or abs(parsed.adjusted()) > 15:
        raise _refuse(f'数值须为十进制数(半角数字,可带正负号和小数点,如 "12.5"):{value!r:.60}')
    return parsed


def serialize_instant(value: object) -> str:
    """An instant as ISO 8601 in China Standard Time (``2026-05-01T09:00:00+08:00``)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(CST).isoformat()
    serialized: str = DateTimeDefinition.serialize(value)  # type: ignore[misc]
    return serialized


def _override(
    base: ScalarDefinition,
    parse: Callable[[object], Any],
    serialize: Callable[[Any], Any] | None = None,
    description: str | None = None,
) -> ScalarDefinition:
    return ScalarDefinition(
        name=base.name,
        description=description or base.description,
        specified_by_url=base.specified_by_url,
        serialize=serialize or base.serialize,
        parse_value=parse,
        parse_literal=None,
        origin=base.origin,
    )


SCALAR_OVERRIDES: dict[object, Any] = {
    dt.datetime: _override(
        DateTimeDefinition,
        parse_instant,
        serialize_instant,
        "时间(ISO 8601,带时区;答复一律以北京时间 +08:00 表示)",
    ),
    dt.date: _override(DateDefinition, parse_day),
    decimal.Decimal: _override(DecimalDefinition, parse_number),
}
