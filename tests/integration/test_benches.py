"""Every benchmark in bench/ still runs: once each, with tiny parameters, as a reader would
run it (``python -m bench.NAME``), and ends on its ``ratio=`` line. The figures of so small
a run mean nothing; that the bench gets to them is what is checked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.database import EmbeddedServer

ROOT = Path(__file__).resolve().parents[2]
BENCHES = sorted(
    path.stem for path in (ROOT / "bench").glob("*.py") if path.stem not in ("__init__", "common")
)
TINY = {
    "api": ["--seconds", "1", "--rounds", "1", "--warm-up", "0", "--members", "200"],
    "api_floor": ["--seconds", "1", "--rounds", "1", "--warm-up", "0", "--members", "200"],
    "audit": ["--events", "2000", "--synthetic", "2000"],
    "documents": ["--members", "20", "--days", "5", "--certificates", "2"],
    "import": ["--rows", "200", "--workers", "1"],
    "kiosk": ["--seconds", "1", "--warm-up", "0", "--members", "2"],
    "projections": ["--events", "2000"],
    "replica": ["--seconds", "1", "--warm-up", "0", "--members", "20"],
    "scale": ["--events", "2000"],
    "write_path": ["--per-caller", "2"],
}


def test_every_bench_has_tiny_parameters():
    assert sorted(TINY) == BENCHES  # a new bench gets its tiny run here


@pytest.mark.parametrize("name", BENCHES)
def test_the_bench_runs_and_ends_on_its_ratio(name: str, pg_server: EmbeddedServer) -> None:
    ran = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *TINY[name]],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": pg_server.url()},  # a fresh database on it
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    last = ran.stdout.strip().splitlines()[-1]
    assert "ratio=" in last, ran.stdout
