"""The machinery every read model shares.

A read model is an ``eventsourcing`` Projection whose view is a
``PostgresTrackingRecorder`` subclass: it owns a few tables and a tracking
record, and writes a whole batch of events' changes and the tracking record in
one transaction, so a crash never counts an event twice or skips one.

While it processes a batch, a read model keeps the rows it touches in memory
(read once, changed many times) and writes each changed row once at the end
of the batch. While a rebuild fills a generation nobody reads yet, the model is
*held*: the rows it keeps are written once when the fill ends (``release``), not
rewritten at the end of every batch, and secondary indexes are built after them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, ClassVar

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

Row = dict[str, Any]
Key = tuple[Any, ...]
MAX_CACHED_ROWS = 500_000


@dataclass(frozen=True)
class Table:
    """A table of a read model: ``name`` is what readers query (a view over the
    active version's physical table)."""

    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)


class Rows:
    """One table's rows as seen by the batch being processed.

    Rows known to be new go to the table by COPY; changed rows go by COPY into a
    temporary table and from there into the table in one upsert: COPY is by far
    the cheapest way to hand PostgreSQL many rows from Python.
    """

    def __init__(self, table: Table, physical: str, datastore: PostgresDatastore) -> None:
        self.table = table
        self.physical = physical
        self._datastore = datastore
        self._cache: dict[Key, Row | None] = {}
        self._new: set[Key] = set()
        self._dirty: set[Key] = set()
        self._appended: list[tuple[Any, ...]] = []
        self.complete = False  # True: every row of the table is in the cache
        self.held = False  # True: rows kept in memory are written only by a full flush
        if len(table.key) == 1:
            only = table.key[0]
            self._key: Callable[[Row], Key] = lambda row: (row[only],)
        else:
            self._key = itemgetter(*table.key)
        names = table.column_names
        self._values: Callable[[Row], tuple[Any, ...]] = (
            itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
        )
        columns = SQL(", ").join(Identifier(c) for c in names)
        name, staged = Identifier(physical), Identifier(f"{physical}_staged")
        where = SQL(" AND ").join(SQL("{} = %s").format(Identifier(k)) for k in table.key)
        self._select = SQL("SELECT {} FROM {} WHERE {}").format(columns, name, where)
        updates = [SQL("{0} = EXCLUDED.{0}").format(Identifier(c)) for c in names]
        updates = [u for c, u in zip(names, updates, strict=True) if c not in table.key]
        self._stage = SQL(
            "CREATE TEMPORARY TABLE IF NOT EXISTS {} (LIKE {}) ON COMMIT DELETE ROWS"
        ).format(staged, name)
        self._copy_staged = SQL("COPY {} ({}) FROM STDIN").format(staged, columns)
        self._upsert = SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) DO ").format(
            name, columns, columns, staged, SQL(", ").join(Identifier(k) for k in table.key)
        ) + (SQL("UPDATE SET ") + SQL(", ").join(updates) if updates else SQL("NOTHING"))
        self._copy = SQL("COPY {} ({}) FROM STDIN").format(name, columns)

    def get(self, *key: Any) -> Row | None:
        try:
            return self._cache[key]
        except KeyError:
            pass
        row = None
        if not self.complete:
            with self._datastore.get_connection() as conn:
                found = conn.execute(self._select, key).fetchone()
            row = dict(found) if found is not None else None
        self._cache[key] = row
        return row

    def put(self, row: Row) -> Row:
        key = self._key(row)
        known = self._cache.get(key, False)
        if known is None or (known is False and self.complete):
            self._new.add(key)  # certainly not in the table yet
        elif key not in self._new:
            self._dirty.add(key)
        self._cache[key] = row
        return row

    def changed(self, row: Row) -> None:
        key = self._key(row)
        if key not in self._new:
            self._dirty.add(key)

    def append(self, values: tuple[Any, ...]) -> None:
        self._appended.append(values)

    @property
    def keeps(self) -> bool:
        """Whether a flush now would write only the appended rows (the rest held)."""
        return self.held and len(self._cache) <= MAX_CACHED_ROWS

    def take_appended(self) -> list[tuple[Any, ...]]:
        """The rows appended since the last flush, handed over to be written."""
        appended, self._appended = self._appended, []
        return appended

    def write_appended(self, curs: Cursor[DictRow], appended: list[tuple[Any, ...]]) -> None:
        if appended:
            self._copy_rows(curs, self._copy, appended)

    def flush(self, curs: Cursor[DictRow]) -> None:
        """Write what the batch appended and, unless held, every row it put or changed;
        held rows are written too once the cache outgrows its bound."""
        self.write_appended(curs, self.take_appended())
        if self.keeps:
            return
        values, cache = self._values, self._cache
        if self._new:
            new = (cache[key] for key in self._new)
            self._copy_rows(curs, self._copy, [values(row) for row in new if row is not None])
            self._new = set()
        if self._dirty:
            dirty = (cache[key] for key in self._dirty)
            curs.execute(self._stage)
            self._copy_rows(
                curs, self._copy_staged, [values(row) for row in dirty if row is not None]
            )
            curs.execute(self._upsert)
            self._dirty = set()
        if len(cache) > MAX_CACHED_ROWS:
            cache.clear()
            self.complete = False

    @staticmethod
    def _copy_rows(curs: Cursor[DictRow], statement: Composed, rows: list[tuple[Any, ...]]) -> None:
        with curs.copy(statement) as copy:
            for values in rows:
                copy.write_row(values)

    def forget(self) -> None:
        """After a failed batch: what is in memory may be ahead of the database."""
        self._cache.clear()
        self._new = set()
        self._dirty = set()
        self._appended = []
        self.complete = False


