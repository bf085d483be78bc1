"""How the ledger's value types are written into stored events (JSON)."""

from __future__ import annotations

import dataclasses
from datetime import date
from enum import Enum
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from ledger.domain.certificate import Figures, Statement
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
)
DATACLASSES: tuple[type[Any], ...] = (
    Context,
    Cause,
    Lot,
    Award,
    RedemptionLine,
    Figures,
    Statement,
)


def register_ledger_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())
    for enum in ENUMS:
        transcoder.register(EnumAsName(enum))
    for cls in DATACLASSES:
        transcoder.register(DataclassAsDict(cls))
