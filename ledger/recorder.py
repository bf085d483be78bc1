"""Group commit: concurrent saves share one transaction and one WAL flush.

The library appends under an exclusive table lock, so that notification ids
are committed in order and no reader of the notification log misses an event.
That lock serialises commits: one save, one flush, one at a time. Here the
threads that save while another thread's transaction is in flight queue up,
and the next of them to lead writes the whole queue in one transaction, under
the same lock, in the same order. If any save in the group conflicts, the group
is written again one save per transaction, so that only the conflicting save
fails, exactly as it would have on its own.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterable, Sequence
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg.sql import SQL, Composable, Identifier, Literal

GROUP_COMMIT_RECORDER_TOPIC = "ledger.recorder:GroupCommitRecorder"
COPY_FROM = 1000
"""From this many events in one transaction (a batch: an import, a generated street) they
go by binary COPY, far cheaper than a statement's parameters."""


_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_COPY_TRAILER = struct.pack("!h", -1)
_ROW_START = struct.Struct("!hi16siq").pack
_LENGTH = struct.Struct("!i").pack


def copy_rows(events: Iterable[tuple[bytes, int, str, bytes]]) -> bytes:
    """Events (id's 16 bytes, version, topic, state) as the rows of a binary COPY into
    the event store: a worker process can make them, and the writer sends them as they
    are (PostgreSQL's binary COPY format: a field count, then each field's length and
    bytes)."""
    topics: dict[str, bytes] = {}
    parts: list[bytes] = []
    for originator_id, version, topic, state in events:
        encoded = topics.get(topic)
        if encoded is None:
            raw = topic.encode()
            encoded = topics[topic] = _LENGTH(len(raw)) + raw
        parts += (_ROW_START(4, 16, originator_id, 8, version), encoded, _LENGTH(len(state)), state)
    return b"".join(parts)


class _Save:
    __slots__ = ("done", "error", "events", "ids")

    def __init__(self, events: Sequence[StoredEvent]) -> None:
        self.events = events
        self.ids: Sequence[int] = ()
        self.error: BaseException | None = None
        self.done = False


def _text(statement: Composable) -> str:
    return statement.as_string(None)


