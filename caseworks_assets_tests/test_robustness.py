"""Crashes, signals and concurrent runs, through the real ``caseworks`` process.

Each run here is a child process on a shared ``DAGSTER_HOME``, as a user
would start it; the instance's SQLite files are read directly to see what
the runs left behind.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from caseworks_assets.cli import main
from caseworks_assets_tests.conftest import wait_until

ROOT = Path(__file__).resolve().parent.parent


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORKS_")}
    return {**env, "DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT), **extra}


def _command(data: Path, out: Path, *extra: str, case: str = "payments") -> list[str]:
    cli = [sys.executable, "-m", "caseworks_assets.cli"]
    return [*cli, "run", case, "--data-dir", str(data), "--out-dir", str(out), *extra]


def _start(data: Path, out: Path, home: Path, log: Path, *extra: str, case: str = "payments") -> subprocess.Popen:
    with log.open("wb") as handle:
        return subprocess.Popen(
            _command(data, out, *extra, case=case),
            env=_env(home),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _query(home: Path, database: str, sql: str, *params: object) -> list[tuple]:
    path = home / "history" / database
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as con:
        try:
            return con.execute(sql, params).fetchall()
        except sqlite3.OperationalError:  # tables not created yet
            return []


def _slot_holders(home: Path, step: str | None = None) -> list[str]:
    sql = "select run_id from concurrency_slots where run_id <> ''" + (" and step_key = ?" if step else "")
    return [r[0] for r in _query(home, "runs/index.db", sql, *([step] if step else []))]


def _status(home: Path, run_id: str) -> str:
    return _query(home, "runs.db", "select status from runs where run_id = ?", run_id)[0][0]


def _results(out: Path) -> dict[str, object]:
    """What a payments run produced, independent of file bytes: warehouse row counts and the delinquent set."""
    import duckdb

    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute("select table_name from duckdb_tables() where schema_name = 'payments'").fetchall()
        ]
        tables += [
            r[0] for r in con.execute("select view_name from duckdb_views() where schema_name = 'payments'").fetchall()
        ]
        counts = {t: con.execute(f'select count(*) from payments."{t}"').fetchone()[0] for t in sorted(tables)}
    clients = pl.read_parquet(out / "payments" / "delinquent_clients" / "**" / "*.parquet", hive_partitioning=True)
    delinquent = sorted(clients.filter(pl.col("inadimplente").cast(pl.String) == "true")["customer_id"].to_list())
    return {"counts": counts, "delinquent": delinquent}


def _staged(out: Path) -> list[Path]:
    return [p for p in out.rglob(".*.tmp")]


def _finish(command: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``command`` to its end; on a hang, fail with what it printed instead of a bare timeout."""
    try:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as hung:
        raise AssertionError(
            f"{command[3:5]} still running after {timeout:.0f} s; it printed:\n{hung.stderr}"
        ) from None


def _said(process: subprocess.Popen, log: Path, text: str) -> str | None:
    """The first line of ``log`` containing ``text``, while ``process`` still runs."""
    assert process.poll() is None, f"the run ended: {log.read_text()}"
    return next((line for line in log.read_text().splitlines() if text in line), None)


