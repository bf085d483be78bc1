"""How the ledger's value types are written into stored events (JSON)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from json.encoder import encode_basestring
from operator import attrgetter
from typing import Any

from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Transcoding,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)

from ledger.domain.certificate import Figures, Place, Statement
from ledger.domain.policy import Award
from ledger.domain.store import RedemptionLine
from ledger.domain.values import (
    CategoryClass,
    Cause,
    CauseKind,
    Context,
    Grade,
    Lot,
    MemberKind,
    Rating,
    Role,
    Satisfaction,
    UnitKind,
)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class EnumAsName(Transcoding):
    """An enum member by its name, which stays stable when its label changes."""

    def __init__(self, enum: type[Enum]) -> None:
        self.type = enum
        self.name = enum.__name__
        self._enum = enum

    def encode(self, obj: Enum) -> str:
        return obj.name

    def decode(self, data: str) -> Enum:
        return self._enum[data]


class DataclassAsDict(Transcoding):
    """A frozen dataclass by its fields; nested values go through the transcoder again."""

    def __init__(self, cls: type[Any]) -> None:
        self.type = cls
        self.name = cls.__name__
        self._cls = cls
        self._fields = [f.name for f in dataclasses.fields(cls)]

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self._fields}

    def decode(self, data: dict[str, Any]) -> Any:
        return self._cls(**data)


ENUMS: tuple[type[Enum], ...] = (
    Role,
    UnitKind,
    MemberKind,
    CategoryClass,
    Rating,
    Grade,
    CauseKind,
    Satisfaction,
)
DATACLASSES: tuple[type[Any], ...] = (
    Context,
    Cause,
    Lot,
    Award,
    RedemptionLine,
    Figures,
    Place,
    Statement,
)


def register_ledger_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())
    for enum in ENUMS:
        transcoder.register(EnumAsName(enum))
    for cls in DATACLASSES:
        transcoder.register(DataclassAsDict(cls))


Writer = Callable[[Any], str]
_PLAIN_TEXT: dict[type[Transcoding], Callable[[Any], str]] = {
    UUIDAsHex: attrgetter("hex"),
    DatetimeAsISO: datetime.isoformat,
    DecimalAsStr: Decimal.__str__,
    DateAsISO: date.isoformat,
}
"""Transcodings whose text is ASCII letters, digits and ``+-.:`` (written without
escaping), and what their ``encode`` returns, without the call through it."""
_INFINITY = float("inf")
KEPT_KEYS = 10_000
"""Field names kept written (an event's keys are few; a dict keyed by data could be many)."""


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def _bool(value: bool) -> str:
    return "true" if value else "false"


class LedgerTranscoder(JSONTranscoder):
    """The library's JSON transcoder, writing the same bytes in one pass.

    The library's encoder calls back into Python for every value it cannot write
    (each id, time, context and enum), and each answer is a new dict that the C
    encoder walks again. Here each type's writer is found once and kept, and what
    never changes is written once: an enum member, a field name, the context that
    every event of a command shares. The rules are the ``json`` module's for the
    library's settings (compact separators, ``ensure_ascii=False``): the same order
    of checks (str, int and float subclasses are written as such; lists and tuples
    alike; every other type by its registered transcoding, by exact type).
    Decoding is the library's.
    """

    def __init__(self) -> None:
        super().__init__()
        self._writers: dict[type, Writer] = {}
        self._keys: dict[str, str] = {}
        self._last_context: tuple[Context | None, str] = (None, "")

    def register(self, transcoding: Transcoding) -> None:
        super().register(transcoding)
        self._writers.clear()

    def encode(self, obj: Any) -> bytes:
        return self._write(obj).encode("utf8")

    def _write(self, value: Any) -> str:
        writer = self._writers.get(type(value))
        if writer is None:
            writer = self._writer_for(type(value))
        return writer(value)

    def _writer_for(self, cls: type) -> Writer:
        writer: Writer
        if cls is type(None):
            writer = self._null
        elif cls is bool:
            writer = _bool
        elif issubclass(cls, str):
            writer = encode_basestring
        elif issubclass(cls, int):
            writer = int.__repr__
        elif issubclass(cls, float):
            writer = _float
        elif issubclass(cls, (list, tuple)):
            writer = self._write_list
        elif issubclass(cls, dict):
            writer = self._write_dict
        else:
            writer = self._transcoded(cls)
        self._writers[cls] = writer
        return writer

    @staticmethod
    def _null(value: None) -> str:
        return "null"

    def _transcoded(self, cls: type) -> Writer:
        transcoding = self.types.get(cls)
        if transcoding is None:
            raise TranscodingNotRegisteredError(
                f"Object of type {cls} is not serializable. Please define and register "
                "a custom transcoding for this type."
            )
        prefix = '{"_type_":' + encode_basestring(transcoding.name) + ',"_data_":'
        encode = transcoding.encode
        text = _PLAIN_TEXT.get(type(transcoding))
        if text is not None:
            # Hex digits, ISO times, decimal numbers: nothing in them to escape.
            quoted = prefix + '"'

            def write_text(value: Any) -> str:
                return quoted + text(value) + '"}'

            return write_text

        def write(value: Any) -> str:
            return prefix + self._write(encode(value)) + "}"

        if isinstance(transcoding, EnumAsName):
            # A member is written the same every time.
            members = {member: write(member) for member in cls}  # type: ignore[attr-defined]
            return members.__getitem__
        if cls is Context:
            # Frozen, of strings and an enum; a command's events share one.
            def write_context(value: Context) -> str:
                last, written = self._last_context
                if value is not last:
                    written = write(value)
                    self._last_context = (value, written)
                return written

            return write_context
        return write

    def _write_list(self, values: list[Any] | tuple[Any, ...]) -> str:
        if not values:
            return "[]"
        writers, parts = self._writers, []
        for value in values:
            writer = writers.get(type(value))
            if writer is None:
                writer = self._writer_for(type(value))
            parts.append(writer(value))
        return "[" + ",".join(parts) + "]"

    def _write_dict(self, values: dict[Any, Any]) -> str:
        if not values:
            return "{}"
        keys, writers, parts = self._keys, self._writers, []
        for key, value in values.items():
            written = keys.get(key) if type(key) is str else None
            if written is None:
                written = self._key(key)
            writer = writers.get(type(value))
            if writer is None:
                writer = self._writer_for(type(value))
            parts.append(written + writer(value))
        return "{" + ",".join(parts) + "}"

    def _key(self, key: Any) -> str:
        """A key as the json module writes it: str as is, float, bool, None and int as
        their JSON text, in quotes."""
        if isinstance(key, str):
            text = key
        elif isinstance(key, float):
            text = _float(key)
        elif key is True or key is False or key is None:
            text = self._write(key)
        elif isinstance(key, int):
            text = int.__repr__(key)
        else:
            raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
        written = encode_basestring(text) + ":"
        if type(key) is str and len(self._keys) < KEPT_KEYS:
            self._keys[key] = written
        return written
