"""Generate scaled inputs, run a case through the CLI and measure it.

Each step runs in its own process so its peak resident set size is its own
(``os.wait4`` reports the child's ``ru_maxrss``). A case may ship a module
``benchmarks/<case>.py`` with ``baseline(data_dir, out_dir) -> dict``: the bare
equivalent of its work, timed in the same run so the ratio is meaningful on
whatever machine runs it.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass
class StepMeasure:
    """Wall time and peak RSS of one child process."""

    wall_s: float
    peak_rss_mib: float
    exit_code: int


def measure(command: list[str], env: dict[str, str]) -> StepMeasure:
    """Run ``command`` and return its wall time and peak RSS (Linux ``ru_maxrss`` is KiB)."""
    start = time.perf_counter()
    # stderr goes to a file, not a pipe: nobody reads a pipe during wait4, and a
    # verbose child (Dagster logs) would block forever once the pipe is full.
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    exit_code = os.waitstatus_to_exitcode(status)
    if exit_code != 0:
        raise RuntimeError(f"{' '.join(command)} exited {exit_code}: {stderr.strip()[-2000:]}")
    return StepMeasure(wall_s=round(wall, 3), peak_rss_mib=round(usage.ru_maxrss / 1024, 1), exit_code=exit_code)


def _baseline(case: str, data_dir: Path, out_dir: Path) -> dict[str, Any] | None:
    try:
        module = importlib.import_module(f"benchmarks.{case}")
    except ModuleNotFoundError:
        return None
    baseline = getattr(module, "baseline", None)
    return baseline(data_dir, out_dir) if baseline else None


def run_benchmark(case: str, rows: int, work_dir: Path | None = None) -> dict[str, Any]:
    """Sample ``rows`` for ``case``, run it, time the baseline; return the JSON-ready result."""
    work = Path(work_dir or tempfile.mkdtemp(prefix=f"caseworks-bench-{case}-"))
    data_dir, out_dir = work / "data", work / "out"
    env = {**os.environ, "DAGSTER_HOME": str(work / "dagster_home"), "CASEWORKS_ENV": "local"}
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    cli = [sys.executable, "-m", "caseworks_assets.cli"]
    sample = measure([*cli, "sample", case, "--out", str(data_dir), "--rows", str(rows)], env)
    run = measure([*cli, "run", case, "--data-dir", str(data_dir), "--out-dir", str(out_dir)], env)
    result: dict[str, Any] = {
        "case": case,
        "rows": rows,
        "wall_s": run.wall_s,
        "rows_per_s": round(rows / run.wall_s, 1) if run.wall_s else None,
        "peak_rss_mib": run.peak_rss_mib,
        "sample": asdict(sample),
    }
    baseline = _baseline(case, data_dir, work / "baseline")
    if baseline is not None:
        result["baseline"] = baseline
        if baseline.get("wall_s"):
            result["ratio_to_baseline"] = round(run.wall_s / baseline["wall_s"], 2)
    return result