class GroupCommitRecorder(PostgresApplicationRecorder):
    """Writes with the library's table lock and NOTIFY, but in fewer round trips:
    lock and notify go in one message, the events as four plain arrays (cheaper to
    send than an array of the library's composite type), and the SQL is rendered
    once rather than composed anew on every call."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self._cond = threading.Condition()
        self._queue: list[_Save] = []
        self._leading = False
        table = SQL("{schema}.{table}").format(
            schema=Identifier(datastore.schema), table=Identifier(events_table_name)
        )
        self._insert_columns = _text(
            SQL(
                "INSERT INTO {table} (originator_id, originator_version, topic, state) "
                "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[]) "
                "RETURNING notification_id"
            ).format(table=table)
        )
        notify = SQL("NOTIFY {0}").format(Identifier(self.channel_name))
        statements = [*self.lock_table_statements, notify]
        self._lock_and_notify = "; ".join(_text(cast(Composable, s)) for s in statements)
        # One index lookup per aggregate (a LATERAL subquery, kept from being flattened
        # into a join by OFFSET 0): as a join of a few thousand ids the planner chose a
        # scan of the whole table, 1.4 s at 2 M events against 50 ms.
        self._select_after_many = _text(
            SQL(
                "SELECT e.originator_id, e.originator_version, e.topic, e.state "
                "FROM unnest(%s::uuid[], %s::bigint[]) AS k(id, v) "
                "CROSS JOIN LATERAL (SELECT * FROM {table} x "
                "WHERE x.originator_id = k.id AND x.originator_version > k.v OFFSET 0) e "
                "ORDER BY e.originator_id, e.originator_version"
            ).format(table=table)
        )
        self._copy = _text(
            SQL(
                "COPY {table} (originator_id, originator_version, topic, state) "
                "FROM STDIN (FORMAT BINARY)"
            ).format(table=table)
        )
        # Under the table lock no one else draws from the sequence: a COPY's rows
        # take the ids up to its current value, in order.
        self._last_id = _text(
            SQL("SELECT currval(pg_get_serial_sequence({name}, 'notification_id'))").format(
                name=Literal(f"{datastore.schema}.{events_table_name}")
            )
        )
        self._existing_statement = _text(
            SQL(
                "SELECT originator_id FROM {table} WHERE originator_version = 1 "
                "AND originator_id = ANY(%s)"
            ).format(table=table)
        )
        self.first_notification_statement = _text(
            SQL(
                "SELECT notification_id FROM {table} WHERE originator_id = %s "
                "ORDER BY originator_version LIMIT 1"
            ).format(table=table)
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _insert(self, events: Sequence[StoredEvent]) -> list[int]:
        """Append events in one transaction; their notification ids, in order."""
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(self._lock_and_notify)
            if len(events) >= COPY_FROM:
                rows = copy_rows(
                    (cast(UUID, e.originator_id).bytes, e.originator_version, e.topic, e.state)
                    for e in events
                )
                return self._copy_in(curs, rows, len(events))
            curs.execute(
                self._insert_columns,
                (
                    [e.originator_id for e in events],
                    [e.originator_version for e in events],
                    [e.topic for e in events],
                    [e.state for e in events],
                ),
                prepare=True,
            )
            return [row["notification_id"] for row in curs.fetchall()]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_copy_rows(self, rows: bytes, count: int) -> list[int]:
        """Append ``count`` events made by ``copy_rows``, in one transaction."""
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            curs.execute(self._lock_and_notify)
            return self._copy_in(curs, rows, count)

    def _copy_in(self, curs: Any, rows: bytes, count: int) -> list[int]:
        with curs.copy(self._copy) as copy:
            copy.write(_COPY_HEADER + rows + _COPY_TRAILER)
        last = curs.execute(self._last_id).fetchone()
        assert last is not None
        first = int(last["currval"]) - count + 1
        return list(range(first, first + count))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_events_after(
        self, originator_ids: list[UUID], versions: list[int]
    ) -> list[StoredEvent]:
        """The events of several aggregates, each after the given version, in one query."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._select_after_many, (originator_ids, versions), prepare=True)
            return [
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]

    def existing(self, originator_ids: list[UUID]) -> set[UUID]:
        """Which of these aggregates have events, in one query."""
        with self.datastore.get_connection() as conn:
            rows = conn.execute(self._existing_statement, (originator_ids,)).fetchall()
        return {row["originator_id"] for row in rows}

    def first_notification_id(self, originator_id: UUID) -> int | None:
        """The notification id of an aggregate's creation."""
        with self.datastore.get_connection() as conn:
            row = conn.execute(self.first_notification_statement, (originator_id,)).fetchone()
        return None if row is None else int(row["notification_id"])

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        save = _Save(stored_events)
        with self._cond:
            self._queue.append(save)
            while self._leading and not save.done:
                self._cond.wait()
            if not save.done:
                self._leading = True
                group, self._queue = self._queue, []
        if not save.done:
            try:
                self._write_group(group)
            finally:
                with self._cond:
                    self._leading = False
                    self._cond.notify_all()
        if save.error is not None:
            raise save.error
        return save.ids

    def _write_group(self, group: list[_Save]) -> None:
        try:
            try:
                self._write_together(self._without_clashes(group))
            except IntegrityError:
                for save in group:
                    if not save.done:
                        self._write_together([save])
        except BaseException as error:
            for save in group:
                if not save.done:
                    save.error, save.done = error, True
            raise

    @staticmethod
    def _without_clashes(group: list[_Save]) -> list[_Save]:
        """Fail at once a save that writes an aggregate version another save in the
        group already writes: in the database one of them would fail anyway."""
        if len(group) == 1:
            return group
        seen: set[tuple[Any, int]] = set()
        clear = []
        for save in group:
            keys = {(e.originator_id, e.originator_version) for e in save.events}
            if keys & seen:
                save.error = IntegrityError("concurrent save of the same aggregate version")
                save.done = True
            else:
                seen |= keys
                clear.append(save)
        return clear

    def _write_together(self, saves: list[_Save]) -> None:
        if not saves:
            return
        events = [e for save in saves for e in save.events]
        try:
            ids = self._insert(events)
        except IntegrityError as error:
            if len(saves) > 1:
                raise
            saves[0].error, saves[0].done = error, True
            return
        start = 0
        for save in saves:
            save.ids = ids[start : start + len(save.events)]
            save.done = True
            start += len(save.events)
