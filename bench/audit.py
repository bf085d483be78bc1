"""Verifying the hash chain against reading the stored events.

Loads a generated history of at least ``--events`` events and its hash chain,
then measures in one run: reading every stored event in notification order
(the raw limit) and ``ledger audit verify`` (the same reading, plus recomputing
every link and comparing it with the chain and the signed checkpoints).

    python -m bench.audit [--events 200000]
"""

from __future__ import annotations

import argparse
import time

import psycopg

import audit
from audit.reading import READ_BATCH
from bench.common import bench_database
from bench.projections import load
from ledger.application import Ledger
from ledger.database import eventsourcing_env
from projections.chain import HashChain
from projections.runner import ReadSide

KEY = bytes(32)


def read_raw(url: str) -> int:
    count = 0
    with psycopg.connect(url) as conn, conn.cursor(name="raw") as cursor:
        cursor.itersize = READ_BATCH
        cursor.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM ledger_events ORDER BY notification_id"
        )
        for _ in cursor:
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    with bench_database() as url:
        ledger = Ledger(eventsourcing_env(url))
        try:
            total = load(ledger, args.events)
            ReadSide(ledger, models=[HashChain], signing_key=KEY).open()
        finally:
            ledger.close()
        started = time.perf_counter()
        read = read_raw(url)
        raw = read / (time.perf_counter() - started)
        started = time.perf_counter()
        result = audit.verify(url)
        verify = result.events / (time.perf_counter() - started)
    assert result.intact and result.events == total == read, result.findings[:3]
    print(f"events={total} checkpoints={result.checkpoints}")
    print(f"raw read={raw:,.0f} events/s  verify={verify:,.0f} events/s")
    ratio = verify / raw
    print(f"audit verify events={total} raw={raw:.0f}/s verify={verify:.0f}/s ratio={ratio:.3f}")


if __name__ == "__main__":
    main()