class ViewRecorder(PostgresTrackingRecorder):
    """The physical tables of one generation of one read model, and its tracking."""

    def __init__(
        self, datastore: PostgresDatastore, *, prefix: str, tables: Sequence[Table]
    ) -> None:
        super().__init__(datastore, tracking_table_name=f"{prefix}_tracking")
        self.prefix = prefix
        self.tables = tables
        self.index_statements: list[Composed] = []
        """Built by ``create_indexes`` once a rebuild has filled the tables."""
        for table in tables:
            physical = Identifier(self.physical(table))
            columns = SQL(", ").join(
                SQL("{} {}").format(Identifier(c), SQL(t)) for c, t in table.columns
            )
            key = SQL(", ").join(Identifier(k) for k in table.key)
            self.sql_create_statements.append(
                SQL("CREATE TABLE IF NOT EXISTS {} ({}, PRIMARY KEY ({}))").format(
                    physical, columns, key
                )
            )
            for n, index in enumerate(table.indexes):
                self.index_statements.append(
                    SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
                        Identifier(f"{self.physical(table)}_i{n}"),
                        physical,
                        SQL(", ").join(SQL(c) for c in index),
                    )
                )

    def physical(self, table: Table) -> str:
        return f"{self.prefix}_{table.name}"

    def create_indexes(self) -> None:
        """The secondary indexes: one sort each after the fill, cheaper than keeping
        them up to date row by row while it runs."""
        with self.datastore.transaction(commit=True) as curs:
            for statement in self.index_statements:
                curs.execute(statement)

    def max_tracking_id(self, application_name: str) -> int | None:
        """Tried once: the library's tries ten times while the database is away, each
        try waiting for the pool's timeout; the runner backs off by itself."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            return self._max_tracking_id(application_name, curs)

    def write(self, tracking: Tracking, flush: Callable[[Cursor[DictRow]], None]) -> None:
        """Write a batch's rows and its tracking record in one transaction."""
        with self.datastore.transaction(commit=True) as curs:
            flush(curs)
            self._insert_tracking(curs, tracking)

    def skip(self, tracking: Tracking, record: Callable[[Cursor[DictRow]], None]) -> None:
        """Move past an event that cannot be applied: ``record`` says why, in the same
        transaction as the tracking record, so nothing is skipped without a trace."""
        with self.datastore.transaction(commit=True) as curs:
            record(curs)
            self._insert_tracking(curs, tracking)


class MustStop(Exception):
    """A failure no single event is to blame for: the runner neither halves the batch
    nor quarantines anything, and a rebuild stops without switching."""


@dataclass(frozen=True)
class Undecodable:
    """A stored event that could not be turned into a domain event."""

    notification: Any
    error: Exception


