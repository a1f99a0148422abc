"""The Spark step on a standalone cluster: a master and one worker on 127.0.0.1, from the installed pyspark.

The delinquency job runs twice, each in its own process: once on
``CASEWORKS_SPARK_MASTER=spark://127.0.0.1:PORT`` (the executors are the
worker's, started with the same Python) and once on ``local[*]``; the exported
clients, the warehouse tables and the percentage are the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pyspark
import pytest
import requests
from polars.testing import assert_frame_equal

from caseworks_assets_tests.conftest import free_port
from caseworks_assets_tests.deploy.servers import PROJECT_ROOT, Process, wait_until

pytestmark = pytest.mark.slow

SPARK_HOME = Path(pyspark.__file__).parent


@pytest.fixture(scope="module")
def spark_master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A standalone master and one worker (1 core, 1 GiB) on 127.0.0.1; yields the master URL and its status URL."""
    work = tmp_path_factory.mktemp("spark_cluster")
    env = {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_NO_DAEMONIZE": "1",
        # executors run Python from the same environment as the driver
        "PYSPARK_PYTHON": sys.executable,
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    port, ui_port = free_port(), free_port()
    master_url = f"spark://127.0.0.1:{port}"
    processes = [
        Process("spark-master", [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                 "--port", str(port), "--webui-port", str(ui_port)], env, work),
        Process("spark-worker", [spark_class, "org.apache.spark.deploy.worker.Worker", master_url,
                                 "--host", "127.0.0.1", "--port", str(free_port()), "--webui-port", str(free_port()),
                                 "--cores", "1", "--memory", "1g", "--work-dir", str(work / "worker")], env, work),
    ]  # fmt: skip
    try:

        def worker_registered() -> bool:
            for process in processes:
                process.check_alive()
            try:
                state = requests.get(f"http://127.0.0.1:{ui_port}/json/", timeout=2).json()
            except (requests.RequestException, ValueError):
                return False
            return state.get("aliveworkers", 0) >= 1

        try:
            wait_until(worker_registered, 120, "the Spark worker to register with the master", interval=1)
        except Exception as error:
            raise RuntimeError(f"{error}\n" + "\n".join(p.tail() for p in processes)) from error
        yield master_url, f"http://127.0.0.1:{ui_port}/json/"
    finally:
        for process in reversed(processes):
            process.stop()


def _run_job(master: str, root: Path) -> dict:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORKS_", "DAGSTER_"))}
    env = {
        **keep,
        "CASEWORKS_SPARK_MASTER": master,
        "CASEWORKS_OUT_DIR": str(root / "out"),
        "CASEWORKS_DATA_DIR": str(root / "data"),
        "DAGSTER_HOME": str(root),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "caseworks_assets_tests.deploy.spark_job_run"],
        env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{master}: {done.stderr[-4000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def _clients(root: Path) -> pl.DataFrame:
    export = root / "out" / "payments" / "delinquent_clients"
    frame = pl.read_parquet(export / "**" / "*.parquet", hive_partitioning=True)
    return frame.sort(frame.columns)


def _tables(root: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(root / "out" / "warehouse.duckdb"), read_only=True) as con:
        return {
            table: con.execute(f"select * from payments.{table} order by all").fetchall()
            for table in ("delinquent_clients", "delinquency_summary")
        }


def test_delinquency_on_a_standalone_cluster_matches_local(spark_master: tuple[str, str], tmp_path: Path) -> None:
    master_url, status_url = spark_master
    cluster, local = tmp_path / "cluster", tmp_path / "local"
    on_cluster = _run_job(master_url, cluster)
    # the cluster did the work: the master ran the application on its worker
    apps = requests.get(status_url, timeout=10).json()
    assert [app["name"] for app in apps["completedapps"] + apps["activeapps"]] == ["caseworks"], apps
    on_local = _run_job("local[*]", local)
    assert on_cluster["success"] and on_local["success"]
    assert on_cluster["pct_delinquent"] == on_local["pct_delinquent"]
    assert_frame_equal(_clients(cluster), _clients(local))
    assert _tables(cluster) == _tables(local)
