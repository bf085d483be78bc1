"""``ledger serve --demo``: a generated street to try the ledger on, and tokens to try it with."""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from api.auth import create_token
from ledger.application import Ledger
from ledger.database import eventsourcing_env
from ledger.domain.values import Role
from ledger.settings import Settings
from ledger.simulation import Generator, Scale

SEED = 2026


def prepare_demo(
    url: str,
    settings: Settings,
    progress: Callable[[int, int], None] | None = None,
    scale: Scale | None = None,
) -> list[tuple[str, str]]:
    """Generate a year of a street if the ledger is empty; return (label, token) pairs."""
    ledger = Ledger(eventsourcing_env(url), id_hash_key=settings.id_hash_key)
    try:
        if not ledger.recorder.max_notification_id():
            scale = scale or Scale()
            Generator(ledger, scale, seed=SEED, batch_size=1000, progress=progress).run()
    finally:
        ledger.close()
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT originator_id FROM ledger_events WHERE topic LIKE %s "
            "ORDER BY notification_id LIMIT 1",
            ("%:Community.Registered",),
        ).fetchone()
    community = row[0] if row else None
    tokens = [
        ("管理员 admin", create_token(url, Role.ADMIN, [], "demo admin")[1]),
        ("审计 auditor", create_token(url, Role.AUDITOR, [], "demo auditor")[1]),
    ]
    if community is not None:
        kiosk = create_token(url, Role.KIOSK, [community], "demo kiosk")[1]
        tokens.append((f"积分超市终端 kiosk(社区 {community})", kiosk))
    return tokens
