"""File locks that keep two ``caseworks`` processes from stepping on each other.

Two things must never be done by two processes at once: writing one output
folder (one DuckDB writer, one set of lake files, exports renamed into place)
and creating a new Dagster instance (Dagster's SQLite schema creation is not
safe to race: the second process fails on ``alembic_version``). Both take an
exclusive ``flock`` on a small file. The kernel releases a lock when its
process ends, however it ends (``kill -9`` included), so a crashed run never
leaves a lock behind and no stale-lock clean-up is needed.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from caseworks_assets.settings import SettingsError

OUT_DIR_LOCK = ".caseworks.lock"
INSTANCE_LOCK = ".caseworks-instance.lock"


def _holder(handle: IO[str]) -> str:
    """Who holds the lock, from what the holder wrote into the file (best effort)."""
    try:
        handle.seek(0)
        info = json.loads(handle.read() or "{}")
    except (OSError, ValueError):
        return "another caseworks process"
    if not info:
        return "another caseworks process"
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(info.get("since", 0)))
    return f"`{info.get('command', 'caseworks')}` (pid {info.get('pid')} on {info.get('host')}, since {since})"


@contextmanager
def exclusive(
    path: Path, *, describe: str, on_wait: Callable[[str], None] | None = None, command: str = "caseworks"
) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for the block; wait for it if another process has it.

    ``on_wait`` is told once, in one line, who holds it before the wait
    starts. The file keeps the holder's pid, host, command and start time so
    that the next process can say whom it waits for.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(f"waiting for {describe}, held by {_holder(handle)}")
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            handle.seek(0)
            handle.truncate()
            info = {"pid": os.getpid(), "host": socket.gethostname(), "command": command, "since": time.time()}
            handle.write(json.dumps(info))
            handle.flush()
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def usable_folder(folder: Path, name: str, hint: str) -> Path:
    """``folder``, created if missing; :class:`SettingsError` naming ``name`` if it is a file or cannot be created."""
    if folder.exists() and not folder.is_dir():
        raise SettingsError(f"{name} {folder} is a file, not a folder: {hint}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SettingsError(f"{name} {folder} cannot be created: {error.strerror}") from error
    return folder


def usable_out_dir(out_dir: Path) -> Path:
    """``out_dir``, created if missing; :class:`SettingsError` if it is a file or cannot be created."""
    return usable_folder(out_dir, "--out-dir", "name a folder (it is created if missing)")


@contextmanager
def out_dir_lock(
    out_dir: Path, on_wait: Callable[[str], None] | None = None, command: str = "caseworks"
) -> Iterator[None]:
    """One ``caseworks`` process at a time writes ``out_dir``; a second one waits, saying for whom."""
    usable_out_dir(out_dir)
    with exclusive(out_dir / OUT_DIR_LOCK, describe=f"the output folder {out_dir}", on_wait=on_wait, command=command):
        yield


@contextmanager
def instance_lock(home: Path) -> Iterator[None]:
    """Serialize creating (and first opening) the Dagster instance in ``home``."""
    with exclusive(home / INSTANCE_LOCK, describe=f"the Dagster instance {home}"):
        yield
