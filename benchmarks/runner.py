"""Generate scaled inputs, run a case through the CLI and measure it.

Each step runs in its own process so its peak resident set size is its own
(``os.wait4`` reports the child's ``ru_maxrss``). A case may ship a module
``benchmarks/<case>.py`` with ``baseline(data_dir, out_dir) -> dict``: the bare
equivalent of its work, timed in the same run (in a process of its own, like
the case) so the ratio is meaningful on whatever machine runs it, and
``RUN_ARGS``, extra ``caseworks run`` arguments that narrow the measured run to
the work the baseline stands for, and ``after_runs(data_dir, out_dir, rows) -> dict``,
measurements of what the last run left behind (e.g. a served API), merged into
the result. The per-step seconds come from the run's Dagster event log.

``without`` switches performance mechanisms off (``CASEWORKS_BENCH_WITHOUT``
in every child, see :data:`caseworks_assets.settings.MECHANISMS`), so a
mechanism's worth is the ratio with it against the ratio without it, measured
in the same session. ``bytecode`` is switched off here, for every child (the
case and its bare program run from the same installation): Python looks for
compiled modules in an empty folder (``PYTHONPYCACHEPREFIX``) and may not write
any (``PYTHONDONTWRITEBYTECODE``), as in an installation that compiled nothing
where Python cannot or may not write them (a read-only image, or a container
that sets ``PYTHONDONTWRITEBYTECODE``, as many do).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from caseworks_assets.settings import MECHANISMS, WITHOUT_ENV


@dataclass
class StepMeasure:
    """Wall time, CPU time and peak RSS of one child process.

    On a shared machine the wall time of the same program moves by a third;
    its CPU time (user + system, its threads included) moves far less, so a
    mechanism that saves work shows in ``cpu_s`` even when the wall time is noise.
    """

    wall_s: float
    peak_rss_mib: float
    exit_code: int
    cpu_s: float = 0.0


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
    return StepMeasure(
        wall_s=round(wall, 3),
        peak_rss_mib=round(usage.ru_maxrss / 1024, 1),
        exit_code=exit_code,
        cpu_s=round(usage.ru_utime + usage.ru_stime, 3),
    )


#: Creates the Dagster instance (``dagster.yaml`` and its SQLite databases) in ``DAGSTER_HOME``, as the CLI would.
CREATE_INSTANCE = "from caseworks_assets.instance import get_instance; get_instance()"


def _case_module(case: str) -> Any:
    try:
        return importlib.import_module(f"benchmarks.{case}")
    except ModuleNotFoundError:
        return None


def step_seconds(dagster_home: Path) -> dict[str, float]:
    """Seconds per step over every run in the instance at ``dagster_home``, slowest first.

    Read from the event log the UI shows, so the breakdown is the product's
    own record of the run, not a second stopwatch.
    """
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    totals: dict[str, float] = {}
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance:
        for run in instance.get_runs():
            started: dict[str, float] = {}
            for entry in instance.all_logs(run.run_id):
                event = entry.dagster_event
                if event is None or entry.step_key is None:
                    continue
                if event.event_type == dg.DagsterEventType.STEP_START:
                    started[entry.step_key] = entry.timestamp
                elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                    elapsed = entry.timestamp - started.pop(entry.step_key, entry.timestamp)
                    totals[entry.step_key] = totals.get(entry.step_key, 0.0) + elapsed
    return {key: round(seconds, 3) for key, seconds in sorted(totals.items(), key=lambda item: -item[1])}


def without_bytecode(folder: Path) -> dict[str, str]:
    """Variables under which a Python process compiles every module it imports from source, and keeps none."""
    return {"PYTHONPYCACHEPREFIX": str(folder), "PYTHONDONTWRITEBYTECODE": "1"}


def _sampled(data_dir: Path, case: str, rows: int, env: dict[str, str], cli: list[str]) -> StepMeasure | None:
    """Sample ``rows`` into ``data_dir``, unless a kept ``--work-dir`` already holds that sample."""
    marker = data_dir / ".caseworks-bench-rows"
    if marker.exists() and marker.read_text() == str(rows):
        return None
    shutil.rmtree(data_dir, ignore_errors=True)
    sample = measure([*cli, "sample", case, "--out", str(data_dir), "--rows", str(rows)], env)
    marker.write_text(str(rows))
    return sample


def run_benchmark(
    case: str, rows: int, work_dir: Path | None = None, repeat: int = 1, without: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Sample ``rows`` for ``case``, then run it and time its baseline ``repeat`` times; return the JSON result.

    The case and its baseline alternate (case, baseline, case, ...), each case
    run into a new output folder on a new Dagster instance. The instance is
    created before the clock starts, as any earlier command on the machine
    (``make demo``, ``make ui``) has created it: the process creating
    Dagster's SQLite databases, a one-time cost, is reported apart as
    ``instance_setup_s``, not as part of a run. On a shared machine the same
    program's wall time moves by a third from one minute to the next; the
    reported times are each side's fastest (the least disturbed measurement,
    as ``timeit`` reports), with every attempt listed.
    """
    unknown = set(without) - set(MECHANISMS)
    if unknown:
        raise ValueError(f"unknown mechanisms {sorted(unknown)}; known: {', '.join(MECHANISMS)}")
    work = Path(work_dir or tempfile.mkdtemp(prefix=f"caseworks-bench-{case}-"))
    data_dir, out_dir, home = work / "data", work / "out", work / "dagster_home"
    env = {**os.environ, "DAGSTER_HOME": str(home), "CASEWORKS_ENV": "local", WITHOUT_ENV: ",".join(without)}
    if "bytecode" in without:
        env |= without_bytecode(work / "no-bytecode")
    cli = [sys.executable, "-m", "caseworks_assets.cli"]
    module = _case_module(case)
    # a case may narrow the measured run to the work its baseline is the bare equivalent of
    run_args = list(getattr(module, "RUN_ARGS", []))
    sample = _sampled(data_dir, case, rows, env, cli)
    attempts: list[dict[str, Any]] = []
    for _ in range(max(repeat, 1)):
        for folder in (home, out_dir):  # every attempt starts from a new instance and output folder
            shutil.rmtree(folder, ignore_errors=True)
        home.mkdir(parents=True)
        setup = measure([sys.executable, "-c", CREATE_INSTANCE], env)
        os.sync()  # what earlier programs wrote goes to disk now, not while this one is timed
        run = measure([*cli, "run", case, "--data-dir", str(data_dir), "--out-dir", str(out_dir), *run_args], env)
        attempt: dict[str, Any] = {"run": run, "steps": step_seconds(home), "setup": setup}
        if getattr(module, "baseline", None) is not None:
            attempt["baseline"] = _measure_baseline(case, module, data_dir, work, env)
        attempts.append(attempt)
    fastest = min(attempts, key=lambda attempt: attempt["run"].wall_s)
    run, steps = fastest["run"], fastest["steps"]
    result: dict[str, Any] = {
        "case": case,
        "rows": rows,
        "run_args": run_args,
        "without": list(without),
        "repeat": len(attempts),
        "wall_s": run.wall_s,
        "cpu_s": run.cpu_s,
        "rows_per_s": round(rows / run.wall_s, 1) if run.wall_s else None,
        "peak_rss_mib": max(attempt["run"].peak_rss_mib for attempt in attempts),
        "instance_setup_s": min(attempt["setup"].wall_s for attempt in attempts),
        "sample": asdict(sample) if sample else None,
        "steps_s": round(sum(steps.values()), 3),
        "steps": steps,
    }
    if "baseline" in fastest:
        baseline = min((attempt["baseline"] for attempt in attempts), key=lambda measured: measured["bare_program_s"])
        result["baseline"] = {**baseline, "peak_rss_mib": max(a["baseline"]["peak_rss_mib"] for a in attempts)}
        result["ratio_to_baseline"] = round(run.wall_s / baseline["bare_program_s"], 2)
        result["steps_ratio_to_baseline"] = round(result["steps_s"] / baseline["wall_s"], 2)
        result["attempts"] = [
            {
                "wall_s": attempt["run"].wall_s,
                "cpu_s": attempt["run"].cpu_s,
                "bare_program_s": attempt["baseline"]["bare_program_s"],
                "ratio": round(attempt["run"].wall_s / attempt["baseline"]["bare_program_s"], 2),
            }
            for attempt in attempts
        ]
    else:
        result["attempts"] = [{"wall_s": attempt["run"].wall_s, "cpu_s": attempt["run"].cpu_s} for attempt in attempts]
    if getattr(module, "after_runs", None) is not None:
        result.update(module.after_runs(data_dir, out_dir, rows))
    return result


