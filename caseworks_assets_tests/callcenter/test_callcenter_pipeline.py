"""The callcenter case through Dagster and dbt on the hand-made fixture: one CLI run, then backfills and a
model made wrong on purpose. Each dbt invocation costs seconds, so the runs share one output folder and
the tests run in file order (the last one breaks the model)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import SimpleNamespace

import dagster as dg
import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from caseworks_assets.callcenter.answers import QUESTIONS, ordered
from caseworks_assets.callcenter.jobs import days_target
from caseworks_assets.callcenter.keys import ANSWERS_KEY, model_answer_key, model_key, source_answer_key
from caseworks_assets.callcenter.transform import run_window, window_vars
from caseworks_assets.cli import main
from caseworks_assets.code_location import build_definitions
from caseworks_assets.settings import Settings
from caseworks_assets_tests.callcenter.callcenter_fixture import EXPECTED, FIRST_DAY, LAST_DAY, write_fixture

pytestmark = pytest.mark.slow

CALL_HISTORY = model_key("call_history")


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The fixture run once through ``caseworks run callcenter``; the settings it ran with."""
    root = tmp_path_factory.mktemp("callcenter")
    saved = dict(os.environ)
    for name in ("CASEWORKS_ENV", "CASEWORKS_LAKE_ROOT", "CASEWORKS_WAREHOUSE", "CASEWORKS_DBT_WAREHOUSE"):
        os.environ.pop(name, None)
    os.environ["DAGSTER_HOME"] = str(root / "dagster_home")
    (root / "dagster_home").mkdir()
    folder = write_fixture(root / "data")
    assert main(["run", "callcenter", "--data-dir", str(folder), "--out-dir", str(root / "out")]) == 0
    yield Settings.from_env()
    os.environ.clear()
    os.environ.update(saved)


def _instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.get()