Handler = Callable[[Any, Any, int], None]


class ReadModel(Projection[ViewRecorder]):
    """A read model: its tables, its version, and what each event does to them."""

    version: ClassVar[int] = 1
    tables: ClassVar[tuple[Table, ...]] = ()
    raw: ClassVar[bool] = False
    """True: the model is given stored notifications, not decoded domain events."""

    def __init__(self, view: ViewRecorder, *, empty: bool = False) -> None:
        super().__init__(view)
        self.rows = {t.name: Rows(t, view.physical(t), view.datastore) for t in self.tables}
        for rows in self.rows.values():
            rows.complete = empty
        self._handlers: dict[type, Handler] = {
            event_class: getattr(self, method) for event_class, method in self.handlers().items()
        }
        self._topics = set() if self.raw else self.topics_handled()
        self.spoiled = False
        """True: a batch failed while held, and the rows only memory had are gone."""
        self._writer: ThreadPoolExecutor | None = None
        self._writing: Future[None] | None = None

    @classmethod
    def handlers(cls) -> dict[type, str]:
        """Which method handles which event class."""
        raise NotImplementedError

    @classmethod
    def topics_handled(cls) -> set[str]:
        from eventsourcing.utils import get_topic

        return {get_topic(event_class) for event_class in cls.handlers()}

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.process_batch([(domain_event, tracking.notification_id)], tracking)

    def process_batch(self, events: Iterable[tuple[Any, int]], tracking: Tracking) -> None:
        """Apply events (with their positions) and record them with ``tracking``."""
        handlers = self._handlers
        try:
            for event, position in events:
                handler = handlers.get(type(event))
                if handler is not None:
                    handler(event, event.originator_id, position)
                elif isinstance(event, Undecodable) and event.notification.topic in self._topics:
                    raise event.error
            self._write(tracking)
        except BaseException:
            self.forget()
            raise

    def _write(self, tracking: Tracking) -> None:
        """Record a processed batch: its rows and ``tracking`` in one transaction. Held
        with a writer, a batch that only appended rows is written in the background
        while the next one is read and applied; a failure surfaces at the next batch."""
        self.settle()
        if self._writer is None or not all(rows.keeps for rows in self.rows.values()):
            self.view.write(tracking, self._flush)
            return
        taken = [(rows, rows.take_appended()) for rows in self.rows.values()]

        def flush(curs: Cursor[DictRow]) -> None:
            for rows, appended in taken:
                rows.write_appended(curs, appended)

        self._writing = self._writer.submit(self.view.write, tracking, flush)

    def settle(self) -> None:
        """Wait for the batch being written in the background; its failure is raised."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.result()

    def forget(self) -> None:
        """After a failed batch: what is in memory may be ahead of the database."""
        self.spoiled = self.spoiled or self.held
        if self._writing is not None:
            wait([self._writing])  # nothing of this model is written after this
            self._writing = None
        for rows in self.rows.values():
            rows.forget()

    def hold(self, writer: ThreadPoolExecutor | None = None) -> None:
        """From now on keep the rows in memory across batches (a rebuild's fill, which
        no reader sees): each batch writes only what it appended and its tracking, on
        ``writer``'s thread if given."""
        self._writer = writer
        for rows in self.rows.values():
            rows.held = True

    def release(self) -> None:
        """Write every row kept in memory, and stop holding them."""
        self.settle()
        self._writer = None
        for rows in self.rows.values():
            rows.held = False
        with self.view.datastore.transaction(commit=True) as curs:
            self._flush(curs)

    @property
    def held(self) -> bool:
        return any(rows.held for rows in self.rows.values())

    def idle(self) -> None:
        """Called when the runner has caught up: work that is due on time, not on events."""

    def filled(self) -> None:
        """Called when a new generation has been filled and its indexes built."""

    def _flush(self, curs: Cursor[DictRow]) -> None:
        for rows in self.rows.values():
            rows.flush(curs)


def event_class(aggregate: type, name: str) -> type:
    """An aggregate's event class by its name (the ``@event`` decorator makes them)."""
    cls: type = getattr(aggregate, name)
    return cls
