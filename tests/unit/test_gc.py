"""A started server settles its garbage collection: what exists is frozen, and the
youngest generation is collected less often than Python's default. Rebuilds and imports
pause the collector, and leave what they kept in its oldest generation, or, in a server
that froze its heap, frozen with it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from api.serving import GC_THRESHOLDS, settle_gc
from ledger.collector import collector_paused


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_settling_freezes_what_exists_and_widens_the_young_generation() -> None:
    made_at_start = ["schema"]  # a list: an object the collector tracks
    assert any(o is made_at_start for o in gc.get_objects())
    settle_gc()
    assert not any(o is made_at_start for o in gc.get_objects())  # frozen: out of its sight
    assert gc.get_threshold() == GC_THRESHOLDS
    assert GC_THRESHOLDS[0] > 700  # Python's default


@pytest.mark.parametrize("enabled", [True, False])
def test_a_pause_keeps_the_collector_off_and_leaves_what_it_kept_in_the_oldest_generation(
    enabled: bool,
) -> None:
    (gc.enable if enabled else gc.disable)()
    try:
        with collector_paused():
            assert not gc.isenabled()
            kept = [[n] for n in range(50_000)]  # tracked objects, past any threshold
            assert gc.get_count()[0] >= len(kept)  # all of them young while paused
        assert gc.isenabled() is enabled
        assert gc.get_count()[0] < len(kept)  # moved out of the youngest generation
    finally:
        gc.enable()


@pytest.mark.usefixtures("restored_gc")
def test_a_pause_in_a_settled_server_leaves_its_frozen_heap_frozen() -> None:
    made_at_start = ["schema"]
    settle_gc()
    frozen = gc.get_freeze_count()
    with collector_paused():
        kept = [[n] for n in range(1_000)]  # a rebuild's rows, say
    assert gc.get_freeze_count() >= frozen + len(kept)
    assert not any(o is made_at_start for o in gc.get_objects())  # still out of sight
