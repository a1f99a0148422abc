"""Overlap the writes of a loop with its computation: write the last result while the next is computed.

A Parquet writer blocks its caller, so a loop of compute -> write leaves the
engine idle while the file is written. :class:`WriteBehind` runs the writes on
one background thread, in order, at most ``depth`` behind; the engines release
the GIL, so on two cores both proceed together, and memory stays bounded by
``depth`` pending writes. Used where it measurably pays (support's month step;
README, mechanism table); reading ahead on a thread did not, and was removed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any

from caseworks_assets.settings import without


class WriteBehind:
    """Run writes on one background thread, in submission order, at most ``depth`` pending.

    Use as a context manager: leaving it waits for every write and re-raises
    the first error; a failed write also surfaces at the next ``submit``.
    """

    def __init__(self, depth: int = 2) -> None:
        self.depth = depth
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="caseworks-write")
        self._pending: deque[Future[Any]] = deque()

    def submit(self, write: Callable[..., Any], *args: Any) -> None:
        if without("overlap_threads"):
            write(*args)
            return
        while len(self._pending) >= self.depth:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(write, *args))

    def wait(self) -> None:
        """Block until every submitted write is done; raise the first error."""
        while self._pending:
            self._pending.popleft().result()

    def __enter__(self) -> WriteBehind:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        try:
            if kind is None:
                self.wait()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=kind is not None)
