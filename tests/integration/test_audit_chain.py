"""Tampering with the event store directly in PostgreSQL is found, at its position."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest

import audit
from ledger import database
from ledger.application import Ledger
from ledger.database import EmbeddedServer, drop_database, ensure_database, eventsourcing_env
from ledger.simulation import Generator, Scale
from projections import chain
from projections.runner import ReadSide

TINY = Scale(communities=2, grids=1, units=3, party_members=30, residents=10, days=8)
KEY = bytes(range(32))


@pytest.fixture
def chained(
    pg_server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Ledger]]:
    """A small history, its chain, and a checkpoint every 100 events."""
    monkeypatch.setattr(chain, "CHECKPOINT_EVERY", 100)
    url = database.database_url(pg_server.url(), f"test_{uuid4().hex[:12]}")
    ensure_database(url)
    ledger = Ledger(eventsourcing_env(url))
    Generator(ledger, TINY, seed=9).run()
    side = ReadSide(ledger, signing_key=KEY, batch_size=150)
    side.open()
    yield url, ledger
    ledger.close()
    drop_database(url)


def tamper(url: str, sql: str, *params: Any) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql, params)


def test_an_untouched_ledger_verifies_with_its_signed_checkpoints(chained: Any) -> None:
    url, ledger = chained
    result = audit.verify(url)
    assert result.intact, result.findings
    assert result.events == ledger.recorder.max_notification_id()
    assert result.checkpoints >= 2


def test_an_edited_state_is_found_at_its_position(chained: Any) -> None:
    url, _ = chained
    edit = "UPDATE ledger_events SET state = overlay(state placing %s from 2 for 1) "
    tamper(url, edit + "WHERE notification_id = 200", b" ")
    tamper(url, edit + "WHERE notification_id = 250", b" ")
    result = audit.verify(url)
    assert result.first_bad_position == 200
    assert {(f.position, f.kind) for f in result.findings} >= {(200, "altered"), (250, "altered")}


def test_a_deleted_row_is_found_at_its_position(chained: Any) -> None:
    url, _ = chained
    tamper(url, "DELETE FROM ledger_events WHERE notification_id = 321")
    result = audit.verify(url)
    assert (result.first_bad_position, result.findings[0].kind) == (321, "deleted")


def test_an_inserted_row_is_found_at_its_position(chained: Any) -> None:
    url, _ = chained
    tamper(url, "DELETE FROM audit_chain WHERE position = 77")  # leave a hole to insert into
    tamper(url, "ALTER TABLE ledger_events DISABLE TRIGGER ALL")
    tamper(url, "UPDATE ledger_events SET notification_id = 100000 WHERE notification_id = 77")
    tamper(
        url,
        "INSERT INTO ledger_events (originator_id, originator_version, topic, state, "
        "notification_id) SELECT gen_random_uuid(), 1, topic, state, 77 FROM ledger_events "
        "WHERE notification_id = 78",
    )
    result = audit.verify(url)
    assert result.first_bad_position == 77
    assert not result.intact


def test_two_swapped_rows_are_found_at_the_first(chained: Any) -> None:
    url, _ = chained
    tamper(url, "UPDATE ledger_events SET notification_id = -1 WHERE notification_id = 140")
    tamper(url, "UPDATE ledger_events SET notification_id = 140 WHERE notification_id = 141")
    tamper(url, "UPDATE ledger_events SET notification_id = 141 WHERE notification_id = -1")
    result = audit.verify(url)
    assert result.first_bad_position == 140
    assert {f.kind for f in result.findings} == {"altered"}


def test_a_kept_checkpoint_still_verifies_against_a_longer_ledger(
    chained: Any, tmp_path: Path
) -> None:
    url, ledger = chained
    point = audit.checkpoint(url, KEY)
    kept = tmp_path / "checkpoint.json"
    kept.write_text(json.dumps(point.to_json()))
    Generator(ledger, TINY, seed=10).run()  # the ledger grows
    side = ReadSide(ledger, signing_key=KEY)
    side.open()
    side.catch_up()
    env = {**os.environ, "DATABASE_URL": url, "LEDGER_DATA_DIR": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "audit", "verify", "--against", str(kept)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "账本完整" in run.stdout
    assert audit.verify(url).head_position > point.position
    # the same ledger rewritten before the checkpoint no longer extends it
    tamper(url, "UPDATE ledger_events SET state = state || %s WHERE notification_id = 5", b" ")
    tamper(url, "UPDATE audit_chain SET link = %s WHERE position = 5", b"x" * 32)
    failed = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "audit", "verify", "--against", str(kept)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert failed.returncode == 1 and "首个问题位置" in failed.stderr


def test_an_export_can_be_checked_offline(chained: Any, tmp_path: Path) -> None:
    url, _ = chained
    with psycopg.connect(url) as conn:
        member = conn.execute(
            "SELECT member_id FROM member_totals ORDER BY recorded_balance DESC LIMIT 1"
        ).fetchone()[0]  # type: ignore[index]
    out = tmp_path / "member.jsonl"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "LEDGER_SIGNING_KEY": KEY.hex(),
        "LEDGER_DATA_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "entrypoints.cli",
            "audit",
            "export",
            "--member",
            str(member),
            "--start",
            "2000-01-01T00:00:00+08:00",
            "--end",
            "2100-01-01T00:00:00+08:00",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    header, *lines = (json.loads(line) for line in out.read_text().splitlines())
    assert header["format"] == audit.EXPORT_FORMAT
    assert chain.Checkpoint.from_json(header["checkpoint"]).is_signed()
    assert len(lines) > 3 and all(audit.check_export_line(line) for line in lines)
    assert {line["topic"].rsplit(":", 1)[1] for line in lines} >= {
        "Member.Registered",
        "Account.Opened",
    }
    forged = dict(lines[-1], state=lines[-1]["state"].replace('"', "'", 1))
    assert not audit.check_export_line(forged)
