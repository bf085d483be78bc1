"""A started server settles its garbage collection: what exists is frozen, and the
youngest generation is collected less often than Python's default."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from api.serving import GC_THRESHOLDS, settle_gc


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
