"""Services left checked in past their check-out window are closed (未签退自动关闭) by the
scheduled run inside ``ledger serve`` and ``ledger project``, beside the daily expiry.

They earn nothing and hold no time; a worker's correction may still give them times.
The member's next check-in is never blocked meanwhile: the timesheet ignores a
service whose window has ended, recorded closed or not.
"""

from __future__ import annotations

import json
import logging

from ledger.application import Ledger
from ledger.domain.values import Context, now
from projections.boards import checked_in_past_end

log = logging.getLogger(__name__)

EVERY_SECONDS = 600.0
"""How often the run looks for services to close."""
ACTOR = "closing"


def close_now(ledger: Ledger, url: str) -> int:
    """Close every lapsed service the read side knows of; how many were closed."""
    ctx = Context.system(ACTOR)
    closed = sum(
        ledger.close_lapsed_service(service_id, ctx).position is not None
        for service_id in checked_in_past_end(url, now())
    )
    if closed:
        log.warning(json.dumps({"event": "lapsed_services_closed", "services": closed}))
    return closed
