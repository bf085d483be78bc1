"""A client's key for one request (幂等键): what makes every write safe to retry.

A key is saved in the same transaction as the events of the write it made, under an
id derived from who sent it and the key, so the event store's unique constraint lets
one request be applied once, even across a crash between the write and the answer.
The redemption does the same with its own id; every other command keeps its key here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.text import clean_identifier
from ledger.domain.values import Context, stable_id


def _plain(value: Any) -> Any:
    """A request's arguments as plain JSON, the same for the same request."""
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, datetime):
        return value.isoformat() if value.tzinfo is None else value.timestamp()
    if isinstance(value, (UUID, Decimal, date)):
        return str(value)
    if hasattr(value, "to_data"):
        return _plain(value.to_data())
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(v) for v in value]
    return value


def request_fingerprint(command: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    """What tells one request from another: the command and its arguments."""
    request = [command, _plain(args), _plain(dict(sorted(kwargs.items())))]
    text = json.dumps(request, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class RequestKey(LedgerAggregate):
    """The first result of a request sent with a key: its command, what it asked
    (a fingerprint) and the id of what it made."""

    @staticmethod
    def check(key: str) -> str:
        return clean_identifier(key, "请求编号")

    @staticmethod
    def create_id(scope: str, key: str) -> UUID:
        return stable_id("request-key", scope, key)

    @event("Used")
    def __init__(
        self,
        scope: str,
        key: str,
        command: str,
        fingerprint: str,
        result_id: UUID,
        created: list[UUID],
        ctx: Context,
    ) -> None:
        self.scope = scope
        self.key = key
        self.command = command
        self.fingerprint = fingerprint
        self.result_id = result_id
        self.created = created
