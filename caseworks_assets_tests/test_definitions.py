"""The code location loads, in both environments, with the shape the product promises."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import dagster as dg
import pytest

from caseworks_assets.code_location import build_definitions
from caseworks_assets.registry import case_names, registered_cases
from caseworks_assets.resources import LakeIOManager
from caseworks_assets.resources.warehouse import BigQueryPolarsIOManager, DuckDBPolarsIOManager
from caseworks_assets.settings import Settings, SettingsError


def _asset_specs(defs: dg.Definitions) -> list[dg.AssetSpec]:
    return list(defs.resolve_all_asset_specs())


def test_local_definitions_load_with_one_group_per_case(caseworks_env: Settings) -> None:
    defs = build_definitions(caseworks_env)
    dg.Definitions.validate_loadable(defs)
    specs = _asset_specs(defs)
    groups = {spec.group_name for spec in specs}
    assert groups == set(registered_cases())
    for spec in specs:
        assert spec.key.path[0] == spec.group_name, f"{spec.key} is not under its case prefix"
    resources = defs.resources or {}
    assert isinstance(resources["io_manager"], DuckDBPolarsIOManager)
    assert resources["io_manager"].database == str(caseworks_env.out_dir / "warehouse.duckdb")
    assert isinstance(resources["lake_io_manager"], LakeIOManager)


@pytest.mark.parametrize("case", case_names())
def test_each_case_loads_on_its_own_without_the_other_cases(case: str) -> None:
    """The CLI runs a case on its own definitions: they load with the resources they require, hold the case's
    group only, and import no other case."""
    probe = (
        "import json, sys\n"
        "import dagster as dg\n"
        "from caseworks_assets.code_location import build_definitions\n"
        f"defs = build_definitions(cases=[{case!r}])\n"
        "dg.Definitions.validate_loadable(defs)\n"
        "print(json.dumps(sorted({s.group_name for s in defs.resolve_all_asset_specs()})))\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('caseworks_assets.'))))"
    )
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    groups, modules = (json.loads(line) for line in output.strip().splitlines())
    assert groups == [case]
    assert not {f"caseworks_assets.{other}" for other in case_names() if other != case} & set(modules)


def test_every_case_has_a_job_for_the_cli(caseworks_env: Settings) -> None:
    defs = build_definitions(caseworks_env)
    for name in registered_cases():
        assert defs.resolve_job_def(f"{name}_job") is not None


#: Assets that are not tables: documents (Markdown answers) and file exports of tables documented elsewhere.
NOT_TABLES = {"markdown", "csv"}


def test_every_table_asset_documents_its_columns(caseworks_env: Settings) -> None:
    defs = build_definitions(caseworks_env)
    undocumented = [
        spec.key.to_user_string()
        for spec in _asset_specs(defs)
        if "dagster/column_schema" not in (spec.metadata or {}) and not NOT_TABLES & set(spec.kinds)
    ]
    assert undocumented == []


def test_prod_definitions_construct_without_credentials_or_network(
    caseworks_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASEWORKS_ENV", "prod")
    monkeypatch.setenv("CASEWORKS_BQ_PROJECT", "caseworks-prod")
    monkeypatch.setenv("CASEWORKS_LAKE_ROOT", "gs://caseworks-lake")
    monkeypatch.setenv("CASEWORKS_SPARK_MASTER", "spark://spark-master:7077")
    settings = Settings.from_env()
    defs = build_definitions(settings)
    dg.Definitions.validate_loadable(defs)
    resources = defs.resources or {}
    assert isinstance(resources["io_manager"], BigQueryPolarsIOManager)
    assert resources["io_manager"].project == "caseworks-prod"
    assert resources["lake_io_manager"].root == "gs://caseworks-lake"
    assert resources["spark"].spark_config["spark.master"] == "spark://spark-master:7077"


def test_warehouse_assets_show_the_warehouse_of_their_environment(caseworks_env: Settings) -> None:
    """The UI's kind tag says DuckDB locally; the same code loaded with CASEWORKS_ENV=prod says BigQuery."""
    probe = (
        "from caseworks_assets.definitions import defs\n"
        "print(sorted({k for s in defs.resolve_all_asset_specs() for k in s.kinds} & {'duckdb', 'bigquery'}))"
    )
    env = {
        **os.environ,
        "CASEWORKS_ENV": "prod",
        "CASEWORKS_BQ_PROJECT": "caseworks-prod",
        "CASEWORKS_LAKE_ROOT": "gs://caseworks-lake",
    }
    prod = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert prod.stdout.strip() == "['bigquery']"
    local_kinds = {kind for spec in _asset_specs(build_definitions(caseworks_env)) for kind in spec.kinds}
    assert "duckdb" in local_kinds and "bigquery" not in local_kinds


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"CASEWORKS_ENV": "staging"}, "CASEWORKS_ENV"),
        ({"CASEWORKS_ENV": "prod", "CASEWORKS_LAKE_ROOT": "gs://lake"}, "CASEWORKS_BQ_PROJECT"),
        ({"CASEWORKS_ENV": "prod", "CASEWORKS_BQ_PROJECT": "p"}, "CASEWORKS_LAKE_ROOT"),
        (
            {"CASEWORKS_ENV": "prod", "CASEWORKS_BQ_PROJECT": "p", "CASEWORKS_LAKE_ROOT": "/tmp/lake"},
            "gs://",
        ),
    ],
)
def test_bad_settings_name_the_variable(
    caseworks_env: Settings, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        Settings.from_env()


def test_warehouse_writers_share_one_pool(caseworks_env: Settings) -> None:
    """DuckDB has one writer: assets stored by the warehouse IO manager queue on one pool."""
    from caseworks_assets.resources import WAREHOUSE_POOL

    graph = build_definitions(caseworks_env).resolve_asset_graph()
    warehouse_kinds = {"duckdb", "bigquery"}
    warehouse_assets = [
        graph.get(key)
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable and warehouse_kinds & set(graph.get(key).kinds)
    ]
    assert warehouse_assets, "no asset declares a warehouse kind"
    unpooled = [node.key.to_user_string() for node in warehouse_assets if WAREHOUSE_POOL not in node.pools]
    assert unpooled == []


def test_instance_limits_the_warehouse_pool_to_one_writer(caseworks_env: Settings) -> None:
    from caseworks_assets.instance import get_instance
    from caseworks_assets.resources import WAREHOUSE_POOL

    instance = get_instance()
    assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    assert WAREHOUSE_POOL


@pytest.mark.parametrize(
    ("key", "deadline_cron", "timezone"),
    [
        (["ouchhungry", "daily_delivery"], "0 9 * * *", "America/Sao_Paulo"),
        (["ouchhungry", "monthly_delivery"], "0 12 1 * *", "America/Sao_Paulo"),
        (["support", "support_report"], "0 9 5 * *", "America/New_York"),
    ],
)
def test_deliverables_carry_their_deadline_as_a_freshness_policy(
    caseworks_env: Settings, key: list[str], deadline_cron: str, timezone: str
) -> None:
    """The UI flags a late deliverable by the same deadline the alerts use."""
    specs = {spec.key: spec for spec in _asset_specs(build_definitions(caseworks_env))}
    policy = specs[dg.AssetKey(key)].freshness_policy
    assert policy is not None
    assert (policy.deadline_cron, policy.timezone) == (deadline_cron, timezone)


def test_definitions_are_built_once_per_configuration(caseworks_env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process running several cases (``caseworks demo``) builds the location once, not once per case run."""
    whole = build_definitions(caseworks_env)
    assert build_definitions(caseworks_env) is whole
    assert build_definitions(Settings.from_env()) is whole  # equal settings, same build
    one = build_definitions(caseworks_env, cases=["support"])
    assert one is not whole and build_definitions(caseworks_env, cases=["support"]) is one
    # the definitions depend on the Settings given and nothing else: another configuration is another Settings
    monkeypatch.setenv("CASEWORKS_SUPPORT_DATA_DIR", str(caseworks_env.data_dir / "elsewhere"))
    assert build_definitions(caseworks_env) is whole
    moved = build_definitions(Settings.from_env())
    assert moved is not whole
    assert moved.resources["inputs"].overrides == {"support": str(caseworks_env.data_dir / "elsewhere")}
    monkeypatch.setenv("CASEWORKS_OUT_DIR", str(caseworks_env.out_dir.parent / "other-out"))
    assert build_definitions(Settings.from_env()) is not moved
