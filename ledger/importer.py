"""Importing the service records a street already keeps (CSV or XLSX).

Each row becomes events through the ledger's own commands, so the same rules
apply and the award records the rule book version in force; the events name
the importer and the file, and the row's record number as correlation id.
Every object gets an id derived from its natural key, so importing the same
file again imports nothing twice. A bad row is reported (row number and
reason) and leaves nothing behind; the good rows are imported.
"""

from __future__ import annotations

import csv
import gc
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import cast
from uuid import UUID

from ledger.application import Ledger
from ledger.application.base import Decided
from ledger.collector import collector_paused
from ledger.domain.account import Account
from ledger.domain.errors import LedgerError
from ledger.domain.limits import IMPORT_WORKERS, ORG_NAME, PERSON_NAME, RECORD_NUMBER
from ledger.domain.member import (
    hash_national_id,
    mask_phone,
    member_id_for,
    normalise_national_id,
)
from ledger.domain.organisation import Community, Street, Unit
from ledger.domain.rulebook import RULE_BOOK_ID
from ledger.domain.text import clean_text
from ledger.domain.timesheet import Timesheet
from ledger.domain.values import CST, Context, MemberKind, Rating, Role, UnitKind, day, stable_id
from ledger.domain.work import Service
from ledger.recorder import copy_rows

HEADERS = {
    "记录编号": "record_id",
    "姓名": "name",
    "身份证号": "national_id",
    "手机": "phone",
    "类别": "kind",
    "单位": "unit",
    "社区": "community",
    "街道": "street",
    "服务类别": "category",
    "日期": "date",
    "开始": "start",
    "结束": "end",
    "时长": "hours",
    "评价": "rating",
}
ID_TEXT = {
    "record_id": ("记录编号", RECORD_NUMBER),
    "name": ("姓名", PERSON_NAME),
    "unit": ("单位", ORG_NAME),
    "community": ("社区", ORG_NAME),
    "street": ("街道", ORG_NAME),
}
"""The text columns that make ids, and their bounds."""
KINDS = {k.value: k for k in MemberKind}
RATINGS = {r.value: r for r in Rating}
BATCH_ROWS = 500
SHARED = (Street, Community, Unit)
"""The objects rows of many members share (see ``_Deciders``)."""


class BadRow(ValueError):
    pass


@dataclass(frozen=True)
class ServiceRow:
    number: int
    record_id: str
    name: str
    national_id: str | None
    phone: str | None
    kind: MemberKind
    unit: str | None
    community: str
    street: str
    category: str
    starts_at: datetime
    ends_at: datetime
    rating: Rating


@dataclass
class ImportResult:
    imported: int = 0
    already: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)


