"""Importing past service records against COPYing the same rows into a plain table.

Writes a CSV of ``--rows`` service records (members, units and communities of a
street, one service per row), then measures in one run: events per second
recorded by ``ledger import services`` (the commands, the rules, the event
store), and the raw asyncpg COPY rate of the same rows into a plain table.

    python -m bench.import [--rows 100000] [--workers N (default: the machine's cores)]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import asyncpg

from bench.common import bench_database, service_records
from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.importer import HEADERS, import_services, read_rows


async def copy_rate(url: str, lines: list[list[str]]) -> float:
    conn = await asyncpg.connect(url)
    try:
        columns = [f"c{i}" for i in range(len(HEADERS))]
        await conn.execute(f"CREATE TABLE raw_rows ({', '.join(c + ' text' for c in columns)})")
        started = time.perf_counter()
        await conn.copy_records_to_table("raw_rows", records=lines, columns=columns)
        return len(lines) / (time.perf_counter() - started)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with bench_database() as url, tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "services.csv"
        lines = service_records(source, args.rows)
        ledger = Ledger(eventsourcing_env(url))
        try:
            started = time.perf_counter()
            result = import_services(ledger, read_rows(source), source.name, workers=args.workers)
            elapsed = time.perf_counter() - started
            events = ledger.recorder.max_notification_id() or 0
        finally:
            ledger.close()
        raw = asyncio.run(copy_rate(url, lines))
    assert result.imported == args.rows, result.bad[:3]
    rate, per_row = events / elapsed, args.rows / elapsed
    print(f"rows={args.rows} events={events} import={rate:,.0f} events/s ({per_row:,.0f} rows/s)")
    print(f"raw COPY={raw:,.0f} rows/s")
    ratio = rate / raw
    print(
        f"import rows={args.rows} import={rate:.0f} events/s raw={raw:.0f} rows/s ratio={ratio:.4f}"
    )


if __name__ == "__main__":
    main()
