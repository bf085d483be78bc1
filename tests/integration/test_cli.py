"""``ledger db start / url / stop`` manage the embedded server for other tools."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg


def ledger(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["LEDGER_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "ledger.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_db_start_url_and_stop(tmp_path: Path):
    assert ledger("db", "url", data_dir=tmp_path).returncode == 1
    started = ledger("db", "start", data_dir=tmp_path)
    assert started.returncode == 0, started.stderr
    try:
        url = ledger("db", "url", data_dir=tmp_path).stdout.strip()
        assert url == started.stdout.strip()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("ledger",)
        shown = ledger("policy", "show", data_dir=tmp_path)
        assert '"version": 1' in shown.stdout
    finally:
        stopped = ledger("db", "stop", data_dir=tmp_path)
    assert stopped.returncode == 0, stopped.stderr
    missing = ledger("db", "url", data_dir=tmp_path)
    assert missing.returncode == 1 and "ledger db start" in missing.stderr
