"""Publishing a file only when it is complete: write a hidden sibling, then rename it into place.

Readers (a partner polling a folder, the next asset, a sensor watching a landing
folder) never see half a file, and a failed write leaves the previous version
in place. Works for local paths and ``UPath`` lake paths alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TypeVar

from upath import UPath

AnyPath = TypeVar("AnyPath", Path, UPath)


@contextmanager
def staged_path(target: AnyPath, suffix: str = ".tmp") -> Iterator[AnyPath]:
    """Yield a temporary sibling of ``target`` to write; rename it onto ``target`` when the block succeeds.

    On an error the temporary file is removed and ``target`` is left as it was.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}{suffix}")
    try:
        yield staging
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    staging.rename(target)


@contextmanager
def staged_writer(target: Path | UPath) -> Iterator[BinaryIO]:
    """A binary handle on a staged sibling of ``target`` (see :func:`staged_path`)."""
    with staged_path(target) as staging, staging.open("wb") as handle:
        yield handle
