"""Scratch folders: removed when their block ends, and by the next one when their process was killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from caseworks_assets.scratch import remove_orphans, scratch_folder

HOLD = """
import sys, time
from pathlib import Path
from caseworks_assets.scratch import scratch_folder
with scratch_folder("spill", Path(sys.argv[1])) as folder:
    (folder / "part.arrow").write_bytes(b"x" * 1024)
    print(folder, flush=True)
    time.sleep(60)
"""


def _holder(base: Path) -> tuple[subprocess.Popen, Path]:
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(base)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, Path(process.stdout.readline().strip())


def test_a_killed_process_folder_is_removed_by_the_next_one_and_a_live_one_is_kept(tmp_path: Path) -> None:
    killed, killed_folder = _holder(tmp_path)
    alive, alive_folder = _holder(tmp_path)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
        assert (killed_folder / "part.arrow").exists()  # nothing of the killed process ran to clean up

        with scratch_folder("spill", tmp_path) as mine:
            assert mine.is_dir() and f"-{os.getpid()}-" in mine.name
            assert not killed_folder.exists()
            assert (alive_folder / "part.arrow").exists()  # a running process keeps its files
        assert not mine.exists()
        assert remove_orphans("other-purpose", tmp_path) == []  # another purpose's folders are not touched
        assert alive_folder.exists()
    finally:
        alive.kill()
        alive.wait(timeout=10)
    deadline = time.monotonic() + 5
    while alive_folder.exists() and time.monotonic() < deadline:
        remove_orphans("spill", tmp_path)
    assert not alive_folder.exists()
