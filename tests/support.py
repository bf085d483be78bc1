"""What many tests need first: a member who has earned points by the rule book."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from ledger.application import Ledger
from ledger.domain.values import Context, Rating


def earn(
    ledger: Ledger, community: UUID, member: UUID, start: datetime, ctx: Context, *, hours: int = 4
) -> None:
    """A hard task (应急保障) served for ``hours`` from ``start`` and rated 很好:
    hours x 2.0 x 1.2 points (9.6 for four hours)."""
    task = ledger.publish_task(
        community, "汛期巡查", "应急保障", start, start + timedelta(hours=hours), 1, ctx
    ).id
    service = ledger.claim_task(task, member, ctx).id
    ledger.check_in(service, ctx, at=start)
    ledger.check_out(service, ctx, at=start + timedelta(hours=hours))
    ledger.rate_service(service, Rating.EXCELLENT, ctx)
