"""The cache of serialized list pages: a page is kept until what it shows changes, or for max_age."""

from __future__ import annotations

from weaver.api.cache import PageCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_page_is_served_until_a_change() -> None:
    cache = PageCache(max_age=1.0, clock=Clock())
    cache.put(("runs", 1), cache.generation, b"page one")

    assert cache.get(("runs", 1)) == b"page one"
    assert cache.get(("runs", 2)) is None
    cache.changed()
    assert cache.get(("runs", 1)) is None


def test_a_page_read_before_a_change_is_not_kept() -> None:
    cache = PageCache(max_age=1.0, clock=Clock())
    generation = cache.generation  # a request reads the store ...
    cache.changed()  # ... while a write commits
    cache.put("key", generation, b"stale")

    assert cache.get("key") is None


def test_a_page_is_served_for_max_age_at_most() -> None:
    clock = Clock()
    cache = PageCache(max_age=1.0, clock=clock)
    cache.put("key", cache.generation, b"page")

    clock.now += 0.999
    assert cache.get("key") == b"page"
    clock.now += 0.002
    assert cache.get("key") is None


def test_the_cache_keeps_at_most_size_pages_dropping_the_oldest() -> None:
    cache = PageCache(max_age=1.0, size=3, clock=Clock())
    for n in range(5):
        cache.put(n, cache.generation, str(n).encode())

    assert [cache.get(n) for n in range(5)] == [None, None, b"2", b"3", b"4"]
    assert len(cache) == 3


def test_the_cache_holds_at_most_max_bytes_of_pages() -> None:
    cache = PageCache(max_age=1.0, max_bytes=10, clock=Clock())
    cache.put("a", cache.generation, b"1234")
    cache.put("b", cache.generation, b"5678")
    cache.put("c", cache.generation, b"90ab")  # 12 bytes: "a" goes
    cache.put("huge", cache.generation, b"x" * 11)  # larger than the whole budget: not kept

    assert [cache.get(k) for k in ("a", "b", "c", "huge")] == [None, b"5678", b"90ab", None]
    assert cache.bytes == 8
    cache.changed()
    assert cache.bytes == 0 and len(cache) == 0


def test_requests_that_miss_together_read_the_store_once() -> None:
    """A page that expired under 16 concurrent clients is made once, not 16 times."""
    import asyncio

    cache = PageCache(max_age=1.0, clock=Clock())
    made: list[int] = []

    async def make() -> bytes:
        made.append(1)
        await asyncio.sleep(0.01)
        return b"page"

    async def scenario() -> list[bytes]:
        return await asyncio.gather(*(cache.page("key", make) for _ in range(16)))

    assert asyncio.run(scenario()) == [b"page"] * 16
    assert len(made) == 1
    assert cache.get("key") == b"page"


def test_a_request_after_a_change_does_not_wait_for_a_page_made_before_it() -> None:
    import asyncio

    cache = PageCache(max_age=1.0, clock=Clock())
    versions = iter([b"before", b"after"])

    async def make() -> bytes:
        await asyncio.sleep(0.01)
        return next(versions)

    async def scenario() -> tuple[bytes, bytes]:
        first = asyncio.ensure_future(cache.page("key", make))
        await asyncio.sleep(0)
        cache.changed()  # a write commits while the first page is being made
        second = await cache.page("key", make)
        return await first, second

    assert asyncio.run(scenario()) == (b"before", b"after")
    assert cache.get("key") == b"after"


def test_a_failure_to_make_a_page_reaches_every_waiter_and_keeps_nothing() -> None:
    import asyncio

    import pytest

    cache = PageCache(max_age=1.0, clock=Clock())

    async def make() -> bytes:
        await asyncio.sleep(0.01)
        raise ConnectionError("store away")

    async def scenario() -> list[object]:
        return await asyncio.gather(*(cache.page("key", make) for _ in range(3)), return_exceptions=True)

    outcomes = asyncio.run(scenario())
    assert [type(o) for o in outcomes] == [ConnectionError] * 3
    assert cache.get("key") is None
    with pytest.raises(ConnectionError):
        asyncio.run(cache.page("key", make))
