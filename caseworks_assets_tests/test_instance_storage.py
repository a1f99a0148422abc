"""The instance caseworks writes keeps its SQLite engines and still behaves as Dagster's own storage."""

import inspect
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.consolidated_sqlite_event_log import ConsolidatedSqliteEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

from caseworks_assets.instance import get_instance
from caseworks_assets.instance_storage import (
    MAX_ENGINES,
    CachedEngineSqliteEventLogStorage,
    CachedEngineSqliteRunStorage,
    _sqlite_engine,
)
from caseworks_assets.settings import Settings

DAYS = dg.StaticPartitionsDefinition(["2025-01", "2025-02"])


@dg.asset(partitions_def=DAYS, check_specs=[dg.AssetCheckSpec("positive", asset="numbers")])
def numbers(context: dg.AssetExecutionContext):
    yield dg.MaterializeResult(metadata={"month": context.partition_key})
    yield dg.AssetCheckResult(check_name="positive", passed=context.partition_key != "2025-02")


def _materialize(instance: dg.DagsterInstance, partition: str) -> dg.ExecuteInProcessResult:
    return dg.materialize([numbers], instance=instance, partition_key=partition, raise_on_error=False)


def test_the_written_instance_uses_the_engine_keeping_storage(caseworks_env: Settings) -> None:
    instance = get_instance()
    assert isinstance(instance.event_log_storage, CachedEngineSqliteEventLogStorage)
    assert isinstance(instance.run_storage, CachedEngineSqliteRunStorage)
    home = Path(instance.root_directory)
    # the files are where Dagster's default SQLite storage keeps them, so either class reads them
    assert (home / "history" / "runs.db").exists()
    assert (home / "history" / "runs" / "index.db").exists()


def test_runs_events_partitions_and_checks_are_visible_to_another_process_view(caseworks_env: Settings) -> None:
    instance = get_instance()
    first, second = _materialize(instance, "2025-01"), _materialize(instance, "2025-02")
    assert first.success and second.success  # the failed check is a WARN-level result, not a failure

    # An instance on the same folder with Dagster's own classes (no dagster.yaml read, all defaults), as
    # after deleting the two storage entries: everything stored through the kept engines is there.
    plain = InstanceRef.from_dir(instance.root_directory, config_filename="no-such-config.yaml")
    with dg.DagsterInstance.from_ref(plain) as other:
        assert type(other.event_log_storage).__name__ == "SqliteEventLogStorage"
        runs = other.get_runs()
        assert {run.run_id for run in runs} == {first.run_id, second.run_id}
        assert other.get_materialized_partitions(dg.AssetKey("numbers")) == {"2025-01", "2025-02"}
        latest = other.get_latest_materialization_event(dg.AssetKey("numbers"))
        assert latest is not None and latest.run_id == second.run_id
        evaluations = other.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("numbers"), "positive"), limit=10
        )
        assert len(evaluations) == 2
        assert len(other.all_logs(second.run_id)) == len(instance.all_logs(second.run_id)) > 10


