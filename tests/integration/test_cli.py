"""``ledger db start / url / stop`` manage the embedded server for other tools."""

import os
import subprocess
import sys
from pathlib import Path
from uuid import UUID, uuid4

import psycopg


def ledger(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["LEDGER_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args],
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


def test_tokens_are_created_listed_and_revoked(database_url: str, tmp_path: Path):
    env = {**os.environ, "DATABASE_URL": database_url, "LEDGER_DATA_DIR": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "entrypoints.cli", "token", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    created = run("create", "--role", "auditor", "--name", "督查组")
    assert created.returncode == 0, created.stderr
    token_id, token = created.stdout.strip().split("\t")
    assert token.startswith("lt_") and "只显示这一次" in created.stderr
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT token_hash FROM api_tokens WHERE id = %s", (token_id,))
        assert token not in str(stored.fetchone())
    assert f"{token_id}\tauditor\t-\t督查组\t有效" in run("list").stdout
    assert run("revoke", token_id).returncode == 0
    assert "已吊销" in run("list").stdout
    assert run("revoke", token_id).returncode == 1
    refused = run("create", "--role", "kiosk", "--name", "无范围")
    assert refused.returncode == 2 and "须指定范围" in refused.stderr


def test_a_device_belongs_to_one_communitys_kiosk(database_url: str, tmp_path: Path):
    env = {**os.environ, "DATABASE_URL": database_url, "LEDGER_DATA_DIR": str(tmp_path)}
    home, away = str(uuid4()), str(uuid4())

    def kiosk(scope: str, name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                *(sys.executable, "-m", "entrypoints.cli", "token", "create", "--role", "kiosk"),
                *("--scope", scope, "--name", name, "--device", "till-shared"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert kiosk(home, "一号收银台").returncode == 0
    refused = kiosk(away, "冒名收银台")
    assert refused.returncode == 2 and "已是另一个社区的终端" in refused.stderr
    assert kiosk(home, "一号收银台(换发)").returncode == 0  # a reissue keeps the device
    with psycopg.connect(database_url) as conn:
        scopes = conn.execute(
            "SELECT DISTINCT scope FROM api_tokens WHERE device = 'till-shared'"
        ).fetchall()
    assert scopes == [([UUID(home)],)]
