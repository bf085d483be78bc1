"""Work that keeps a growing heap, done with the cyclic garbage collector paused."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused for the block (for every thread of the
    process: cyclic garbage made meanwhile waits for its end).

    A rebuild's held rows and an import's decided aggregates grow by the batch, and the
    collector walked them again and again with nothing to free (docs/decisions/0024,
    0029). At the end, what the block kept is moved to the oldest generation, not left
    in the youngest to be walked at once: every tracked object goes into the permanent
    generation, and back into the oldest. In a process that had frozen its heap (a
    started server, docs/decisions/0027) it stays there, with what was frozen before:
    the permanent generation can only be emptied whole, and emptying it would hand
    everything the server made at start back to the collector."""
    collecting = gc.isenabled()
    frozen = gc.get_freeze_count() > 0
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if not frozen:
            gc.unfreeze()
        if collecting:
            gc.enable()
