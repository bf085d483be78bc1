"""What a ledger of N events costs here, to extrapolate a megacity's year from.

Loads a generated street history of at least ``--events`` events through the
ledger's commands (batches of 1,000), or with ``--load import`` a file of service
records (about nine events a row) through the bulk import and its workers, then
measures: the load rate, the event
store's size on disk per event, each read model's rows and size per event, and a
rebuild of every read model from position 0; and reads the event store back raw
(read and decode) as the baseline of the rebuild.

    python -m bench.scale [--events 1000000] [--load story|import]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from bench.common import bench_database, service_records
from bench.projections import load, rates
from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.importer import import_services, read_rows
from projections.runner import READ_MODELS

EVENTS_PER_RECORD = 9
"""About how many events an imported service record makes (a member's first record more)."""
MEGACITY_EVENTS_PER_YEAR = 40_000_000
"""Seed 004: 130,000 Party members and 1.7 million volunteers in one city."""

SIZES = """
SELECT c.relname, pg_total_relation_size(c.oid) AS bytes, c.reltuples::bigint AS estimate
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname = 'public'
"""


def sizes(url: str) -> dict[str, tuple[int, int]]:
    """Bytes on disk (with indexes and TOAST) and exact rows of every table."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        tables = conn.execute(SIZES).fetchall()
        found = {}
        for name, size, _ in tables:
            row = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()
            found[name] = (int(size), int(row[0]) if row else 0)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--load", choices=("story", "import"), default="story")
    args = parser.parse_args()
    with bench_database() as url, tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(eventsourcing_env(url))
        try:
            if args.load == "import":
                source = Path(tmp) / "records.csv"
                service_records(source, args.events // EVENTS_PER_RECORD)
            started = time.perf_counter()
            if args.load == "import":
                workers = os.cpu_count() or 1
                import_services(ledger, read_rows(source), source.name, workers=workers)
                total = ledger.recorder.max_notification_id() or 0
            else:
                total = load(ledger, args.events)
            load_rate = total / (time.perf_counter() - started)
            raw, rebuild = rates(ledger, total)
        finally:
            ledger.close()
        tables = sizes(url)
    scale = MEGACITY_EVENTS_PER_YEAR / total
    store_bytes, _ = tables.get("ledger_events", (0, 0))
    how = "bulk import" if args.load == "import" else "commands, batches of 1,000"
    print(f"events={total:,} load={load_rate:,.0f} events/s ({how})")
    print(f"event store: {store_bytes / total:,.0f} bytes/event on disk")
    for model in READ_MODELS:
        prefix = f"rm_{model.name}_"
        owned = [(n, s) for n, s in tables.items() if n.startswith(prefix)]
        bytes_, rows = sum(s[0] for _, s in owned), sum(s[1] for _, s in owned)
        print(
            f"  {model.name:24} rows/event={rows / total:7.4f} bytes/event={bytes_ / total:8.1f}",
            file=sys.stderr,
        )
    models_bytes = sum(s[0] for n, s in tables.items() if n.startswith("rm_"))
    print(f"read models: {models_bytes / total:,.0f} bytes/event on disk")
    print(f"rebuild of {len(READ_MODELS)} read models {rebuild:,.0f} events/s; raw read {raw:,.0f}")
    hours = MEGACITY_EVENTS_PER_YEAR / 3600
    print(
        f"megacity year ({MEGACITY_EVENTS_PER_YEAR:,} events): event store "
        f"{store_bytes * scale / 1e9:,.1f} GB, read models {models_bytes * scale / 1e9:,.1f} GB, "
        f"load {hours / load_rate:,.1f} h, rebuild {hours / rebuild:,.1f} h"
    )
    print(
        f"scale events={total} load={load_rate:.0f}/s rebuild={rebuild:.0f}/s raw={raw:.0f}/s "
        f"ratio={rebuild / raw:.3f}"
    )


if __name__ == "__main__":
    main()
