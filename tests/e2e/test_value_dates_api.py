"""Over HTTP: a service a worker records today from a paper sheet of 40 days ago counts in
the balance as of 20 days ago, and the auditor's replay and export of that period agree."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.domain.account import Account
from ledger.domain.values import CST, Role
from tests.e2e.conftest import Server
from tests.e2e.test_story import ok
from tests.e2e.test_trusted_times import member, place, rate, service, stamp

__all__ = ["place"]  # the module's fixture, shared

AS_OF = """query($a: String!, $m: UUID!, $t: DateTime!, $before: DateTime!) {
  balance(account: $a, asOf: $t)
  earlier: balance(account: $a, asOf: $before)
  memberAt(memberId: $m, at: $t) { balance entriesBalance agrees } }"""
EXPORT = """query($ids: [UUID!]!, $s: DateTime!, $e: DateTime!) {
  auditExport(aggregateIds: $ids, start: $s, end: $e) }"""


def test_a_paper_sheet_of_40_days_ago_counts_as_of_20_days_ago(
    server: Server, place: dict[str, Any]
) -> None:
    recorded_from = datetime.now(UTC)
    who, _ = member(server, place)
    day = (recorded_from - timedelta(days=40)).astimezone(CST).date()
    start = datetime.combine(day, time(9), CST)
    served = service(server, place, who, start)
    for what, at in (("checkIn", start), ("checkOut", start + timedelta(hours=2))):
        assert stamp(server, place["staff"], what, served, at)["__typename"] == "Receipt"
    position = rate(server, place, served)
    auditor, account = server.token(Role.AUDITOR), f"member:{who}"
    (entry,) = ok(
        server.gql(
            auditor,
            """query($a: String!, $w: Int!) { ledgerEntries(account: $a, waitFor: $w)
            { amount at valueAt } }""",
            a=account,
            w=position,
        ),
        "ledgerEntries",
    )
    assert datetime.fromisoformat(entry["valueAt"]) == start
    assert datetime.fromisoformat(entry["at"]) >= recorded_from
    then = recorded_from - timedelta(days=20)
    found = server.gql(
        auditor,
        AS_OF,
        a=account,
        m=who,
        t=then.isoformat(),
        before=(start - timedelta(minutes=1)).isoformat(),
    )["data"]
    earned = Decimal(entry["amount"])
    assert earned > 0
    assert (Decimal(found["balance"]), Decimal(found["earlier"])) == (earned, 0)
    replayed = found["memberAt"]
    assert Decimal(replayed["balance"]) == Decimal(replayed["entriesBalance"]) == earned
    assert replayed["agrees"] is True
    ids = [who, str(Account.create_id(UUID(who)))]
    lines = ok(
        server.gql(
            auditor,
            EXPORT,
            ids=ids,
            s=(start - timedelta(days=1)).isoformat(),
            e=then.isoformat(),
        ),
        "auditExport",
    )
    (credited,) = [line for line in lines[1:] if line["topic"].endswith("Account.Credited")]
    assert datetime.fromisoformat(credited["value_at"]) == start
    assert datetime.fromisoformat(credited["recorded_at"]) >= recorded_from
