"""Overlap the stages of a batch loop: read the next batch and write the last while this one is computed.

A streaming DuckDB result or a Parquet reader only works when asked, and a
Parquet writer blocks its caller, so a loop of read -> transform -> write leaves
the engines idle while Python works and vice versa. :func:`prefetched` runs the
producing iterator on a background thread, ``depth`` batches ahead;
:class:`WriteBehind` runs the writes on one background thread, in order, at
most ``depth`` behind. The engines release the GIL, so on two cores the stages
proceed together, and memory stays bounded by ``depth`` batches per stage.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

from caseworks_assets.settings import without

T = TypeVar("T")

_DONE = object()


def prefetched(batches: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield ``batches`` in order, produced up to ``depth`` ahead on a worker thread.

    An exception raised by the producer is re-raised here, at the position it
    occurred; if the consumer stops early, the worker stops at its next batch.
    """
    if without("overlap_threads"):
        yield from batches
        return
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
            put(_DONE)
        except BaseException as error:  # handed to the consumer, which re-raises it
            put(error)

    worker = threading.Thread(target=produce, name="caseworks-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


class WriteBehind:
    """Run writes on one background thread, in submission order, at most ``depth`` pending.

    Use as a context manager: leaving it waits for every write and re-raises
    the first error; a failed write also surfaces at the next ``submit``.
    """

    def __init__(self, depth: int = 2) -> None:
        self.depth = depth
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="caseworks-write")
        self._pending: deque[Future[Any]] = deque()

    def submit(self, write: Callable[..., Any], *args: Any) -> Future[Any]:
        """Queue ``write(*args)``; its future tells when this one write is done (:meth:`wait`: all of them)."""
        if without("overlap_threads"):
            done: Future[Any] = Future()
            done.set_result(write(*args))
            return done
        while len(self._pending) >= self.depth:
            self._pending.popleft().result()
        future = self._pool.submit(write, *args)
        self._pending.append(future)
        return future

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