def read_rows(path: Path) -> Iterator[dict[str, str]]:
    """Rows as dicts of English column names; Chinese headers are accepted."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True).active
        assert sheet is not None
        values = sheet.iter_rows(values_only=True)
        header = [HEADERS.get(str(h).strip(), str(h).strip()) for h in next(values)]
        for row in values:
            yield {
                k: "" if v is None else str(v).strip() for k, v in zip(header, row, strict=False)
            }
        return
    with path.open(encoding="utf-8-sig", newline="") as file:
        for row in csv.DictReader(file):
            yield {HEADERS.get(k.strip(), k.strip()): (v or "").strip() for k, v in row.items()}


def parse(number: int, raw: dict[str, str], categories: set[str]) -> ServiceRow:
    """A row's fields, or BadRow with the reason.

    The commands check every field again; the text that makes an object's id (record
    number, names, phone, national ID) is checked here first, since an id cannot be
    made of what cannot be encoded. It is kept as written, so a file imported before
    still finds its objects."""

    def need(name: str) -> str:
        if not raw.get(name):
            raise BadRow(f"缺少 {name}")
        return raw[name]

    try:
        for name, (label, limit) in ID_TEXT.items():
            if raw.get(name):
                clean_text(raw[name], label, limit)
        if raw.get("phone"):
            mask_phone(raw["phone"])
        if raw.get("national_id"):
            normalise_national_id(raw["national_id"])
        on = day(date.fromisoformat(need("date")), "日期")
    except LedgerError as error:
        raise BadRow(error.message) from None
    except ValueError:
        raise BadRow("日期格式不对(应为 2026-05-01)") from None
    try:
        start = datetime.combine(on, time.fromisoformat(need("start")), CST)
    except ValueError:
        raise BadRow("开始时间格式不对(应为 09:00)") from None
    if raw.get("end"):
        try:
            end = datetime.combine(on, time.fromisoformat(raw["end"]), CST)
        except ValueError:
            raise BadRow("结束时间格式不对") from None
    else:
        try:
            hours = Decimal(need("hours"))
        except InvalidOperation:
            raise BadRow("时长不是数字") from None
        if not hours.is_finite() or hours <= 0 or hours > 24:
            raise BadRow("时长须大于 0 且不超过 24 小时")
        end = start + timedelta(minutes=int(hours * 60))
    if end <= start:
        raise BadRow("结束早于开始")
    if need("category") not in categories:
        raise BadRow(f"未知服务类别“{raw['category']}”")
    kind = KINDS.get(raw.get("kind") or "党员")
    rating = RATINGS.get(need("rating"))
    if kind is None or rating is None:
        raise BadRow("类别须为 党员/群众/志愿者,评价须为 很好/好/一般")
    return ServiceRow(
        number,
        need("record_id"),
        need("name"),
        raw.get("national_id") or None,
        raw.get("phone") or None,
        kind,
        raw.get("unit") or None,
        need("community"),
        need("street"),
        raw["category"],
        start,
        end,
        rating,
    )


def import_services(
    ledger: Ledger,
    rows: Iterable[dict[str, str]],
    source: str,
    progress: Callable[[int], None] | None = None,
    *,
    workers: int = 1,
) -> ImportResult:
    """Import the rows; with ``workers`` > 1, a file of more than one batch is decided
    by that many processes, each for its own members (see ``_Deciders``)."""
    if not 1 <= workers <= IMPORT_WORKERS:
        raise ValueError(f"workers: 1 to {IMPORT_WORKERS}")
    result = ImportResult()
    categories = set(ledger.current_policy().categories)  # opens the rule book if new
    seen: set[str] = set()
    batch: list[ServiceRow] = []
    with collector_paused(), _Deciders(ledger, source, workers, result) as deciders:
        for number, raw in enumerate(rows, start=2):  # row 1 is the header
            try:
                row = parse(number, raw, categories)
                if row.record_id in seen:
                    raise BadRow(f"记录编号 {row.record_id} 在文件中重复")
                seen.add(row.record_id)
                batch.append(row)
            except BadRow as bad:
                result.bad.append((number, str(bad)))
            if len(batch) >= BATCH_ROWS * deciders.size:
                deciders.decide(batch)
                batch = []
                if progress:
                    progress(number - 1)
        deciders.decide(batch)
    result.bad.sort()
    return result


Packed = tuple[bytes, int, str, bytes]
"""An event as plain values (id's bytes, version, topic, state): pickling a UUID object
costs ten times its bytes on the way from a worker."""


@dataclass
class _Outcome:
    """What deciding a batch of rows came to."""

    decided: Decided
    imported: int = 0
    already: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)
    shared: list[Packed] = field(default_factory=list)
    """From a worker: the events of the streets, communities and units it created."""
    rows: bytes = b""
    """From a worker: its other events, as rows of the event store's COPY."""
    count: int = 0


def _decide(ledger: Ledger, rows: list[ServiceRow], source: str) -> _Outcome:
    """Every row by the ledger's commands, against the aggregates the rows touch read
    once; a row that fails leaves nothing behind. Nothing is written."""
    ids = [_ids(ledger, row) for row in rows]
    with ledger.deciding() as decided:
        outcome = _Outcome(decided)
        known = ledger.preload([i for row_ids in ids for i in _touched(row_ids)])
        for row, row_ids in zip(rows, ids, strict=True):
            ctx = Context(f"import:{source}", Role.SYSTEM, "importer", row.record_id)
            if row_ids["task"] in known:
                outcome.already += 1
                continue
            try:
                with ledger.savepoint():
                    _import_row(ledger, row, row_ids, known, ctx)
            except LedgerError as error:
                outcome.bad.append((row.number, error.message))
            else:
                known |= {i for i in row_ids.values() if i is not None}
                outcome.imported += 1
    return outcome


class _Deciders:
    """Who decides the batches: this process, or worker processes.

    With workers, each decides the rows of its own members (by member id), so the
    aggregates a member's rows change (member, account, timesheet, tasks, services)
    are only ever in one worker, which keeps them from batch to batch. Streets,
    communities and units are shared: a worker creates one the first time one of
    its rows needs it, and the writer keeps the first creation of each (they are the
    same object made from the same natural key). While the workers decide a batch,
    this process writes the one before, each batch in one transaction.
    """

    def __init__(self, ledger: Ledger, source: str, workers: int, result: ImportResult) -> None:
        self.ledger, self.source, self.size, self.result = ledger, source, workers, result
        self._pools: list[ProcessPoolExecutor] = []
        self._pending: list[Future[_Outcome]] = []
        self._created: set[bytes] = set()

    def __enter__(self) -> _Deciders:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self._write_pending()
        finally:
            for pool in self._pools:
                pool.shutdown(cancel_futures=True)

    def decide(self, rows: list[ServiceRow]) -> None:
        if not rows:
            return
        if self.size == 1 or len(rows) < BATCH_ROWS:
            self._write_pending()
            if self._pools:
                self.ledger.loader.forget()  # the workers changed what it may hold
            outcome = _decide(self.ledger, rows, self.source)
            self.ledger.write(outcome.decided)
            self._count(outcome)
            return
        if not self._pools:
            context = multiprocessing.get_context("spawn")
            # The event store exists: workers creating it at once would race.
            env = {**self.ledger.env, "CREATE_TABLE": "n"}
            key = self.ledger.id_hash_key
            self._pools = [
                ProcessPoolExecutor(1, context, initializer=_start_worker, initargs=(env, key))
                for _ in range(self.size)
            ]
        shares: list[list[ServiceRow]] = [[] for _ in self._pools]
        for row in rows:
            ids = _ids(self.ledger, row)
            member = ids["member"]
            assert member is not None
            shares[member.int % self.size].append(row)
        submitted = [
            pool.submit(_decide_in_worker, share, self.source)
            for pool, share in zip(self._pools, shares, strict=True)
        ]
        self._write_pending()
        self._pending = submitted

    def _count(self, outcome: _Outcome) -> None:
        self.result.imported += outcome.imported
        self.result.already += outcome.already
        self.result.bad += outcome.bad

    def _write_pending(self) -> None:
        """Write what the workers decided last, in one transaction."""
        pending, self._pending = self._pending, []
        shared: list[Packed] = []
        for outcome in (future.result() for future in pending):
            self._count(outcome)
            for event in outcome.shared:
                if event[1] == 1 and event[0] in self._created:
                    continue  # another worker created it first
                self._created.add(event[0])
                shared.append(event)
        count = len(shared) + sum(o.result().count for o in pending)
        if count:
            rows = copy_rows(shared) + b"".join(o.result().rows for o in pending)
            self.ledger.group_recorder.insert_copy_rows(rows, count)


_WORKER: Ledger | None = None


def _start_worker(env: dict[str, str], id_hash_key: bytes) -> None:
    global _WORKER
    _WORKER = Ledger(env, id_hash_key=id_hash_key)
    gc.disable()  # see ``collector_paused``: the worker lives for one import


def _decide_in_worker(rows: list[ServiceRow], source: str) -> _Outcome:
    """In a worker: decide, and keep what was decided as the state of its members (the
    importing process writes it, or the whole import fails)."""
    assert _WORKER is not None
    outcome = _decide(_WORKER, rows, source)
    _WORKER.loader.remember(outcome.decided.aggregates)
    shared = {a.id for a in outcome.decided.aggregates if isinstance(a, SHARED)}
    own: list[Packed] = []
    for e in outcome.decided.events:
        packed = (cast(UUID, e.originator_id).bytes, e.originator_version, e.topic, e.state)
        (outcome.shared if e.originator_id in shared else own).append(packed)
    outcome.rows, outcome.count = copy_rows(own), len(own)
    outcome.decided = Decided()
    return outcome


def _ids(ledger: Ledger, row: ServiceRow) -> dict[str, UUID | None]:
    """Every object's id from its natural key, so a re-import finds them again."""
    if row.national_id:
        member = member_id_for(hash_national_id(row.national_id, ledger.id_hash_key))
    else:
        member = stable_id("import-member", row.street, row.community, row.name, row.phone)
    return {
        "street": stable_id("import-street", row.street),
        "community": stable_id("import-community", row.street, row.community),
        "unit": stable_id("import-unit", row.unit) if row.unit else None,
        "member": member,
        "task": stable_id("import-task", row.record_id),
    }


def _touched(ids: dict[str, UUID | None]) -> Iterator[UUID]:
    """Every aggregate a row's commands read: its objects, the member's account and
    timesheet, the service and the rule book."""
    member, task = ids["member"], ids["task"]
    assert member is not None and task is not None
    yield from (i for i in ids.values() if i is not None)
    yield from (Account.create_id(member), Timesheet.create_id(member))
    yield from (Service.create_id(task, member), RULE_BOOK_ID)


def _import_row(
    ledger: Ledger, row: ServiceRow, ids: dict[str, UUID | None], known: set[UUID], ctx: Context
) -> None:
    street, community, unit = ids["street"], ids["community"], ids["unit"]
    member, task = ids["member"], ids["task"]
    assert street and community and member and task
    if street not in known:
        ledger.register_street(row.street, ctx, id=street)
    if community not in known:
        ledger.register_community(street, row.community, ctx, id=community)
    if unit is not None and unit not in known:
        ledger.register_unit(row.unit or "", UnitKind.OTHER, ctx, id=unit)
    if member not in known:
        ledger.register_member(
            row.kind,
            row.name,
            community,
            ctx,
            unit_id=unit,
            phone=row.phone,
            national_id=row.national_id,
            member_id=member,
        )
    ledger.publish_task(
        community,
        f"{row.category}(导入)",
        row.category,
        row.starts_at,
        row.ends_at,
        1,
        ctx,
        task_id=task,
    )
    service = ledger.claim_task(task, member, ctx).id
    ledger.check_in(service, ctx, at=row.starts_at)
    ledger.check_out(service, ctx, at=row.ends_at)
    ledger.rate_service(service, row.rating, ctx)
