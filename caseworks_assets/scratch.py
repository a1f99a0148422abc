"""Local scratch folders that do not outlive a killed process for long.

A step spills to the machine's temporary folder: support's typed initial
extract (about 1.5 GB at 10M rows), a lake file downloaded for a reader, a
state written before its upload, the service-account key dbt reads. A
``TemporaryDirectory`` is removed when its block ends, but not when the
process is killed (``SIGKILL``, an out-of-memory kill, a lost machine), nor
when the run watch ends the process after a signal (``os._exit`` runs no
``finally``). Each folder therefore carries its process id, and the next
scratch folder of the same purpose removes those whose process is gone.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = "caseworks-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_orphans(purpose: str, base: Path | None = None) -> list[Path]:
    """Remove the scratch folders of ``purpose`` whose process has ended; return them."""
    base = base or Path(tempfile.gettempdir())
    owned = re.compile(rf"^{re.escape(PREFIX + purpose)}-(?P<pid>\d+)-")
    removed = []
    for folder in base.glob(f"{PREFIX}{purpose}-*"):
        found = owned.match(folder.name)
        if found and folder.is_dir() and not _alive(int(found["pid"])):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@contextmanager
def scratch_folder(purpose: str, base: Path | None = None) -> Iterator[Path]:
    """A new folder ``caseworks-<purpose>-<pid>-*`` for the block, after removing those of dead processes."""
    remove_orphans(purpose, base)
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}{purpose}-{os.getpid()}-", dir=base) as folder:
        yield Path(folder)


_PROCESS_FOLDERS: dict[str, Path] = {}


def process_folder(purpose: str, base: Path | None = None) -> Path:
    """A folder ``caseworks-<purpose>-<pid>-*`` for the rest of the process, removed at its exit.

    For files that readers made once and may read again later in the run (a
    repaired copy of an input); a killed process leaves it to the next one.
    """
    if purpose not in _PROCESS_FOLDERS:
        remove_orphans(purpose, base)
        folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{purpose}-{os.getpid()}-", dir=base))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _PROCESS_FOLDERS[purpose] = folder
    return _PROCESS_FOLDERS[purpose]
