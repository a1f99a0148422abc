"""``WriteBehind``: writes run in submission order off the caller's thread; the first error surfaces."""

from __future__ import annotations

import threading

import pytest

from caseworks_assets.resources.overlap import WriteBehind
from caseworks_assets.settings import WITHOUT_ENV


def test_write_behind_keeps_order_and_reports_errors():
    written = []
    with WriteBehind(depth=2) as writes:
        for n in range(50):
            writes.submit(written.append, n)
    assert written == list(range(50))

    def fail(n):
        raise OSError(f"disk full at {n}")

    with pytest.raises(OSError, match="disk full at 0"), WriteBehind() as writes:
        writes.submit(fail, 0)


def test_write_behind_runs_on_a_worker_thread_unless_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    threads = []
    with WriteBehind() as writes:
        writes.submit(lambda: threads.append(threading.current_thread()))
    assert threads[-1] is not threading.current_thread()
    monkeypatch.setenv(WITHOUT_ENV, "overlap_threads")  # what ``python -m benchmarks ... --without`` sets
    with WriteBehind() as writes:
        writes.submit(lambda: threads.append(threading.current_thread()))
    assert threads[-1] is threading.current_thread()
