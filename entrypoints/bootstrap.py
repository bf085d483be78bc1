"""One wiring point: settings → database → application → read side."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace

from ledger.application import Ledger
from ledger.database import eventsourcing_env, open_database
from ledger.settings import Settings, load_settings
from projections.runner import BATCH_SIZE, ReadSide
from projections.tree import Publisher


@dataclass(frozen=True)
class Services:
    """What a running program uses. ``url`` is the database in use (the embedded
    server's, if one was started), and so is ``settings.database_url``."""

    settings: Settings
    url: str
    ledger: Ledger
    read_side: ReadSide


@contextlib.contextmanager
def bootstrap(
    settings: Settings | None = None, *, batch_size: int = BATCH_SIZE
) -> Iterator[Services]:
    """Open the database (starting the embedded server if no ``DATABASE_URL`` is set),
    the ledger and its read side; close them, and stop a server started here, on exit."""
    settings = settings or load_settings()
    with open_database(settings) as url:
        env = eventsourcing_env(url, create_tables=settings.create_tables)
        ledger = Ledger(env, id_hash_key=settings.id_hash_key)
        try:
            read_side = ReadSide(
                ledger,
                batch_size=batch_size,
                publisher=Publisher.from_settings(settings),
                create_tables=settings.create_tables,
            )
            yield Services(replace(settings, database_url=url), url, ledger, read_side)
        finally:
            ledger.close()
