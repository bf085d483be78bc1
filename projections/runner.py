"""Keeping the read models up to date, rebuilding them, and waiting for them.

Each read model lives in generations of physical tables (``rm_<name>_v<version>_g<n>_*``).
Readers query plain views named after its tables; the registry table says which
generation the views show. A rebuild, or a new version of a read model's schema,
fills a new generation from position 0 beside the live one, then switches the
views over in one transaction and drops the old generation.

Events are read from the notification log in batches; each read model applies a
whole batch and records it with its tracking record in one transaction. When
the log is exhausted the runner waits for the event store's NOTIFY. A batch that
fails for anything but the database being away is applied in halves down to the
event that fails alone, which is quarantined; the database being away is waited
out. One rebuild runs at a time in a database (an advisory lock).

One object, ``ReadSide``, keeps these together (about 480 lines): generations, following
the log and waiting for it share the live map and its registry; what an event that
cannot be applied leaves behind is in ``projections.quarantine``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar, cast

from eventsourcing.persistence import IntegrityError, Notification, ProgrammingError, Tracking
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from ledger.application import Ledger
from ledger.collector import collector_paused
from ledger.database import discard_broken_connections, harden_pool, is_outage
from projections import quarantine
from projections.base import MustStop, ReadModel, Undecodable, ViewRecorder
from projections.boards import CommunityBoards
from projections.documents import Documents
from projections.dossiers import Dossiers
from projections.entries import LedgerEntries
from projections.inbox import Inbox
from projections.members import MemberTotals
from projections.needs import Needs
from projections.quarantine import Quarantined
from projections.tree import MerkleLog, Publisher
from projections.units import UnitRankings

log = logging.getLogger(__name__)

READ_MODELS: tuple[type[ReadModel], ...] = (
    MerkleLog,
    LedgerEntries,
    MemberTotals,
    UnitRankings,
    CommunityBoards,
    Dossiers,
    Documents,
    Needs,
    Inbox,
)
REGISTRY = "read_models"
VIEWS_CHANNEL = "read_models"
NOTIFY_READERS = "SELECT pg_notify(%s, %s || ' ' || (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint)"
"""After a batch commits: the position the read models reached and the primary's WAL
position (bytes) by then, so a reader of a standby knows when it shows that batch."""
REBUILD_LOCK = 0x7265616473696465  # pg_advisory_lock key: one rebuild at a time
BATCH_SIZE = 20000
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 10.0

Progress = Callable[[int, int], None]
P = ParamSpec("P")
T = TypeVar("T")


def _once(method: Callable[P, T]) -> Callable[P, T]:
    """A recorder's read, tried once. The library's reads try ten times while the
    database is away, each try waiting for the pool's timeout (about a minute in all,
    deaf to ``stop``); the read side backs off by itself, so it hears of an outage
    within the pool's timeout (``POSTGRES_CONNECT_TIMEOUT``)."""
    plain, owner = getattr(method, "__wrapped__", None), getattr(method, "__self__", None)
    if plain is None or owner is None:
        return method
    return cast(Callable[P, T], functools.partial(plain, owner))


class UnknownReadModel(LookupError):
    pass


class GenerationSwitched(RuntimeError):
    """Another process switched a read model to a new generation while this one was
    writing to the old one: follow the registry and go on."""


