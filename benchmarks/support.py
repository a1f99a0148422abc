"""Bare baselines for the support case: the fastest programs a user could write for the same result, no Dagster.

Two programs, each timed as a process of its own (interpreter start and engine
import included, as the case's run pays them):

* **duckdb** -- one statement per table: CSV scan -> casts -> the initial
  extract and each month's upserts anti-joined with every later month's
  changed ids, ``UNION ALL`` -> Parquet. Every anti-join builds its hash table
  from a small delta and streams the large side past it; nothing is held whole.
* **polars** -- the months applied in order with anti-join + concat.

Both read the same CSV files, make the same lossless repairs the pipeline
makes (trimmed text, blank = null, ``5.0`` read as 5, ``+00:00`` offsets, no zone as UTC, lower
case actions and channels), drop unreadable optional ratings, and write the
final tables as Parquet; ``caseworks_assets_tests/support/test_support_baselines.py``
checks that their tables equal the pipeline's. The ratio is taken against the
faster one; both are in the JSON. Quarantine, checks, warehouse, report and
exports are the pipeline's extra work.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

#: Bare programs timed, by name (``python -m benchmarks.support NAME DATA OUT REPORT`` runs one).
PROGRAMS = ("duckdb", "polars")

KEYS = {
    "agents": "agent_id",
    "contact_centers": "contact_center_id",
    "service_categories": "category_id",
    "interactions": "interaction_id",
}
TIMESTAMPS = ("timestamp", "interaction_start", "agent_resolution_timestamp", "interaction_end")
_DELTA = re.compile(r"^(?P<table>[a-z_]+?)_delta_(?P<month>\d{6})\.csv$")


def _files(data_dir: Path) -> dict[str, list[Path]]:
    """Per table: the initial extract, then its deltas in month order (the program's own reading of the layout)."""
    files = {table: [data_dir / "initial" / f"{table}.csv"] for table in KEYS}
    deltas = sorted(
        (match["month"], match["table"], path)
        for path in (data_dir / "delta").glob("*.csv")
        if (match := _DELTA.match(path.name))
    )
    for _, table, path in deltas:
        files[table].append(path)
    return files


def _quoted(name: str) -> str:
    return f'"{name}"'


def _duckdb_value(quoted: str) -> str:
    column = quoted.strip('"')
    text = f"nullif(trim({quoted}), '')"
    if column in TIMESTAMPS:
        return f"try_cast({text} AS TIMESTAMPTZ)"
    if column == "call_duration_minutes":
        return f"try_cast({text} AS DOUBLE)"
    if column == "satisfaction_rating":
        number = f"try_cast({text} AS DOUBLE)"
        return f"CASE WHEN {number} BETWEEN 1 AND 5 AND {number} = floor({number}) THEN {number}::BIGINT END"
    if column == "hire_date":
        return f"try_strptime({text}, '%Y-%m-%d')::DATE"
    if column == "channel":
        return f"lower({text})"
    return text


def duckdb_program(data_dir: Path, out_dir: Path) -> dict[str, int]:
    """One ``COPY (query) TO`` Parquet per table; see the module docstring."""
    import duckdb

    rows = {}
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        for table, files in _files(data_dir).items():
            key = KEYS[table]
            columns = con.execute(f"SELECT * FROM read_csv('{files[0]}', all_varchar = true) LIMIT 0").to_arrow_table()
            names = [name.strip() for name in columns.column_names]
            values = ", ".join(f"{_duckdb_value(_quoted(n))} AS {_quoted(n)}" for n in names)
            parts = [f"p0 AS (SELECT {values} FROM read_csv('{files[0]}', all_varchar = true))"]
            for index, path in enumerate(files[1:], start=1):
                parts.append(
                    f"d{index} AS MATERIALIZED (SELECT lower(trim(action)) AS action, {values} "
                    f"FROM read_csv('{path}', all_varchar = true))"
                )
            selects = []
            for index in range(len(files)):
                base = (
                    f"p{index}" if index == 0 else f"(SELECT * EXCLUDE (action) FROM d{index} WHERE action <> 'delete')"
                )
                later = " ".join(
                    f"ANTI JOIN d{after} ON u.{key} = d{after}.{key}" for after in range(index + 1, len(files))
                )
                selects.append(f"SELECT u.* FROM {base} AS u {later}")
            target = out_dir / f"{table}_final.parquet"
            query = f"WITH {', '.join(parts)} {' UNION ALL '.join(selects)}"
            rows[table] = con.execute(f"COPY ({query}) TO '{target}' (FORMAT parquet)").fetchone()[0]
    return rows


def _polars_typed(frame: Any, names: list[str]) -> Any:
    import polars as pl

    def text(name: str) -> pl.Expr:
        stripped = pl.col(name).str.strip_chars()
        return pl.when(stripped.str.len_chars() > 0).then(stripped)

    exprs = []
    for name in names:
        if name in TIMESTAMPS:
            value = pl.coalesce(
                pl.col(name).str.to_datetime("%Y-%m-%dT%H:%M:%SZ", time_zone="UTC", strict=False, cache=False),
                text(name).str.to_datetime("%Y-%m-%dT%H:%M:%S%#z", time_zone="UTC", strict=False, cache=False),
                text(name).str.to_datetime("%Y-%m-%d %H:%M:%S", time_zone="UTC", strict=False, cache=False),
            ).dt.convert_time_zone("America/New_York")
        elif name == "call_duration_minutes":
            value = text(name).cast(pl.Float64, strict=False)
        elif name == "satisfaction_rating":
            number = text(name).cast(pl.Float64, strict=False)
            value = pl.when(number.is_between(1, 5) & (number == number.floor())).then(number.cast(pl.Int64))
        elif name == "hire_date":
            value = text(name).str.to_date("%Y-%m-%d", strict=False)
        elif name == "channel":
            value = text(name).str.to_lowercase()
        else:
            value = text(name)
        exprs.append(value.alias(name))
    return frame.with_columns(exprs)


def polars_program(data_dir: Path, out_dir: Path) -> dict[str, int]:
    """The months applied in order: anti-join the state on the changed ids, concat the upserts."""
    import polars as pl

    rows = {}
    for table, files in _files(data_dir).items():
        key = KEYS[table]
        state = pl.read_csv(files[0], infer_schema=False)
        names = [name.strip() for name in state.columns]
        state = _polars_typed(state.rename(dict(zip(state.columns, names, strict=True))), names)
        for path in files[1:]:
            delta = pl.read_csv(path, infer_schema=False)
            delta = delta.rename({name: name.strip() for name in delta.columns}).with_columns(
                pl.col("action").str.strip_chars().str.to_lowercase(), pl.col(key).str.strip_chars()
            )
            upserts = _polars_typed(delta.filter(pl.col("action") != "delete"), names).select(names)
            state = pl.concat([state.join(delta.select(key), on=key, how="anti"), upserts])
        state.write_parquet(out_dir / f"{table}_final.parquet")
        rows[table] = state.height
    return rows


def _program(name: str, data_dir: Path, out_dir: Path) -> dict[str, int]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return {"duckdb": duckdb_program, "polars": polars_program}[name](data_dir, out_dir)


def baseline(data_dir: Path, out_dir: Path) -> dict:
    """Time each bare program as a process of its own; the faster one is the baseline."""
    from benchmarks.runner import measure

    programs: dict[str, dict[str, Any]] = {}
    for name in PROGRAMS:
        report = out_dir.parent / f"baseline-{name}.json"
        os.sync()
        measured = measure(
            [sys.executable, "-m", "benchmarks.support", name, str(data_dir), str(out_dir / name), str(report)],
            dict(os.environ),
        )
        programs[name] = {
            "bare_program_s": measured.wall_s,
            "peak_rss_mib": measured.peak_rss_mib,
            **json.loads(report.read_text()),
        }
    fastest = min(programs, key=lambda name: programs[name]["bare_program_s"])
    return {
        "what": f"fastest bare program: {fastest}",
        "fastest": fastest,
        "wall_s": programs[fastest]["bare_program_s"],
        "bare_program_s": programs[fastest]["bare_program_s"],
        "peak_rss_mib": programs[fastest]["peak_rss_mib"],
        "rows": programs[fastest]["rows"],
        "programs": programs,
    }


def _main(name: str, data_dir: str, out_dir: str, report: str) -> None:
    start = time.perf_counter()
    rows = _program(name, Path(data_dir), Path(out_dir))
    Path(report).write_text(json.dumps({"work_s": round(time.perf_counter() - start, 3), "rows": rows}))


if __name__ == "__main__":
    _main(*sys.argv[1:5])
