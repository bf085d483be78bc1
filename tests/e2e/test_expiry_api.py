"""Admins can run expiry over GraphQL; nobody else can."""

from __future__ import annotations

from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.domain.values import Role
from tests.e2e.conftest import Server
from tests.integration.test_expiry import member_with_old_points

EXPIRE = """mutation($at: DateTime) { expirePoints(asOf: $at) {
  __typename ... on ExpiryRun { asOf accounts } ... on Problem { code message } } }"""


def test_an_admin_runs_expiry_and_a_rerun_moves_nothing(server: Server) -> None:
    ledger = Ledger(eventsourcing_env(server.database_url), id_hash_key=b"expiry")
    try:
        member_with_old_points(ledger, "己")
    finally:
        ledger.close()
    first = server.gql(server.admin, EXPIRE, at="2030-01-01T00:05:00+08:00")
    run = first["data"]["expirePoints"]
    assert run["__typename"] == "ExpiryRun" and run["accounts"] == 1
    again = server.gql(server.admin, EXPIRE, at="2030-01-01T00:05:00+08:00")
    assert again["data"]["expirePoints"] == {**run, "accounts": 0}


def test_only_an_admin_may_run_expiry(server: Server) -> None:
    auditor = server.token(Role.AUDITOR)
    refused = server.gql(auditor, EXPIRE)["data"]["expirePoints"]
    assert refused["__typename"] == "Forbidden" and "积分过期" in refused["message"]
