"""Bare-DuckDB baseline for the callcenter case: the same final SQL on the same inputs, no Dagster, no dbt.

It reads the five source files with DuckDB (types given, the row position
kept as ``source_line``), builds the dbt models from the project's own SQL files
(jinja reduced to the plain SQL DuckDB runs: ``source()``/``ref()`` as table
names, the cross-database macros as DuckDB functions, no config or window) and
computes the five answers both ways with :mod:`caseworks_assets.callcenter.answers`.
What it leaves out is what the case adds: Dagster, the quarantine and checks,
the lake and warehouse writes, and dbt itself. dbt's own overhead is timed
apart: ``dbt_overhead_s`` is one ``dbt parse`` of the prepared project (a dbt
process start, the adapter and the saved parse loaded: what every ``dbt build``
pays before its first model), ``dbt_version_s`` the ``dbt --version`` dagster-dbt
runs once per process, and :func:`after_runs` reads the case's own dbt log:
per invocation, the seconds from dbt's first log line to its first model
(``parse_s``, whether the whole project was parsed again) and of its models and tests.
"""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import time
from pathlib import Path

import duckdb

from caseworks_assets.callcenter.answers import QUESTIONS
from caseworks_assets.callcenter.columns import CONTRACTS, TABLES
from caseworks_assets.callcenter.dbt_env import PROJECT_DIR, dbt_executable
from caseworks_assets.callcenter.raw import source_file

ENGINE = "duckdb"
SCHEMA = "callcenter"
#: The dbt models in build order (what dbt's DAG gives).
MODELS = (
    "staging/stg_calls",
    "staging/stg_telephony_types",
    "staging/stg_attendances",
    "staging/stg_attendances_calls",
    "staging/stg_lines",
    "marts/marketing_details",
    "marts/call_history",
    "marts/attendance_details",
)
DUCKDB_TYPES = {
    "Int64": "BIGINT",
    "Float64": "DOUBLE",
    "String": "VARCHAR",
    "Boolean": "BOOLEAN",
    "Datetime": "TIMESTAMP",
}


def plain_sql(model_sql: str) -> str:
    """A model's SQL with its jinja reduced to what DuckDB runs for a full build."""
    sql = re.sub(r"\{#.*?#\}", "", model_sql, flags=re.S)
    sql = re.sub(r"\{\{\s*config\(.*?\)\s*\}\}", "", sql, flags=re.S)
    sql = re.sub(r"\{%\s*if var\(.*?\{%\s*endif\s*%\}", "", sql, flags=re.S)
    sql = re.sub(r"\{\{\s*source\('[^']+',\s*'([^']+)'\)\s*\}\}", rf"{SCHEMA}.\1", sql)
    sql = re.sub(r"\{\{\s*ref\('([^']+)'\)\s*\}\}", rf"{SCHEMA}.\1", sql)
    sql = re.sub(r"\{\{\s*dbt\.date_trunc\('(\w+)',\s*'([^']+)'\)\s*\}\}", r"date_trunc('\1', \2)", sql)
    if "{{" in sql or "{%" in sql:
        raise ValueError(f"jinja left in model SQL:\n{sql}")
    return sql


def _load(connection: duckdb.DuckDBPyConnection, data_dir: Path) -> None:
    connection.execute(f"create schema {SCHEMA}")
    for table in TABLES:
        path = str(source_file(data_dir, table)).replace("'", "''")
        columns = ", ".join(f"'{c.name}': '{DUCKDB_TYPES[c.spec.dtype]}'" for c in CONTRACTS[table])
        reader = (
            f"read_parquet('{path}')"
            if path.endswith(".parquet")
            else f"read_csv('{path}', header = true, columns = {{{columns}}})"
        )
        connection.execute(
            f"create table {SCHEMA}.raw_{table} as select row_number() over () as source_line, * from {reader}"
        )


def baseline(data_dir: Path, out_dir: Path) -> dict:
    """Load, build the three tables, answer the five questions both ways; write the answers as Parquet."""
    start = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as connection:
        _load(connection, data_dir)
        for model in MODELS:
            sql = plain_sql((PROJECT_DIR / "models" / f"{model}.sql").read_text(encoding="utf-8"))
            connection.execute(f"create table {SCHEMA}.{Path(model).name} as {sql}")
        rows = connection.sql(f"select count(*) from {SCHEMA}.call_history").fetchone()[0]
        for question in QUESTIONS:
            for side, sql in (("sources", question.on_sources), ("model", question.on_model)):
                target = str(out_dir / f"{question.name}_on_{side}.parquet").replace("'", "''")
                connection.execute(f"copy ({sql.format(schema=SCHEMA)}) to '{target}' (format parquet)")
    wall = time.perf_counter() - start
    return {"wall_s": round(wall, 3), "calls": rows, "dbt_overhead_s": dbt_overhead(), "dbt_version_s": dbt_version()}


def dbt_overhead() -> float:
    """Seconds of ``dbt parse`` on the project (no models run): the fixed price of each dbt invocation."""
    start = time.perf_counter()
    command = [dbt_executable(), "parse", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
    subprocess.run([*command, "--target", "dev", "--target-path", "target/benchmark"], check=True, capture_output=True)
    return round(time.perf_counter() - start, 3)


def dbt_version() -> float:
    """Seconds of ``--version`` of the dbt command line the run uses: dagster-dbt asks it once per process, before its
    first dbt command (``caseworks-dbt`` answers offline; dbt's own ``dbt --version`` imports every adapter and asks
    PyPI, see ``--without dbt_launcher``)."""
    start = time.perf_counter()
    subprocess.run([dbt_executable(), "--version"], check=True, capture_output=True)
    return round(time.perf_counter() - start, 3)


def _seconds(event: dict) -> float:
    return datetime.datetime.fromisoformat(event["info"]["ts"].replace("Z", "+00:00")).timestamp()


def dbt_invocations(log: Path) -> list[dict]:
    """Per dbt invocation in a run's ``dbt.log`` (JSON lines): parse seconds, full parse or not, model/test seconds."""
    invocations: dict[str, dict] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        name, entry = event["info"]["name"], invocations.setdefault(event["info"]["invocation_id"], {})
        if name == "MainReportVersion":
            entry["started"] = _seconds(event)
        elif name == "UnableToPartialParse":
            entry["full_parse"] = True
        elif name == "FoundStats":
            entry["parsed"] = _seconds(event)
        elif name == "FinishedRunningStats":
            entry["ran"] = _seconds(event)
    return [
        {
            "parse_s": round(entry["parsed"] - entry["started"], 3),
            "full_parse": entry.get("full_parse", False),
            "models_and_tests_s": round(entry["ran"] - entry["parsed"], 3),
        }
        for entry in invocations.values()
        if {"started", "parsed", "ran"} <= entry.keys()
    ]


def after_runs(data_dir: Path, out_dir: Path, rows: int) -> dict:
    """The dbt invocations of the last run, read from its dbt log (``<out>/callcenter/dbt/<run>/dbt.log``)."""
    logs = sorted((out_dir / "callcenter" / "dbt").glob("*/dbt.log"))
    return {"dbt_invocations": [invocation for log in logs for invocation in dbt_invocations(log)]}