def test_engines_are_reused_and_bounded(caseworks_env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    instance = get_instance()
    storage = instance.event_log_storage
    assert isinstance(storage, CachedEngineSqliteEventLogStorage)
    result = _materialize(instance, "2025-01")
    kept = dict(storage._engines)  # the cache is what this test is about
    assert set(kept) >= {"index", result.run_id}
    _materialize(instance, "2025-01")
    assert storage._engines["index"] is kept["index"]

    monkeypatch.setattr("caseworks_assets.instance_storage.MAX_ENGINES", 2)
    for _ in range(3):
        _materialize(instance, "2025-02")
    assert len(storage._engines) <= 2 < MAX_ENGINES
    # a run whose engine was dropped is read again through a new one
    assert len(instance.all_logs(result.run_id)) > 10


def test_wipe_forgets_engines_and_recreates_databases(caseworks_env: Settings) -> None:
    instance = get_instance()
    _materialize(instance, "2025-01")
    instance.wipe()
    assert instance.get_runs() == []
    assert instance.get_materialized_partitions(dg.AssetKey("numbers")) == set()
    after = _materialize(instance, "2025-02")
    assert after.success
    assert instance.get_materialized_partitions(dg.AssetKey("numbers")) == {"2025-02"}


CHILD_RUN = """
import dagster as dg
from caseworks_assets.instance import get_instance

@dg.asset
def from_child():
    return 1

result = dg.materialize([from_child], instance=get_instance())
print(result.run_id)
"""


def test_another_process_writes_while_this_one_keeps_its_connections(caseworks_env: Settings) -> None:
    """The webserver, daemon and CLI share the files: kept connections must not lock anyone out."""
    instance = get_instance()
    mine = _materialize(instance, "2025-01")  # this process now holds open connections
    child = subprocess.run([sys.executable, "-c", CHILD_RUN], capture_output=True, text=True, timeout=120, check=True)
    child_run_id = child.stdout.strip().splitlines()[-1]
    assert {run.run_id for run in instance.get_runs()} == {mine.run_id, child_run_id}
    assert instance.get_latest_materialization_event(dg.AssetKey("from_child")) is not None
    assert _materialize(instance, "2025-02").success  # and this process still writes after it


def test_a_new_database_is_in_wal_mode_and_commits_without_fsync_from_its_first_statement(tmp_path: Path) -> None:
    engine = _sqlite_engine(f"sqlite:///{tmp_path / 'new.db'}")
    with engine.connect() as conn:
        # before any schema exists: Dagster's CREATE statements then commit into the WAL, not one fsync each
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    engine.dispose()


#: What the ``instance_storage`` mechanism overrides or reads of Dagster's private SQLite storage classes:
#: (class, attribute, parameter names). A Dagster upgrade that changes one of them fails here, by name.
RELIED_ON = [
    (SqliteEventLogStorage, "_connect", ["self", "shard"]),
    (SqliteEventLogStorage, "_initdb", ["self", "engine", "for_index_shard"]),
    (SqliteEventLogStorage, "conn_string_for_shard", ["self", "shard_name"]),
    (SqliteEventLogStorage, "has_table", ["self", "table_name"]),
    (SqliteEventLogStorage, "wipe", ["self"]),
    (SqliteEventLogStorage, "__init__", ["self", "base_dir", "inst_data"]),
    (SqliteRunStorage, "connect", ["self"]),
    (SqliteRunStorage, "from_local", ["base_dir", "inst_data"]),
    (ConsolidatedSqliteEventLogStorage, "_connect", ["self"]),
    (ConsolidatedSqliteEventLogStorage, "has_table", ["self", "table_name"]),
    (ConsolidatedSqliteEventLogStorage, "dispose", ["self"]),
    (ConsolidatedSqliteEventLogStorage, "__init__", ["self", "base_dir", "inst_data"]),
]


def test_dagster_still_has_the_internals_the_instance_storage_mechanism_overrides(tmp_path: Path) -> None:
    """Fails loudly, naming the mechanism, when a Dagster upgrade moves what ``instance_storage.py`` relies on."""
    advice = (
        f"instance_storage mechanism: Dagster {dg.__version__} changed {{}}; adapt caseworks_assets/instance_storage.py"
        " or drop the mechanism (instance.storage_yaml, its README row)"
    )
    for cls, name, parameters in RELIED_ON:
        member = getattr(cls, name, None)
        assert member is not None, advice.format(f"{cls.__name__}.{name} (gone)")
        found = list(inspect.signature(member).parameters)
        assert found == parameters, advice.format(f"{cls.__name__}.{name}{tuple(found)}, expected {tuple(parameters)}")
    events = SqliteEventLogStorage(str(tmp_path / "runs"))
    for attribute in ("_initialized_dbs", "_db_lock"):
        assert hasattr(events, attribute), advice.format(f"SqliteEventLogStorage.{attribute} (gone)")
    for storage in (
        SqliteRunStorage.from_local(str(tmp_path)),
        ConsolidatedSqliteEventLogStorage(str(tmp_path / "ev")),
    ):
        assert isinstance(getattr(storage, "_conn_string", None), str), advice.format(
            f"{type(storage).__name__}._conn_string (gone)"
        )
    assert isinstance(SQLITE_BUSY_TIMEOUT_SECONDS, int | float) and INDEX_SHARD_NAME == "index", advice.format(
        "the SQLite event log's module constants"
    )