class ReadSide:
    """The read models of one ledger: building, following, switching, waiting."""

    def __init__(
        self,
        ledger: Ledger,
        models: Sequence[type[ReadModel]] = READ_MODELS,
        batch_size: int = BATCH_SIZE,
        publisher: Publisher | None = None,
        create_tables: bool = True,
    ) -> None:
        """``publisher`` signs and publishes the Merkle tree's checkpoints;
        ``create_tables`` False: the registry and the quarantine exist already."""
        self.ledger = ledger
        self.publisher = publisher
        self.create_tables = create_tables
        self.recorder: PostgresApplicationRecorder = ledger.group_recorder
        self.datastore: PostgresDatastore = self.recorder.datastore
        harden_pool(self.datastore)  # the ledger's pool, which the read side draws from
        self.model_classes = {cls.name: cls for cls in models}
        self.batch_size = batch_size
        # Replaced, never changed in place: other threads read it while it moves on.
        self.live: dict[str, ReadModel] = {}
        self.caught_up_at = time.monotonic()
        if create_tables:
            with self.datastore.transaction(commit=True) as curs:
                create_registry(curs)

    # --- generations --------------------------------------------------------------

    def _registered(self) -> dict[str, tuple[int, int]]:
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                SQL("SELECT name, version, generation FROM {}").format(Identifier(REGISTRY))
            ).fetchall()
        return {r["name"]: (r["version"], r["generation"]) for r in rows}

    @staticmethod
    def _prefix(name: str, version: int, generation: int) -> str:
        return f"rm_{name}_v{version}_g{generation}"

    def _view(self, cls: type[ReadModel], generation: int) -> ViewRecorder:
        prefix = self._prefix(cls.name, cls.version, generation)
        return ViewRecorder(self.datastore, prefix=prefix, tables=cls.tables)

    def _model(self, cls: type[ReadModel], view: ViewRecorder, *, empty: bool = False) -> ReadModel:
        model = cls(view, empty=empty)
        if isinstance(model, MerkleLog):
            model.publisher = self.publisher
        return model

    def _drop_generation(self, prefix: str) -> None:
        """Drop every table of a generation, whatever tables its version had."""
        with self.datastore.transaction(commit=True) as curs:
            tables = curs.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND starts_with(tablename, %s)",
                (prefix + "_",),
            ).fetchall()
            for row in tables:
                curs.execute(SQL("DROP TABLE {}").format(Identifier(row["tablename"])))
            quarantine.forget(curs, prefix)

    def open(self) -> dict[str, ReadModel]:
        """The live generation of every read model, building any that is missing
        or whose schema version changed (beside the old one, which stays readable)."""
        if self.refresh():
            with self._exclusive():
                missing = self.refresh()  # another process may have built them meanwhile
                if missing:
                    self._rebuild(missing)
        return self.live

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One rebuild at a time in the whole database: the server and the worker both
        build what is missing when they start, and ``ledger rebuild`` may run beside them;
        two builders of one generation would drop each other's tables."""
        with self.datastore.get_connection() as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (REBUILD_LOCK,))
            got = row.fetchone()
            if not (got and got["got"]):
                log.warning("read side: waiting for a rebuild in another process")
                conn.execute("SELECT pg_advisory_lock(%s)", (REBUILD_LOCK,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (REBUILD_LOCK,))

    def refresh(self) -> list[str]:
        """Follow the registry: a generation switched by another process (a rebuild)
        replaces the one this process reads. Returns the read models that have no
        generation of their current version yet (nothing is built here)."""
        registered = self._registered()
        missing = []
        for name, cls in self.model_classes.items():
            entry = registered.get(name)
            if entry is None or entry[0] != cls.version:
                missing.append(name)
            elif name not in self.live or self.live[name].view.prefix != self._prefix(name, *entry):
                self.live = {**self.live, name: self._model(cls, self._view(cls, entry[1]))}
        return missing

    def rebuild(self, *names: str, progress: Progress | None = None) -> list[ReadModel]:
        """Fill a new generation of each named read model from position 0, reading
        the log once for all of them, then switch each to its new generation."""
        unknown = [n for n in names if n not in self.model_classes]
        if unknown:
            raise UnknownReadModel(unknown[0])
        with self._exclusive():
            return self._rebuild(names, progress)

    def _rebuild(self, names: Sequence[str], progress: Progress | None = None) -> list[ReadModel]:
        registered = self._registered()
        built: list[tuple[ReadModel, str | None]] = []
        for name in names:
            cls = self.model_classes[name]
            entry = registered.get(name)
            old = self._prefix(name, *entry) if entry else None
            built.append((self._fresh(cls, (entry[1] if entry else 0) + 1), old))
        models = self._fill([model for model, _ in built], progress)
        for model, (_, old) in zip(models, built, strict=True):
            self._switch(model, _generation(model.view.prefix))
            self.live = {**self.live, model.name: model}
            if old is not None and old != model.view.prefix:
                self._drop_generation(old)
        self._notify_readers(self.head())
        return models

    def _fresh(self, cls: type[ReadModel], generation: int) -> ReadModel:
        """An empty generation of a read model, replacing what an interrupted rebuild
        left of it."""
        view = self._view(cls, generation)
        self._drop_generation(view.prefix)
        view.create_table()
        return self._model(cls, view, empty=True)

    def _fill(self, models: list[ReadModel], progress: Progress | None) -> list[ReadModel]:
        """Fill new generations from position 0, reading the log once for all of them.
        Each is held while it fills (its rows written once at the end, then its
        indexes built). One whose batch or final write fails is filled again alone,
        unheld, batch by batch: the event to blame is found and quarantined as when
        following the log."""
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rebuild-writer")
        for model in models:
            model.hold(writer)

        # The rows the models keep live until the fill ends, and a batch's decoded events
        # until the batch ends: the garbage collector, walking them again and again, took
        # as long as the decoding. It is paused while the fill runs.
        with collector_paused():
            try:
                self.catch_up(models, progress=progress, ahead=True)
                # Two at a time: one model's rows are formatted while PostgreSQL takes in
                # another's and builds its indexes.
                with ThreadPoolExecutor(2, thread_name_prefix="rebuild-release") as releasing:
                    released = [
                        (model, None if model.spoiled else releasing.submit(_release, model))
                        for model in models
                    ]
                filled = []
                for model, done in released:
                    if done is not None:
                        error = done.exception()
                        if error is None:
                            filled.append(model)
                            continue
                        if is_outage(error) or not isinstance(error, Exception):
                            raise error
                        self._refill_warning(model, error)
                    again = self._fresh(type(model), _generation(model.view.prefix))
                    self.catch_up([again], progress=progress)
                    _indexed(again)
                    filled.append(again)
            finally:
                writer.shutdown()  # after what it was given: a failed fill leaves nothing writing
        return filled

    @staticmethod
    def _refill_warning(model: ReadModel, error: Exception) -> None:
        log.warning(
            json.dumps(
                {
                    "event": "rebuild_refill",
                    "model": model.name,
                    "error": f"{type(error).__name__}: {error}"[:500],
                },
                ensure_ascii=False,
            )
        )

    def _switch(self, model: ReadModel, generation: int) -> None:
        """Point the readers' views at ``model``'s tables, in one transaction."""
        with self.datastore.transaction(commit=True) as curs:
            for table in model.tables:
                curs.execute(SQL("DROP VIEW IF EXISTS {}").format(Identifier(table.name)))
                curs.execute(
                    SQL("CREATE VIEW {} AS SELECT * FROM {}").format(
                        Identifier(table.name), Identifier(model.view.physical(table))
                    )
                )
            curs.execute(
                SQL(
                    "INSERT INTO {} (name, version, generation) VALUES (%s, %s, %s) "
                    "ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version, "
                    "generation = EXCLUDED.generation, switched_at = now()"
                ).format(Identifier(REGISTRY)),
                (model.name, model.version, generation),
            )

    # --- following the log ------------------------------------------------------------

    def head(self) -> int:
        """The notification id of the last recorded event (0 for none)."""
        return _once(self.recorder.max_notification_id)() or 0

    def position(self, model: ReadModel) -> int:
        return model.view.max_tracking_id(self.ledger.name) or 0

    def positions(self) -> list[int]:
        """Where every live read model is; a generation another process switched to
        (and dropped the old one of) is followed."""
        if not self.live:  # not opened here: read what the registry says is live
            self.refresh()
        try:
            return [self.position(m) for m in self.live.values()]
        except ProgrammingError:  # the tables of a dropped generation
            self.refresh()
            return [self.position(m) for m in self.live.values()]

    def tracking_tables(self) -> list[str]:
        """The live read models' tracking tables, schema-qualified and quoted: a reader
        with connections of its own asks them where the read models are
        (``projections.queries.positions``)."""
        if not self.live:
            self.refresh()
        schema = self.datastore.schema
        return [f'"{schema}"."{m.view.tracking_table_name}"' for m in self.live.values()]

    def catch_up(
        self,
        models: Sequence[ReadModel] | None = None,
        progress: Progress | None = None,
        *,
        ahead: bool = False,
    ) -> int:
        """Apply every recorded event the models have not processed; returns how many
        notifications were read. ``ahead``: read each next batch while one is applied."""
        models = list(self.live.values()) if models is None else list(models)
        if not models:
            return 0
        with _Reader(_once(self.recorder.select_notifications), self.batch_size, ahead) as reader:
            return self._catch_up(models, progress, reader)

    def _catch_up(self, models: list[ReadModel], progress: Progress | None, reader: _Reader) -> int:
        positions = {m.name: self._start_of(m) for m in models}
        topics: set[str] = set()
        for m in models:
            if not m.raw:
                topics |= m.topics_handled()
        start = min(positions.values())
        head = self.head()
        read = 0
        while True:
            started = time.perf_counter()
            batch = reader.read(start)
            if not batch:
                self.caught_up_at = time.monotonic()
                return read
            events = [(self._decode(n), n.id) for n in batch if n.topic in topics]
            stored = [(n, n.id) for n in batch]
            last = batch[-1].id
            for m in list(models):
                if positions[m.name] < last:
                    mine = stored if m.raw else events
                    if positions[m.name] > start:
                        mine = [e for e in mine if e[1] > positions[m.name]]
                    try:
                        m.process_batch(mine, Tracking(self.ledger.name, last))
                    except Exception as error:
                        if is_outage(error) or isinstance(error, MustStop):
                            raise
                        if m.spoiled:  # held by a rebuild, which fills it again by itself
                            self._refill_warning(m, error)
                            models.remove(m)
                            del positions[m.name]
                            continue
                        if self._superseded(m):
                            raise GenerationSwitched(m.name) from error
                        done = self.position(m)
                        if isinstance(error, IntegrityError) and done > positions[m.name]:
                            # Another runner recorded some of these first (a worker killed
                            # mid-commit, or two following at once): go on from its position.
                            positions[m.name] = done
                            continue
                        positions[m.name] = self._isolate(m, mine, last, error)
                        continue
                    positions[m.name] = last
            self._notify_readers(last)
            log.info(
                json.dumps(
                    {
                        "event": "projection_batch",
                        "position": last,
                        "events": len(batch),
                        "models": [m.name for m in models],
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    }
                )
            )
            read += len(batch)
            if not positions:
                return read
            start = min(positions.values())
            if progress is not None:
                progress(last, max(head, last))

    def _start_of(self, model: ReadModel) -> int:
        """Where ``model`` is, as catching up starts; its generation dropped by a rebuild
        elsewhere is a switch to follow, not a failure."""
        try:
            return self.position(model)
        except ProgrammingError as error:
            if self._superseded(model):
                raise GenerationSwitched(model.name) from error
            raise

    def _superseded(self, model: ReadModel) -> bool:
        """Whether another process switched ``model``'s read model to a newer generation
        (and dropped, or is dropping, the one ``model`` writes)."""
        entry = self._registered().get(model.name)
        return entry is not None and entry[1] > _generation(model.view.prefix)

    def _decode(self, notification: Notification) -> Any:
        try:
            return self.ledger.mapper.to_domain_event(notification)
        except Exception as error:  # a read model that handles its topic quarantines it
            return Undecodable(notification, error)

    def _isolate(
        self, model: ReadModel, events: list[tuple[Any, int]], last: int, error: Exception
    ) -> int:
        """A batch failed for something other than the database being away: apply it in
        halves, and the halves of a half that fails, down to single events (each part
        with its own tracking record, in log order); quarantine each event that fails
        alone, and move on to ``last``. Halving keeps one bad event in a batch of
        thousands from costing a transaction per event."""
        log.warning(
            json.dumps(
                {
                    "event": "projection_batch_failed",
                    "model": model.name,
                    "from": events[0][1] if events else last,
                    "to": last,
                    "error": f"{type(error).__name__}: {error}"[:500],
                },
                ensure_ascii=False,
            )
        )
        pending = _halves(events, last) if len(events) > 1 else [(events, last)]
        while pending:
            chunk, upto = pending.pop()
            done = self.position(model)
            if done >= upto:
                continue  # another runner recorded it first
            chunk = [e for e in chunk if e[1] > done]
            try:
                model.process_batch(chunk, Tracking(self.ledger.name, upto))
            except Exception as failure:
                if is_outage(failure) or isinstance(failure, MustStop):
                    raise
                if self.position(model) >= upto:
                    continue  # another runner recorded it first
                if not chunk:  # nothing to set aside: the failure is not an event's
                    raise
                if len(chunk) == 1:
                    event, position = chunk[0]
                    self._quarantine(model, event, position, upto, failure)
                    continue
                pending += _halves(chunk, upto)
        return last

    def _quarantine(
        self, model: ReadModel, event: Any, position: int, upto: int, error: Exception
    ) -> None:
        """Record ``event`` as set aside and move ``model`` to ``upto`` (no other event of
        the model lies between them), in one transaction."""
        stored = event.notification if isinstance(event, Undecodable) else event
        topic = stored.topic if isinstance(stored, Notification) else get_topic(type(stored))
        reason = ""

        def record(curs: Cursor[DictRow]) -> None:
            nonlocal reason
            reason = quarantine.record(
                curs,
                model.view.prefix,
                position,
                model.name,
                topic,
                str(stored.originator_id),
                error,
            )

        model.view.skip(Tracking(self.ledger.name, upto), record)
        log.error(
            json.dumps(
                {
                    "event": "quarantined",
                    "model": model.name,
                    "position": position,
                    "topic": topic,
                    "error": reason,
                },
                ensure_ascii=False,
            )
        )

    def quarantined(self) -> list[Quarantined]:
        """The events the live read models have set aside, in log order (following a
        generation another process switched to)."""
        self.refresh()
        with self.datastore.get_connection() as conn:
            return quarantine.held(conn, [m.view.prefix for m in self.live.values()])

    def _notify_readers(self, position: int) -> None:
        with self.datastore.get_connection() as conn:
            conn.execute(NOTIFY_READERS, (VIEWS_CHANNEL, str(position)))

    def run(self, stop: threading.Event, *, idle_wait: float = 1.0) -> None:
        """Follow the notification log until ``stop`` is set, woken by NOTIFY. Whatever
        fails (the database going away included) is logged and tried again after a
        pause that doubles up to ``RETRY_MAX_SECONDS``: the runner never ends by itself."""
        channel = self.recorder.channel_name
        delay = RETRY_FIRST_SECONDS
        while not stop.is_set():
            try:
                with self.datastore.get_connection() as listener:
                    listener.execute(SQL("LISTEN {}").format(Identifier(channel)))
                    while not stop.is_set():
                        self.open()
                        try:
                            self.catch_up()
                        except GenerationSwitched as switched:
                            log.info("read side: %s was rebuilt elsewhere; following it", switched)
                            continue  # open() reads the new generation
                        for model in self.live.values():
                            model.idle()
                        delay = RETRY_FIRST_SECONDS
                        for _ in listener.notifies(timeout=idle_wait, stop_after=1):
                            pass
            except Exception as error:
                if is_outage(error):
                    log.warning(
                        "read side: database unavailable (%r); retrying in %.1f s", error, delay
                    )
                else:
                    log.exception("read side failed; retrying in %.1f s", delay)
                stop.wait(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
                if is_outage(error):
                    discard_broken_connections(self.datastore.pool)

    def lag(self) -> tuple[int, float]:
        """Events recorded but not yet in every read model, and for how long the read
        models have been behind (0 when caught up)."""
        head = self.head()
        behind = head - min(self.positions(), default=0)
        if behind <= 0:  # seen caught up (a reader that does not follow sees it here)
            self.caught_up_at = time.monotonic()
            return 0, 0.0
        return behind, time.monotonic() - self.caught_up_at

    # --- read-your-writes -----------------------------------------------------------

    def wait(self, position: int, timeout: float = 5.0) -> None:
        """Block until every live read model has processed ``position`` (with none live
        yet, until one is). While the database is away this raises its outage error
        within the pool's timeout."""
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            done = self.positions()
            if done and all(at >= position for at in done):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"read models have not reached position {position}")
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.1)


