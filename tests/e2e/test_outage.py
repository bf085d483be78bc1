"""The database goes away for ten seconds under load, and comes back.

Kiosks keep redeeming (each retrying its own key until it has a definite answer)
and readers keep reading. While the database is away every request gets a clear
answer within the stated timeouts; afterwards every acknowledged redemption is
stored exactly once and the read models catch up by themselves.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from api.auth import create_token
from api.context import COMMAND_TIMEOUT_SECONDS
from ledger.application import Ledger
from ledger.database import EmbeddedServer, ensure_database, eventsourcing_env
from ledger.domain.values import Context, MemberKind, Role
from tests.e2e.conftest import Server, running_server
from tests.support import earn

CLIENT_TIMEOUT = 25.0
"""Past the server's own bounds (10 s per statement, 5 s waiting for read models)."""
OUTAGE_SECONDS = 10
REDEEM = """mutation($s: UUID!, $m: UUID!, $k: String!, $i: UUID!) {
  redeem(storeId: $s, memberId: $m, key: $k, lines: [{itemId: $i, quantity: 1}]) {
    __typename ... on RedemptionReceipt { id total } ... on Problem { code message } } }"""
BALANCE = "query($m: UUID!) { member(id: $m) { balance } }"
BALANCE_AFTER = "query($m: UUID!, $w: Int) { member(id: $m, waitFor: $w) { balance } }"


@dataclass
class Observed:
    acknowledged: set[str] = field(default_factory=set)
    refusals: list[str] = field(default_factory=list)
    unclear: list[str] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, call: Any) -> Any:
        started = time.monotonic()
        try:
            return call()
        finally:
            with self.lock:
                self.spans.append((started, time.monotonic()))


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    pgdata = tmp_path / "pgdata"
    server = EmbeddedServer(pgdata)
    url = server.url("outage")
    ensure_database(url)
    try:
        yield pgdata, url
    finally:
        EmbeddedServer(pgdata).stop()


def prepare(url: str) -> dict[str, Any]:
    """A member with points and a stocked store, recorded through the commands."""
    admin = Context(actor_id="test", role=Role.ADMIN)
    ledger = Ledger(eventsourcing_env(url), id_hash_key=b"outage")
    try:
        street = ledger.register_street("果园街道", admin).id
        community = ledger.register_community(street, "果园社区", admin).id
        member = ledger.register_member(MemberKind.RESIDENT, "王五", community, admin).id
        start = datetime(2026, 5, 1, 9, tzinfo=timezone(timedelta(hours=8)))
        for day in range(4):
            earn(ledger, community, member, start + timedelta(days=day), admin)  # 9.6 each
        item = ledger.list_item(community, "食用油", "0.1", admin).id
        ledger.restock_item(item, 1000, "区财政局", admin)
    finally:
        ledger.close()
    return {"community": str(community), "member": str(member), "item": str(item)}


def kiosk(
    server: Server,
    token: str,
    ids: dict[str, Any],
    name: str,
    seen: Observed,
    stop: threading.Event,
) -> None:
    """Redeem one item at a time; a key is retried until its answer is definite."""
    n = 0
    while not stop.is_set():
        key = f"{name}-{n}"
        while True:
            try:
                variables = {
                    "s": ids["community"],
                    "m": ids["member"],
                    "k": key,
                    "i": ids["item"],
                }
                answer = seen.timed(
                    functools.partial(
                        httpx.post,
                        f"{server.base}/graphql",
                        json={"query": REDEEM, "variables": variables},
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=CLIENT_TIMEOUT,
                    )
                )
            except httpx.TransportError as error:
                seen.unclear.append(f"{key}: {error!r}")
                time.sleep(0.2)
                continue
            body = answer.json()
            errors = body.get("errors") or []
            codes = [(e.get("extensions") or {}).get("code") for e in errors]
            if (answer.status_code >= 500 and answer.status_code != 503) or "INTERNAL" in codes:
                seen.unclear.append(f"{key}: {answer.status_code} {answer.text}")
            if errors or answer.status_code != 200:
                seen.refusals.append(",".join(str(c) for c in codes))
                time.sleep(0.2)
                continue  # retry the same key: safe, it is the same request
            result = body["data"]["redeem"]
            if result["__typename"] == "RedemptionReceipt":
                with seen.lock:
                    seen.acknowledged.add(key)
            elif result["code"] == "INSUFFICIENT_POINTS":
                stop.set()
            break
        n += 1
        time.sleep(0.1)


