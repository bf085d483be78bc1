"""An insider who can write to PostgreSQL tries to rewrite history: the auditor's kept
checkpoint and pinned key expose each attempt, at the earliest position knowable.

Every test starts from a generated ledger whose Merkle tree is built by the read side,
with checkpoints published to a log outside the database, and a checkpoint the auditor
kept (the latest published one).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest

import audit
from audit.exports import log_model
from ledger import database
from ledger.application import Ledger
from ledger.database import EmbeddedServer, drop_database, ensure_database, eventsourcing_env
from ledger.settings import Settings
from ledger.simulation import Generator, Scale
from projections import merkle
from projections.notes import Checkpoint, CheckpointLog, Signer, open_note, sign
from projections.runner import ReadSide
from projections.tree import MerkleLog, Publisher, TreeRefused, pinned_verifier

TINY = Scale(communities=2, grids=1, units=3, party_members=30, residents=10, days=8)
KEY = bytes(range(32))
EVERY = 50


@dataclass
class Ledgers:
    url: str
    ledger: Ledger
    side: ReadSide
    settings: Settings
    kept: str  # the note the auditor kept

    @property
    def verifier(self) -> Any:
        return pinned_verifier(self.settings)

    def published(self) -> list[str]:
        assert self.settings.checkpoint_log is not None
        return [e.note for e in CheckpointLog(self.settings.checkpoint_log).entries()]

    def verify(self, **kwargs: Any) -> audit.Verification:
        return audit.verify(
            self.url,
            kwargs.pop("verifier", self.verifier),
            kept=kwargs.pop("kept", self.kept),
            published=self.published(),
            ledger=self.ledger,
        )

    def sql(self, statement: str, *params: Any) -> list[Any]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def last_position(self) -> int:
        return int(self.sql("SELECT max(notification_id) FROM ledger_events")[0][0])


def settings_for(url: str, folder: Path) -> Settings:
    return Settings(
        database_url=url,
        data_dir=folder / "data",
        id_hash_key=b"test-id-hash-key",
        signing_key=KEY,
        checkpoint_log=folder / "outside" / "checkpoints.jsonl",
        checkpoint_every=EVERY,
    )


@pytest.fixture
def logged(pg_server: EmbeddedServer, tmp_path: Path) -> Iterator[Ledgers]:
    url = database.database_url(pg_server.url(), f"test_{uuid4().hex[:12]}")
    ensure_database(url)
    ledger = Ledger(eventsourcing_env(url))
    Generator(ledger, TINY, seed=9).run()
    settings = settings_for(url, tmp_path)
    side = ReadSide(ledger, batch_size=60, publisher=Publisher.from_settings(settings))
    side.open()
    kept = audit.publish_now(side).note
    yield Ledgers(url, ledger, side, settings, kept)
    ledger.close()
    drop_database(url)


EDIT = "UPDATE ledger_events SET state = overlay(state placing %s from 2 for 1) "


def test_an_untouched_ledger_verifies_against_the_kept_checkpoint(logged: Ledgers) -> None:
    result = logged.verify()
    assert result.intact, result.findings
    assert result.events == result.leaves == logged.last_position()
    assert result.checkpoints >= 2 * (result.events // EVERY) - 1  # the log's and the copies
    assert open_note(logged.kept, logged.verifier).root == result.root
    assert result.reconciled > 20


def test_checkpoints_are_published_on_the_schedule_and_stay_consistent(logged: Ledgers) -> None:
    points = [open_note(n, logged.verifier) for n in logged.published()]
    sizes = [p.size for p in points]
    assert sizes == sorted(set(sizes)) and sizes[-1] == logged.last_position()
    assert all(b - a >= EVERY for a, b in itertools.pairwise(sizes[:-1]))
    for old, new in itertools.pairwise(points):
        proof = audit.consistency(logged.ledger, old.size, new.size)
        merkle.verify_consistency(old.size, new.size, old.root, new.root, proof.hashes)


def test_a_checkpoint_falls_due_by_time_when_few_events_came(logged: Ledgers) -> None:
    model = log_model(logged.side)
    assert model.publisher is not None
    model.publisher.every = 10**9
    model.publisher.minutes = 60.0
    Generator(logged.ledger, TINY, seed=10).run()
    logged.side.catch_up()
    before = len(logged.published())
    assert open_note(logged.published()[-1], logged.verifier).size < logged.last_position()
    model.publisher.minutes = 0.0  # the minutes have passed: the runner's idle turn signs
    model.idle()
    assert len(logged.published()) == before + 1
    assert open_note(logged.published()[-1], logged.verifier).size == logged.last_position()
    model.idle()  # nothing new: nothing signed
    assert len(logged.published()) == before + 1


def test_an_event_edited_mid_ledger_is_found_at_its_position(logged: Ledgers) -> None:
    # Task events: no account movement pairs with them, so the edit is the first finding.
    first, second = (
        logged.sql(
            "SELECT min(notification_id) FROM ledger_events "
            "WHERE notification_id >= %s AND topic LIKE '%%:Task.%%'",
            at,
        )[0][0]
        for at in (200, 250)
    )
    logged.sql(EDIT + "WHERE notification_id = %s", b" ", first)
    logged.sql(EDIT + "WHERE notification_id = %s", b" ", second)
    result = logged.verify()
    assert result.first_bad_position == first
    assert {(f.position, f.kind) for f in result.findings} >= {
        (first, "altered"),
        (second, "altered"),
    }


def test_an_event_edited_at_the_tail_is_found_at_its_position(logged: Ledgers) -> None:
    last = logged.last_position()
    logged.sql(EDIT + "WHERE notification_id = %s", b" ", last)
    result = logged.verify()
    assert (result.first_bad_position, result.findings[0].kind) == (last, "altered")


def test_a_deleted_tail_is_found_whether_or_not_its_tree_rows_go_too(logged: Ledgers) -> None:
    last = logged.last_position()
    logged.sql("DELETE FROM ledger_events WHERE notification_id > %s", last - 5)
    result = logged.verify()
    assert (result.first_bad_position, result.findings[0].kind) == (last - 4, "deleted")
    logged.sql("DELETE FROM audit_leaves WHERE position > %s", last - 5)
    result = logged.verify()
    assert result.first_bad_position == last - 4
    assert {"truncated", "tree"} <= {f.kind for f in result.findings}


def test_every_tree_and_checkpoint_row_deleted_then_an_edit(logged: Ledgers) -> None:
    for table in ("audit_leaves", "audit_nodes", "audit_checkpoints"):
        logged.sql(f"DELETE FROM {table}")
    logged.sql(EDIT + "WHERE notification_id = 120", b" ")
    result = logged.verify()
    assert not result.intact
    kinds = {f.kind for f in result.findings}
    assert {"tree", "checkpoint"} <= kinds
    # the published checkpoints bound the edit: after the last one that still agrees
    before = max(
        s for s in (open_note(n, logged.verifier).size for n in logged.published()) if s < 120
    )
    assert result.first_bad_position == before + 1


def test_a_rebuild_after_an_edit_stops_and_a_recomputed_tree_is_exposed(
    logged: Ledgers,
) -> None:
    logged.sql(EDIT + "WHERE notification_id = 150", b" ")
    with pytest.raises(TreeRefused):
        logged.side.rebuild(MerkleLog.name)
    assert logged.verify().first_bad_position == 150  # the live tree was kept
    # the insider recomputes the edited leaf and every node above it by hand
    row = logged.sql(
        "SELECT notification_id, originator_id, originator_version, topic, state "
        "FROM ledger_events WHERE notification_id = 150"
    )[0]
    leaf = merkle.leaf_hash(merkle.event_leaf(row[0], row[1], row[2], row[3], bytes(row[4])))
    logged.sql("UPDATE audit_leaves SET hash = %s WHERE position = 150", leaf)
    result = logged.verify()
    assert "altered" not in {f.kind for f in result.findings}
    before = max(
        s for s in (open_note(n, logged.verifier).size for n in logged.published()) if s < 150
    )
    assert result.first_bad_position == before + 1
    assert any(f.kind == "checkpoint" for f in result.findings)


def test_a_forged_event_after_the_head_is_exposed_by_reconciliation(logged: Ledgers) -> None:
    credited = logged.sql(
        "SELECT notification_id FROM ledger_events WHERE topic LIKE '%%Account.Credited' "
        "ORDER BY notification_id LIMIT 1"
    )[0][0]
    forged = logged.sql(
        "INSERT INTO ledger_events (originator_id, originator_version, topic, state) "
        "SELECT originator_id, (SELECT max(originator_version) + 1 FROM ledger_events x "
        "WHERE x.originator_id = e.originator_id), topic, state FROM ledger_events e "
        "WHERE notification_id = %s RETURNING notification_id",
        credited,
    )[0][0]
    logged.side.catch_up()  # the runner adds it to the tree, and it is signed
    newest = audit.publish_now(logged.side)
    assert open_note(newest.note, logged.verifier).size == logged.last_position()
    result = logged.verify()
    assert result.first_bad_position == forged
    assert [f.kind for f in result.findings] == ["reconciliation"]


def test_a_credit_changed_without_its_award(logged: Ledgers) -> None:
    position, state = logged.sql(
        "SELECT notification_id, state FROM ledger_events WHERE topic LIKE '%%Account.Credited' "
        "ORDER BY notification_id LIMIT 1"
    )[0]
    old = bytes(state).split(b'"amount":{"_type_":"decimal_str","_data_":"', 1)[1].split(b'"')[0]
    changed = bytes(state).replace(
        b'"amount":{"_type_":"decimal_str","_data_":"' + old,
        b'"amount":{"_type_":"decimal_str","_data_":"' + old.replace(b".", b"0.") + b"1",
        1,
    )
    logged.sql("UPDATE ledger_events SET state = %s WHERE notification_id = %s", changed, position)
    _, unmatched = audit.reconcile(logged.ledger)
    assert [(u.position, u.kind) for u in unmatched] == [(position, "amount_differs")]
    result = logged.verify()
    assert result.first_bad_position == position
    assert {f.kind for f in result.findings} == {"altered", "reconciliation"}


def test_a_checkpoint_signed_by_another_key_is_refused(logged: Ledgers) -> None:
    point = open_note(logged.kept, logged.verifier)
    other = Signer.from_seed(point.origin, bytes(32))
    forged = sign(Checkpoint(point.origin, point.size, point.root).text, other)
    result = logged.verify(kept=forged)
    assert not result.intact
    assert result.findings[0].kind == "checkpoint" and "固定公钥" in result.findings[0].detail
    # nor does a row in the database signed by that key pass
    logged.sql("UPDATE audit_checkpoints SET note = %s WHERE tree_size = %s", forged, point.size)
    assert [f.kind for f in logged.verify().findings] == ["checkpoint"]
    # and an auditor holding the other key as "pinned" sees the real checkpoint refused
    assert not logged.verify(verifier=other.verifier, kept=logged.kept).intact


def test_the_ledger_refuses_to_sign_a_tree_that_does_not_extend_the_last_checkpoint(
    logged: Ledgers,
) -> None:
    logged.sql("UPDATE audit_nodes SET hash = %s", bytes(32))
    logged.sql("UPDATE audit_leaves SET hash = %s", bytes(32))
    Generator(logged.ledger, TINY, seed=10).run()
    before = len(logged.published())
    with pytest.raises(TreeRefused):
        audit.publish_now(logged.side)
    assert len(logged.published()) == before


def test_the_cli_verifies_against_a_kept_checkpoint_with_the_pinned_key(
    logged: Ledgers, tmp_path: Path
) -> None:
    kept = tmp_path / "kept.checkpoint"
    kept.write_text(logged.kept)
    assert logged.settings.checkpoint_log is not None
    env = {
        **os.environ,
        "DATABASE_URL": logged.url,
        "LEDGER_DATA_DIR": str(tmp_path / "cli"),
        "LEDGER_SIGNING_KEY": KEY.hex(),
        "LEDGER_CHECKPOINT_LOG": str(logged.settings.checkpoint_log),
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "entrypoints.cli", "audit", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    key = cli("key")
    assert key.stdout.strip() == logged.verifier.vkey
    Generator(logged.ledger, TINY, seed=10).run()  # the ledger grows
    assert cli("checkpoint").returncode == 0
    ok = cli("verify", "--against", str(kept), "--key", key.stdout.strip())
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "账本完整" in ok.stdout
    newest = open_note(logged.published()[-1], logged.verifier)
    inclusion = json.loads(cli("proof", "inclusion", "7").stdout)
    merkle.verify_inclusion(
        inclusion["leaf_index"],
        newest.size,
        base64.b64decode(inclusion["leaf_hash"]),
        [base64.b64decode(h) for h in inclusion["hashes"]],
        newest.root,
    )
    old = open_note(logged.kept, logged.verifier)
    consistency = json.loads(cli("proof", "consistency", str(old.size)).stdout)
    hashes = [base64.b64decode(h) for h in consistency["hashes"]]
    merkle.verify_consistency(old.size, newest.size, old.root, newest.root, hashes)
    assert cli("proof", "inclusion", "7", "--size", str(10**9)).returncode == 1
    logged.sql(EDIT + "WHERE notification_id = 5", b" ")
    failed = cli("verify", "--against", str(kept))
    assert failed.returncode == 1 and "首个问题位置 5" in failed.stderr
    other = Signer.from_seed("volunteer-ledger.local/ledger", bytes(32)).verifier.vkey
    refused = cli("verify", "--against", str(kept), "--key", other)
    assert refused.returncode == 1 and "固定公钥" in refused.stdout
    said = refused.stdout + failed.stdout + failed.stderr
    assert "签名文本未经固定公钥" in said  # the checkpoint parser's own words
    words = [
        re.sub(r"volunteer-ledger\.local/ledger", "", line)
        for line in said.splitlines()
        if not line.startswith("由事件重算的树根:")  # base64, for machines
    ]
    assert [w for w in words if re.search(r"[A-Za-z]{2,}", w)] == []
    assert "(事件被改写)" in said and "(检查点不符)" in said


VERIFIER = Path(__file__).resolve().parents[2] / "tools" / "verify_export.py"


def _check_export(path: Path, vkey: str) -> subprocess.CompletedProcess[str]:
    """The standalone verifier, run as an auditor runs it: a file and a pinned key."""
    return subprocess.run(
        [sys.executable, str(VERIFIER), str(path), "--key", vkey],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=path.parent,
    )


def test_an_export_proves_itself_to_the_standalone_verifier(
    logged: Ledgers, tmp_path: Path
) -> None:
    from datetime import datetime

    from ledger.domain.account import Account

    member = logged.sql(
        "SELECT member_id FROM member_totals ORDER BY recorded_balance DESC LIMIT 1"
    )[0][0]
    lines = list(
        audit.export(
            logged.ledger,
            logged.side,
            [member, Account.create_id(member)],
            datetime.fromisoformat("2000-01-01T00:00:00+08:00"),
            datetime.fromisoformat("2100-01-01T00:00:00+08:00"),
        )
    )
    header, events = lines[0], lines[1:]
    assert header["format"] == audit.EXPORT_FORMAT and len(events) > 3
    assert {e["topic"].rsplit(":", 1)[1] for e in events} >= {"Member.Registered", "Account.Opened"}

    def written(name: str, records: list[dict[str, Any]]) -> Path:
        path = tmp_path / name
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        return path

    vkey = logged.verifier.vkey
    fresh = _check_export(written("fresh.jsonl", lines), vkey)
    assert fresh.returncode == 0, fresh.stderr
    assert f"已证明 {len(events)} 条事件" in fresh.stdout
    altered = dict(events[1], state=events[1]["state"].replace('"', "'", 1))
    refused = _check_export(
        written("altered.jsonl", [header, events[0], altered, *events[2:]]), vkey
    )
    assert refused.returncode == 1 and "不是检查点所含的那条事件" in refused.stderr
    dropped = _check_export(written("dropped.jsonl", [header, *events[:-2], events[-1]]), vkey)
    assert dropped.returncode == 1 and "有行被删去、增添或调换了顺序" in dropped.stderr
    other = Signer.from_seed(logged.verifier.name, bytes(32))
    foreign = _check_export(written("fresh2.jsonl", lines), other.verifier.vkey)
    assert foreign.returncode == 1 and "未经固定公钥" in foreign.stderr
    for said in (fresh.stdout, refused.stderr, dropped.stderr, foreign.stderr):
        words = re.sub(r"volunteer-ledger\.local/ledger|base64|JSON|SHA-256", "", said)
        assert re.search(r"[A-Za-z]{3,}", words) is None, said
    point = open_note(header["checkpoint"], logged.verifier)
    resigned = dict(header, checkpoint=sign(point.text, other))
    assert _check_export(written("resigned.jsonl", [resigned, *events]), vkey).returncode == 1


def test_a_second_process_publishes_the_tree_another_one_grew(logged: Ledgers) -> None:
    other = ReadSide(logged.ledger, publisher=Publisher.from_settings(logged.settings))
    audit.publish_now(other)  # it has looked at the tree once
    Generator(logged.ledger, TINY, seed=10).run()
    logged.side.catch_up()  # the projector grows the tree
    entry = audit.publish_now(other)
    assert open_note(entry.note, logged.verifier).size == logged.last_position()


def test_reconciliation_lists_a_credit_without_its_award_and_an_award_without_its_credit(
    logged: Ledgers,
) -> None:
    position, state = logged.sql(
        "SELECT notification_id, state FROM ledger_events WHERE topic LIKE '%%Account.Credited' "
        "ORDER BY notification_id LIMIT 1"
    )[0]
    marker = (
        b'"cause":{"_type_":"Cause","_data_":{"kind":{"_type_":"CauseKind","_data_":"SERVICE"},'
    )
    marker += b'"id":{"_type_":"uuid_hex","_data_":"'
    head, tail = bytes(state).split(marker, 1)
    service = tail[:32].decode()
    elsewhere = marker + b"0" * 32 + tail[32:]  # the credit now names no service
    logged.sql(
        "UPDATE ledger_events SET state = %s WHERE notification_id = %s", head + elsewhere, position
    )
    rated = logged.sql(
        "SELECT notification_id FROM ledger_events WHERE topic LIKE '%%Service.Rated' "
        "AND replace(originator_id::text, '-', '') = %s",
        service,
    )[0][0]
    _, unmatched = audit.reconcile(logged.ledger)
    assert sorted((u.position, u.kind) for u in unmatched) == sorted(
        [(position, "credit_without_cause"), (rated, "cause_without_credit")]
    )