@pytest.mark.slow
def test_a_killed_run_frees_its_slot_a_waiting_run_says_why_and_stops_on_sigterm(tmp_path: Path) -> None:
    """kill -9 while a pool slot is held: a run that waits names the holder and cancels on SIGTERM; a run
    still waiting when the holder dies recovers it and goes on; the rerun on the killed run's folder ends
    with the same results as a clean run, no temporary file left."""
    data, home = tmp_path / "data", tmp_path / "home"
    assert main(["sample", "payments", "--out", str(data), "--rows", "300"]) == 0

    # A: stopped (alive) while it holds the warehouse slot, later killed
    killed = _start(data, tmp_path / "out-a", home, tmp_path / "a.log")
    holder = wait_until(lambda: _slot_holders(home), 300, "run A to hold a pool slot", interval=0.02)[0]
    os.killpg(killed.pid, signal.SIGSTOP)

    # B: waits for the slot, says who holds it, and stops within seconds on SIGTERM
    log_b = tmp_path / "b.log"
    waiting = _start(data, tmp_path / "out-b", home, log_b)
    line = wait_until(lambda: _said(waiting, log_b, "waits for a slot"), 300, "run B to say it waits", interval=0.2)
    assert f"held by run {holder}" in line and "pid" in line and " since " in line, line
    started = time.monotonic()
    waiting.send_signal(signal.SIGTERM)
    assert waiting.wait(timeout=60) == 128 + signal.SIGTERM
    assert time.monotonic() - started < 20
    err = log_b.read_text()
    assert err.strip().splitlines()[-1].startswith("caseworks: run canceled:"), err
    (run_b,) = _query(home, "runs.db", "select run_id from runs where run_id <> ? order by create_timestamp", holder)
    assert _status(home, run_b[0]) == "CANCELED"

    # C: waits for A too; A dies meanwhile; C recovers it while waiting and runs to the end
    log_c = tmp_path / "c.log"
    patient = _start(data, tmp_path / "out-c", home, log_c)
    wait_until(lambda: _said(patient, log_c, "waits for a slot"), 300, "run C to say it waits", interval=0.2)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(timeout=60)
    assert patient.wait(timeout=600) == 0, log_c.read_text()
    assert f"run {holder} (payments_job) marked failed" in log_c.read_text()
    assert _status(home, holder) == "FAILURE"
    assert _slot_holders(home) == []

    # the rerun on A's folder runs to the end and leaves no staging file
    rerun = _finish(_command(data, tmp_path / "out-a"), _env(home))
    assert rerun.returncode == 0, rerun.stderr
    assert _slot_holders(home) == []
    assert _staged(tmp_path / "out-a") == []

    clean = _finish(_command(data, tmp_path / "out-clean"), _env(tmp_path / "home-clean"))
    assert clean.returncode == 0, clean.stderr
    assert _results(tmp_path / "out-a") == _results(tmp_path / "out-c") == _results(tmp_path / "out-clean")


def _support_results(out: Path) -> dict[str, object]:
    import duckdb

    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        names = con.execute("select table_name from duckdb_tables() where schema_name = 'support'").fetchall()
        names += con.execute("select view_name from duckdb_views() where schema_name = 'support'").fetchall()
        counts = {n: con.execute(f'select count(*) from support."{n}"').fetchone()[0] for (n,) in sorted(names)}
    report = pl.read_parquet(out / "support" / "support_report.parquet")
    return {
        "counts": counts,
        "report": report.sort(report.columns).rows(),
        "answers": (out / "support" / "support_answers.md").read_text(),
    }


@pytest.mark.slow
def test_support_killed_in_its_longest_step_reruns_to_the_results_of_a_clean_run(tmp_path: Path) -> None:
    data, home = tmp_path / "data", tmp_path / "home"
    assert main(["sample", "support", "--out", str(data), "--rows", "300"]) == 0
    killed = _start(data, tmp_path / "out", home, tmp_path / "killed.log", case="support")
    holder = wait_until(
        lambda: _slot_holders(home, "support_month"), 300, "support_month to hold its pool slot", interval=0.02
    )[0]
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(timeout=60)

    rerun = _finish(_command(data, tmp_path / "out", case="support"), _env(home))
    assert rerun.returncode == 0, rerun.stderr
    assert f"run {holder} (support_job) marked failed" in rerun.stderr
    assert _status(home, holder) == "FAILURE" and _slot_holders(home) == []
    assert _staged(tmp_path / "out") == []
    clean = _finish(_command(data, tmp_path / "clean", case="support"), _env(tmp_path / "home-clean"))
    assert clean.returncode == 0, clean.stderr
    assert _support_results(tmp_path / "out") == _support_results(tmp_path / "clean")


def test_a_second_run_on_the_same_output_folder_waits_and_says_for_whom(tmp_path: Path) -> None:
    from caseworks_assets.locks import out_dir_lock

    data, home, out = tmp_path / "data", tmp_path / "home", tmp_path / "out"
    assert main(["sample", "payments", "--out", str(data), "--rows", "100"]) == 0
    log = tmp_path / "second.log"
    with out_dir_lock(out, command="the first run"):
        second = _start(data, out, home, log, "--select", 'key:"payments/raw_transactions"')
        wait_until(lambda: "waiting for the output folder" in log.read_text(), 300, "the second run to wait", 0.1)
        assert f"held by `the first run` (pid {os.getpid()}" in log.read_text()
        time.sleep(1)
        assert second.poll() is None  # still waiting, not failed
    assert second.wait(timeout=600) == 0, log.read_text()
    assert "Traceback" not in log.read_text()


_CREATE = "from caseworks_assets.instance import get_instance; get_instance().get_run_records(limit=1)"


def test_concurrent_first_time_instance_creation_is_safe(tmp_path: Path) -> None:
    home = tmp_path / "home"
    command = [sys.executable, "-c", _CREATE]
    processes = [subprocess.Popen(command, env=_env(home), stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [p.communicate(timeout=300)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], errors
