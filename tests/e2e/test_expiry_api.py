"""Admins can run expiry over GraphQL; nobody else can."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.domain.values import Role
from tests.e2e.conftest import Server
from tests.integration.test_expiry import member_with_old_points

EXPIRE = """mutation($at: DateTime) { expirePoints(asOf: $at) {
  __typename ... on ExpiryRun { asOf accounts } ... on Problem { code message } } }"""


def test_an_admin_runs_expiry_as_of_a_past_moment_never_a_future_one(server: Server) -> None:
    ledger = Ledger(eventsourcing_env(server.database_url), id_hash_key=b"expiry")
    try:
        member_with_old_points(ledger, "己")
    finally:
        ledger.close()
    ahead = f"{datetime.now(UTC).year + 1}-01-01T00:05:00+08:00"
    refused = server.gql(server.admin, EXPIRE, at=ahead)["data"]["expirePoints"]
    assert refused["__typename"] == "InvalidInput" and refused["code"] == "EXPIRY_IN_FUTURE"
    assert "晚于账本当前时间" in refused["message"]
    # The points earned in 2024 were due at the start of 2026: the refusal moved none.
    first = server.gql(server.admin, EXPIRE, at="2026-01-01T00:05:00+08:00")
    run = first["data"]["expirePoints"]
    assert run["__typename"] == "ExpiryRun" and run["accounts"] == 1
    again = server.gql(server.admin, EXPIRE, at="2026-01-01T00:05:00+08:00")
    assert again["data"]["expirePoints"] == {**run, "accounts": 0}


def test_only_an_admin_may_run_expiry(server: Server) -> None:
    auditor = server.token(Role.AUDITOR)
    refused = server.gql(auditor, EXPIRE)["data"]["expirePoints"]
    assert refused["__typename"] == "Forbidden" and "积分过期" in refused["message"]
