"""The transparency log: building the tree, verifying, serving proofs.

Loads a generated history of at least ``--events`` events, then measures in one run:

- building the Merkle tree in a rebuild of its read model (events/s);
- reading every stored event in notification order (the raw limit) against
  ``ledger audit verify --against`` (the same reading, every leaf hashed again and
  compared with the stored tree, the tree recomputed and compared with every
  checkpoint, and a consistency proof from the kept checkpoint), and the same with the
  credit↔award reconciliation on top;
- inclusion proofs served from the stored hashes (proofs/s);
- consistency proofs from size 1,000 to sizes up to ``--synthetic`` leaves, on a tree of
  that many synthetic leaves stored the way the read model stores them (time per
  proof, and its length: both grow with the logarithm of the size).

    python -m bench.audit [--events 200000] [--synthetic 1000000]

The last line's ``ratio`` is the verification of the tree (every leaf recomputed, every
checkpoint and the consistency proof checked) over the raw read; the line before it
gives the rate with the reconciliation, which decodes the account and cause events.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

import audit
from audit.reading import READ_BATCH
from bench.common import bench_database
from bench.projections import load
from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.settings import Settings
from projections import merkle, tree
from projections.runner import ReadSide
from projections.tree import MerkleLog, Publisher, pinned_verifier

KEY = bytes(32)
PROOFS = 2000


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


def synthetic_tree(url: str, size: int) -> tuple[str, str]:
    """``size`` synthetic leaves and their perfect subtrees, stored as the read model
    stores them, in tables of their own."""
    leaves, nodes = "bench_synthetic_leaves", "bench_synthetic_nodes"
    compact = merkle.CompactRange()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE {leaves} (leaf_index bigint PRIMARY KEY, position bigint, hash bytea)"
        )
        conn.execute(
            f"CREATE TABLE {nodes} (level smallint, node_index bigint, hash bytea, "
            "PRIMARY KEY (level, node_index))"
        )
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY {leaves} FROM STDIN") as copy_leaves,
        ):
            made = []
            for i in range(size):
                leaf = merkle.leaf_hash(i.to_bytes(8, "big"))
                copy_leaves.write_row((i, i + 1, leaf))
                made += compact.append(leaf)
        with conn.cursor() as cur, cur.copy(f"COPY {nodes} FROM STDIN") as copy_nodes:
            for row in made:
                copy_nodes.write_row(row)
    return leaves, nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--synthetic", type=int, default=1_000_000)
    args = parser.parse_args()
    with bench_database() as url, tempfile.TemporaryDirectory() as outside:
        settings = Settings(
            database_url=url,
            data_dir=Path(outside) / "data",
            id_hash_key=b"bench",
            signing_key=KEY,
            checkpoint_log=Path(outside) / "log" / "checkpoints.jsonl",
        )
        verifier = pinned_verifier(settings)
        ledger = Ledger(eventsourcing_env(url))
        try:
            total = load(ledger, args.events)
            side = ReadSide(ledger, models=[MerkleLog], publisher=Publisher.from_settings(settings))
            started = time.perf_counter()
            side.open()
            build = total / (time.perf_counter() - started)
            kept = audit.publish_now(side).note
            published = [kept]
            started = time.perf_counter()
            read = read_raw(url)
            raw = read / (time.perf_counter() - started)
            started = time.perf_counter()
            result = audit.verify(url, verifier, kept=kept, published=published)
            verify = result.events / (time.perf_counter() - started)
            started = time.perf_counter()
            full = audit.verify(url, verifier, kept=kept, published=published, ledger=ledger)
            full_rate = full.events / (time.perf_counter() - started)
            positions = random.Random(1).sample(range(1, total + 1), min(PROOFS, total))
            started = time.perf_counter()
            for position in positions:
                audit.inclusion(ledger, position, total)
            proofs = len(positions) / (time.perf_counter() - started)
        finally:
            ledger.close()
        leaves, nodes = synthetic_tree(url, args.synthetic)
        with psycopg.connect(url, row_factory=dict_row) as conn:
            sizes = [1_000 * 10**k for k in range(7) if 1_000 * 10**k <= args.synthetic]
            timings = []
            for size in sizes[1:] or sizes:
                started = time.perf_counter()
                for _ in range(20):
                    hashes = tree.consistency_proof(conn, 1_000, size, leaves, nodes)
                timings.append((size, (time.perf_counter() - started) / 20 * 1000, len(hashes)))
    assert result.intact and full.intact and result.events == total == read, full.findings[:3]
    print(f"events={total} checkpoint size={result.leaves}")
    print(f"tree build in a rebuild={build:,.0f} events/s")
    print(f"inclusion proofs served={proofs:,.0f}/s (tree of {total:,})")
    for size, ms, length in timings:
        print(f"consistency proof 1,000 -> {size:,}: {ms:.2f} ms, {length} hashes")
    print(
        f"raw read={raw:,.0f} events/s  verify+reconcile={full_rate:,.0f} events/s "
        f"({full_rate / raw:.3f} of raw)"
    )
    ratio = verify / raw
    print(f"audit verify events={total} raw={raw:.0f}/s verify={verify:.0f}/s ratio={ratio:.3f}")


if __name__ == "__main__":
    main()