def reader(
    server: Server, token: str, ids: dict[str, Any], seen: Observed, stop: threading.Event
) -> None:
    while not stop.is_set():
        try:
            answer = seen.timed(
                lambda: httpx.post(
                    f"{server.base}/graphql",
                    json={"query": BALANCE, "variables": {"m": ids["member"]}},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=CLIENT_TIMEOUT,
                )
            )
        except httpx.TransportError as error:
            seen.unclear.append(f"read: {error!r}")
            continue
        codes = [(e.get("extensions") or {}).get("code") for e in answer.json().get("errors") or []]
        if (answer.status_code >= 500 and answer.status_code != 503) or "INTERNAL" in codes:
            seen.unclear.append(f"read: {answer.status_code} {answer.text}")
        if codes:
            seen.refusals.append(",".join(str(c) for c in codes))
        time.sleep(0.05)


def test_a_database_outage_under_load_loses_nothing_and_doubles_nothing(
    own_database: tuple[Path, str], tmp_path: Path
) -> None:
    pgdata, url = own_database
    ids = prepare(url)
    with running_server(url, tmp_path) as server:
        token = create_token(url, Role.KIOSK, [ids["community"]], "收银台")[1]
        seen, stop = Observed(), threading.Event()
        clients = [
            threading.Thread(target=kiosk, args=(server, token, ids, f"k{n}", seen, stop))
            for n in range(2)
        ] + [threading.Thread(target=reader, args=(server, server.admin, ids, seen, stop))]
        for client in clients:
            client.start()
        time.sleep(2)
        EmbeddedServer(pgdata).stop()
        away = time.monotonic()
        ready_times = []
        while time.monotonic() - away < OUTAGE_SECONDS:
            started = time.monotonic()
            ready = httpx.get(f"{server.base}/readyz", timeout=CLIENT_TIMEOUT)
            ready_times.append(time.monotonic() - started)
            assert ready.status_code == 503, ready.text
            time.sleep(1)
        EmbeddedServer(pgdata)
        back = time.monotonic()
        time.sleep(5)
        stop.set()
        for client in clients:
            client.join(timeout=2 * CLIENT_TIMEOUT)
        deadline = time.monotonic() + 30
        while httpx.get(f"{server.base}/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "read models did not catch up"
            time.sleep(0.5)
        # Ready allows the read models a bounded lag: read once they hold every event.
        with psycopg.connect(url) as conn:
            head = conn.execute("SELECT max(notification_id) FROM ledger_events").fetchone()
        assert head is not None
        settled = server.gql(server.admin, BALANCE_AFTER, m=ids["member"], w=head[0])
        balance = settled["data"]["member"]["balance"]

    assert not seen.unclear, seen.unclear[:5]
    assert max(ready_times) < 1.5, ready_times
    during = [(start, end) for start, end in seen.spans if away <= start < back]
    assert during, "no request was made while the database was away"
    slowest = max(end - start for start, end in seen.spans)
    assert slowest < COMMAND_TIMEOUT_SECONDS + 3, slowest
    assert set(seen.refusals) <= {"UNAVAILABLE"}, set(seen.refusals)
    print(
        f"requests={len(seen.spans)} during={len(during)} refused={len(seen.refusals)} "
        f"acknowledged={len(seen.acknowledged)} slowest={slowest:.1f}s"
    )
    assert len(seen.acknowledged) > 0
    with psycopg.connect(url) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM ledger_events WHERE topic LIKE %s AND originator_version = 1",
            ("%Redemption.Redeemed",),
        ).fetchone()
    assert stored is not None and stored[0] == len(seen.acknowledged)
    assert Decimal(balance) == Decimal("38.4") - Decimal("0.1") * len(seen.acknowledged)