def _measure_baseline(case: str, module: Any, data_dir: Path, work: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run the case's bare baseline in a process of its own; its wall time plus starting its engine."""
    report = work / "baseline.json"
    shutil.rmtree(work / "baseline", ignore_errors=True)
    command = [sys.executable, "-m", "benchmarks.runner", case, str(data_dir), str(work / "baseline"), str(report)]
    os.sync()  # the case's outputs go to disk now, not while the baseline is timed
    process = measure(command, env)
    measured = json.loads(report.read_text())
    if "bare_program_s" in measured:  # the case timed its bare programs as whole processes itself
        return measured
    # A bare program pays for starting Python and importing its engine too (the case's run does);
    # the baseline's own process also imports caseworks for the input layout, which is not counted.
    engine = getattr(module, "ENGINE", "polars")
    startup = measure([sys.executable, "-c", f"import {engine}"], env).wall_s
    return {
        **measured,
        "startup_s": startup,
        "bare_program_s": round(measured["wall_s"] + startup, 3),
        "peak_rss_mib": process.peak_rss_mib,
    }


def _baseline_main(case: str, data_dir: str, out_dir: str, report: str) -> None:
    """Child-process entry: run ``benchmarks.<case>.baseline`` and write its result as JSON."""
    measured = _case_module(case).baseline(Path(data_dir), Path(out_dir))
    Path(report).write_text(json.dumps(measured))


if __name__ == "__main__":
    _baseline_main(*sys.argv[1:5])
