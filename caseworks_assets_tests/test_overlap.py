"""``prefetched``: same items in the same order, producer errors re-raised in place, early stop releases the worker."""

from __future__ import annotations

import threading

import pytest

from caseworks_assets.resources.overlap import prefetched


def test_yields_every_item_in_order():
    assert list(prefetched(iter(range(1000)), depth=3)) == list(range(1000))


def test_a_producer_error_surfaces_after_the_items_before_it():
    def failing():
        yield 1
        yield 2
        raise ValueError("bad batch 3")

    seen = []
    with pytest.raises(ValueError, match="bad batch 3"):
        for item in prefetched(failing()):
            seen.append(item)
    assert seen == [1, 2]


def test_stopping_early_stops_the_worker():
    produced = []

    def endless():
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    for item in prefetched(endless(), depth=2):
        if item == 5:
            break
    assert not any(t.name == "caseworks-prefetch" and t.is_alive() for t in threading.enumerate())
    assert len(produced) <= 5 + 1 + 2 + 1  # at most depth (+ the one in hand) beyond the consumer


def test_write_behind_keeps_order_and_reports_errors():
    from caseworks_assets.resources.overlap import WriteBehind

    written = []
    with WriteBehind(depth=2) as writes:
        for n in range(50):
            writes.submit(written.append, n)
    assert written == list(range(50))

    def fail(n):
        raise OSError(f"disk full at {n}")

    with pytest.raises(OSError, match="disk full at 0"), WriteBehind() as writes:
        writes.submit(fail, 0)
