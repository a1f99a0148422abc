"""How the CLI drives the payments case: input checks, the run, the printed summary."""

from __future__ import annotations

from pathlib import Path

import duckdb

from caseworks_assets.payments.reader import KINDS, check_top_level, file_head, input_files
from caseworks_assets.registry import InputError
from caseworks_assets.runner import CaseRun


def validate_inputs(data_dir: Path) -> None:
    """The folder exists and holds transactions and payments files that start like JSON."""
    if not data_dir.is_dir():
        raise InputError(f"payments input folder not found: {data_dir}")
    for kind in ("transactions", "payments"):
        files = input_files(data_dir, kind)
        if not files:
            raise InputError(f"{data_dir}: no {kind}*.json / .ndjson / .jsonl file")
        for path in files:
            head = file_head(path, 4096)
            name = path.relative_to(data_dir).as_posix()
            if head and head[:1] not in (b"[", b"{"):
                raise InputError(f"{name}: line 1: not a JSON array or NDJSON file (starts with {head[:20]!r})")
            check_top_level(path, name, KINDS[kind])


def run(case_run: CaseRun) -> None:
    """Materialize the whole batch pipeline (ingest, clean, govern and, if present, delinquency)."""
    from caseworks_assets.payments.delinquency import ALL_FLAGS_TAGS, delinquency_run_config

    # Delinquency: D from --as-of (None = latest valid date); both inadimplente partitions in this one run.
    run_config = delinquency_run_config(case_run.as_of)
    if case_run.as_of is not None:
        case_run.echo(f"payments: evaluating at {case_run.as_of.isoformat()}")
    tags = {**ALL_FLAGS_TAGS, "payments/as_of": str(case_run.as_of or "")}
    case_run.execute("payments_job", run_config=run_config, tags=tags)


def summarize(case_run: CaseRun) -> str:
    """Loaded and quarantined counts per table, from the warehouse the run wrote."""
    from caseworks_assets.settings import Settings

    warehouse = Settings.from_env().warehouse_path
    if not warehouse.exists():
        return "payments: no warehouse written"
    lines = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'payments'"
            ).fetchall()
        }
        for table in ("transactions", "payments"):
            if table not in tables:
                continue
            loaded = con.execute(f"select count(*) from payments.{table}").fetchone()[0]  # type: ignore[index]
            quarantined = warned = 0
            rules = warned_rules = ""
            if f"{table}_quarantine" in tables:
                quarantine = f"payments.{table}_quarantine"
                by_rule = con.execute(
                    f"select severity, rule, count(*) n from {quarantine} group by all order by n desc, rule"
                ).fetchall()
                rejected = [(rule, n) for severity, rule, n in by_rule if severity != "warning"]
                warnings = [(rule, n) for severity, rule, n in by_rule if severity == "warning"]
                quarantined, warned = sum(n for _, n in rejected), sum(n for _, n in warnings)
                rules = " (" + ", ".join(f"{rule}: {n}" for rule, n in rejected) + ")" if rejected else ""
                warned_rules = " (" + ", ".join(f"{rule}: {n}" for rule, n in warnings) + ")" if warnings else ""
            line = f"{table}: {loaded} loaded, {quarantined} quarantined{rules}"
            if warned:  # loaded rows whose optional value was unreadable and nulled
                line += f"; {warned} value(s) nulled with a warning{warned_rules}"
            lines.append(line)
        if "delinquency_summary" in tables:
            from caseworks_assets.payments.delinquency.report import delinquency_answer

            lines.append(delinquency_answer(con))
    return "\n".join(lines)