def _release(model: ReadModel) -> None:
    model.release()
    _indexed(model)


def _indexed(model: ReadModel) -> None:
    """A filled generation's secondary indexes built, and the model told."""
    model.view.create_indexes()
    model.filled()


class _Reader:
    """Batches of the notification log; reading ahead, the batch after the one just read
    is read on a thread of its own while that one is applied."""

    def __init__(self, select: Callable[..., list[Notification]], size: int, ahead: bool) -> None:
        self._select = select
        self._size = size
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="read-ahead") if ahead else None
        self._next: tuple[int, Future[list[Notification]]] | None = None

    def read(self, start: int) -> list[Notification]:
        following, self._next = self._next, None
        if following is not None and following[0] == start:
            batch = following[1].result()
        else:
            batch = self._select(start, self._size, inclusive_of_start=False)
        if self._pool is not None and len(batch) == self._size:
            after = batch[-1].id
            self._next = (
                after,
                self._pool.submit(self._select, after, self._size, inclusive_of_start=False),
            )
        return batch

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *_: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


def create_registry(curs: Cursor[DictRow]) -> None:
    """The registry of live generations and the quarantine, shared by every read model."""
    curs.execute(
        SQL(
            "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, version integer, "
            "generation integer, switched_at timestamptz DEFAULT now())"
        ).format(Identifier(REGISTRY))
    )
    curs.execute(quarantine.CREATE)


def _halves(events: list[tuple[Any, int]], upto: int) -> list[tuple[list[tuple[Any, int]], int]]:
    """Two parts of a failed batch, each with the position its tracking record takes,
    the first part last (it is taken first from the stack)."""
    half = len(events) // 2
    return [(events[half:], upto), (events[:half], events[half - 1][1])]


def _generation(prefix: str) -> int:
    """The generation number in a prefix ``rm_<name>_v<version>_g<generation>``."""
    return int(prefix.rsplit("_g", 1)[1])
