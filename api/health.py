"""``/healthz`` (the process answers) and ``/readyz`` (the database answers and the read
models are close behind the log; with standbys, which of them answer reads)."""

from __future__ import annotations

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse

from ledger.database import is_outage
from projections import queries
from projections.runner import ReadSide

READY_LAG_EVENTS = 1000
READY_TIMEOUT_SECONDS = 1.0


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready: the database answers, and every read model is within
    ``READY_LAG_EVENTS`` of the log. Answers within a second, database or not."""
    state = request.app.state
    read_side: ReadSide = state.read_side

    def positions() -> tuple[list[int], int]:
        read_side.refresh()  # another process may have switched generations
        return read_side.positions(), len(read_side.quarantined())

    try:
        with anyio.fail_after(READY_TIMEOUT_SECONDS):
            head = await queries.head_position(state.pool, timeout=READY_TIMEOUT_SECONDS)
            done, quarantined = await anyio.to_thread.run_sync(positions, abandon_on_cancel=True)
    except Exception as error:
        if not is_outage(error):
            raise
        return JSONResponse({"status": "database unavailable", "detail": repr(error)}, 503)
    lag = head - min(done, default=0)
    status = 200 if done and lag <= READY_LAG_EVENTS else 503
    answer: dict[str, object] = {
        "status": "ready" if status == 200 else "lagging",
        "lag": lag,
        "quarantined": quarantined,
    }
    if state.reads is not None:  # a standby out of rotation leaves reads on the primary
        answer["replicas"] = state.reads.status()
    return JSONResponse(answer, status)
