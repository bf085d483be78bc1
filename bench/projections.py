"""Rebuilding every read model against reading and decoding the event store.

Loads a generated street history of at least ``--events`` events, then measures
in one run: the raw limit (reading every stored event in batches and decoding
it into a domain event, nothing else) and ``rebuild`` of all read models from
position 0 (same reading, plus every view's rows and tracking written).

    python -m bench.projections [--events 200000]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta

from bench.common import bench_database
from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.simulation import Generator, Scale
from projections.runner import BATCH_SIZE, READ_MODELS, ReadSide


def load(ledger: Ledger, events: int) -> int:
    # The street makes about 650 events a day at this rhythm; it starts early enough for
    # twice as few (the ledger refuses service times in the future).
    start = date.today() - timedelta(days=events // 300 + 30)
    scale = Scale(tasks_per_community_day=2.5, start=start)
    generator = Generator(ledger, scale, seed=11, batch_size=1000)
    history = generator.setup()
    day = 0
    while (ledger.recorder.max_notification_id() or 0) < events:
        generator.days(history, day, 30)
        day += 30
        print(f"\rloaded {ledger.recorder.max_notification_id():,} events", end="", file=sys.stderr)
    print(file=sys.stderr)
    return ledger.recorder.max_notification_id() or 0


def read_and_decode(ledger: Ledger) -> int:
    count, start = 0, 0
    while True:
        batch = ledger.recorder.select_notifications(start, BATCH_SIZE, inclusive_of_start=False)
        if not batch:
            return count
        for notification in batch:
            ledger.mapper.to_domain_event(notification)
        count += len(batch)
        start = batch[-1].id


def rates(ledger: Ledger, total: int) -> tuple[float, float]:
    """Events per second read and decoded raw, and rebuilt into every read model."""
    started = time.perf_counter()
    read = read_and_decode(ledger)
    raw = read / (time.perf_counter() - started)
    started = time.perf_counter()
    ReadSide(ledger).rebuild(*(m.name for m in READ_MODELS))
    return raw, total / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    with bench_database() as url:
        ledger = Ledger(eventsourcing_env(url))
        try:
            total = load(ledger, args.events)
            raw, rebuild = rates(ledger, total)
        finally:
            ledger.close()
    print(f"events={total} raw read+decode={raw:,.0f} events/s")
    print(f"rebuild of {len(READ_MODELS)} read models={rebuild:,.0f} events/s")
    print(
        f"projections events={total} raw={raw:.0f}/s rebuild={rebuild:.0f}/s "
        f"ratio={rebuild / raw:.3f}"
    )


if __name__ == "__main__":
    main()