def _warehouse(settings: Settings, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.sql(sql).pl()


def _dbt_file(settings: Settings, sql: str, *, write: bool = False) -> pl.DataFrame | None:
    with duckdb.connect(str(settings.dbt_warehouse_path), read_only=not write) as connection:
        result = connection.sql(sql)
        return result.pl() if result is not None else None


def _execute(settings: Settings, keys: list[dg.AssetKey], **target) -> dg.ExecuteInProcessResult:
    defs = build_definitions(settings, cases=["callcenter"])
    job = defs.resolve_job_def("callcenter_job")
    return job.execute_in_process(instance=_instance(), asset_selection=keys, raise_on_error=False, **target)


def _durations(settings: Settings) -> dict[str, tuple[int, int]]:
    """Per day of call_history: (rows, smallest duration)."""
    frame = _dbt_file(settings, "select call_date, count(*), min(duration) from callcenter.call_history group by 1")
    return {day.isoformat(): (rows, low) for day, rows, low in frame.iter_rows()}


def test_one_run_loads_raw_builds_the_dbt_models_and_answers_both_ways(case: Settings) -> None:
    runs = _instance().get_runs()
    assert len(runs) == 1 and runs[0].is_success
    events = _instance().all_logs(runs[0].run_id)
    # raw tables and dbt ran in the same Dagster run, each dbt step once: call_history once for all its days
    steps = [
        e.step_key for e in events if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.STEP_START
    ]
    assert steps.count("callcenter_dbt_call_history") == 1 and "callcenter_raw" in steps
    days = _instance().get_materialized_partitions(CALL_HISTORY)
    assert days == {"2024-03-04", "2024-03-05", "2024-03-06"}
    records = _instance().event_log_storage.get_latest_asset_check_execution_by_key(
        list(build_definitions(case, cases=["callcenter"]).resolve_asset_graph().asset_check_keys)
    )
    dbt_checks = [key for key in records if key.asset_key.path[-1] in ("call_history", "marketing_details")]
    assert len(dbt_checks) >= 8  # dbt's tests are asset checks of the models
    failed = [str(key) for key, record in records.items() if record.status.value != "SUCCEEDED"]
    assert failed == []
    # one writer per DuckDB file: dbt wrote its own file, never Dagster's warehouse (open during the run)
    assert case.dbt_warehouse_path != case.warehouse_path
    assert _dbt_file(case, "select count(*) from callcenter.call_history").item() == 6
    tables = "select count(*) from information_schema.tables where table_name in ('call_history', 'stg_calls')"
    assert _warehouse(case, tables).item() == 0
    # the warehouse holds the raw tables (views over the lake files dbt read), the quarantine and the answers
    assert _warehouse(case, "select count(*) from callcenter.raw_call_history_queue").item() == 8
    quarantine = _warehouse(case, 'select "table", severity, row_number, rule, "column" from callcenter.quarantine')
    assert quarantine.filter(pl.col("severity") == "error").rows() == [
        ("call_history_queue", "error", 7, "id_int64", "id")
    ]
    # the kept rows' repaired values and nulled optional values are there too, as warnings naming file row and rule
    assert sorted(quarantine.filter(pl.col("severity") == "warning").drop("severity", "column").rows()) == [
        ("call_history_queue", 6, "repaired_trimmed"),
        ("call_history_queue", 6, "wait_seconds"),
        ("lines_mkt_final", 1, "repaired_trimmed"),
    ]
    for question in QUESTIONS:
        for key in (source_answer_key(question.name), model_answer_key(question.name)):
            answer = _warehouse(case, f"select * from {key.path[0]}.{key.path[1]}")
            expected = EXPECTED[question.name]
            assert_frame_equal(ordered(question, answer).select(expected.columns), expected, check_dtypes=False)
    text = (case.out_dir / "callcenter" / "answers.md").read_text(encoding="utf-8")
    assert "### Monthly non-inbound calls by media" in text and "| CPC | 3 | 2 | 150.0 | 75.0 | 50.0 |" in text


def test_a_backfill_of_days_is_one_dbt_run_and_replaces_those_days_only(case: Settings) -> None:
    _dbt_file(case, "update callcenter.call_history set duration = -1", write=True)
    result = _execute(case, [CALL_HISTORY], **days_target("2024-03-05", LAST_DAY))
    assert result.success
    dbt_steps = [e for e in result.all_events if e.is_step_start and e.step_key == "callcenter_dbt_call_history"]
    assert len(dbt_steps) == 1
    materialized = {e.partition for e in result.get_asset_materialization_events()}
    assert materialized == {"2024-03-05", "2024-03-06"}
    assert _durations(case) == {FIRST_DAY: (3, -1), "2024-03-05": (2, 50), LAST_DAY: (1, 60)}
    # both dbt steps of a run pass the run's days as vars (read from the tags Dagster sets on the run), so
    # the second reuses the first's parse: this fails if Dagster renames its partition tags
    assert run_window(SimpleNamespace(run=result.dagster_run)) == window_vars("2024-03-05", "2024-03-07")
    # re-running a day replaces that day: its rows once, the other days as they were
    one_day = _execute(case, [CALL_HISTORY], partition_key=FIRST_DAY)
    assert one_day.success
    assert run_window(SimpleNamespace(run=one_day.dagster_run)) == window_vars(FIRST_DAY, "2024-03-05")
    assert _durations(case) == {FIRST_DAY: (3, 100), "2024-03-05": (2, 50), LAST_DAY: (1, 60)}


def test_the_agree_check_blocks_the_answers_when_the_model_is_wrong(case: Settings) -> None:
    _dbt_file(case, "delete from callcenter.call_history where call_id = 6", write=True)  # a call lost by the model
    keys = [model_answer_key(q.name) for q in QUESTIONS] + [ANSWERS_KEY]
    result = _execute(case, keys)
    assert not result.success
    verdicts = {(e.asset_key.path[-1], e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    assert verdicts[("calls_per_day_on_model", "agrees_with_sources")] is False
    assert verdicts[("inbound_daily_on_model", "agrees_with_sources")] is False
    assert verdicts[("outbound_monthly_on_model", "agrees_with_sources")] is True  # call 6 was inbound
    assert ANSWERS_KEY not in {e.asset_key for e in result.get_asset_materialization_events()}
    differences = next(
        e.metadata["rows_that_differ"].value
        for e in result.get_asset_check_evaluations()
        if e.asset_key == model_answer_key("calls_per_day")
    )
    assert differences == 1  # 2024-03-06 lost its only call
