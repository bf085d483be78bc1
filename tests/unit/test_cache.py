import asyncio

from api.cache import ResultCache


async def test_a_result_is_computed_once_until_the_read_models_move_on():
    cache, calls = ResultCache(), []

    async def compute() -> int:
        calls.append(1)
        return len(calls)

    assert await cache.get("k", compute) == 1
    assert await cache.get("k", compute) == 1
    cache.notified(None, 4321, "read_models", "17 123456")
    assert await cache.get("k", compute) == 2
    assert cache.changed_at == 123456  # the primary's WAL position the NOTIFY carried
    cache.notified(None, 4321, "read_models", "16 100")  # an older one changes nothing
    assert cache.changed_at == 123456


async def test_a_result_computed_while_the_read_models_moved_is_not_kept():
    cache = ResultCache()
    started = asyncio.Event()

    async def slow() -> str:
        started.set()
        await asyncio.sleep(0.01)
        return "stale"

    pending = asyncio.create_task(cache.get("k", slow))
    await started.wait()
    cache.invalidate()
    assert await pending == "stale"

    async def fresh() -> str:
        return "fresh"

    assert await cache.get("k", fresh) == "fresh"


async def test_the_oldest_entries_go_first():
    cache = ResultCache(size=2)

    async def value(v: str) -> str:
        return v

    for key in ("a", "b", "c"):
        await cache.get(key, lambda key=key: value(key))
    assert await cache.get("a", lambda: value("again")) == "again"
    assert await cache.get("c", lambda: value("unused")) == "c"


async def test_kept_answers_age_out_even_without_a_notify():
    cache = ResultCache(max_age=0.01)

    async def value(v: str) -> str:
        return v

    assert await cache.get("k", lambda: value("first")) == "first"
    await asyncio.sleep(0.02)
    assert await cache.get("k", lambda: value("second")) == "second"
