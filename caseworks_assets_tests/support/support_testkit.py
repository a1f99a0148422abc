"""Shared helpers of the support tests: settings, definitions and a case run pointed at a temporary folder."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import polars as pl

from caseworks_assets.resources import LakeResource, build_resources
from caseworks_assets.runner import CaseRun
from caseworks_assets.settings import Settings
from caseworks_assets.support.definitions import defs as support_defs
from caseworks_assets.support.states import read_state


def make_settings(root: Path) -> Settings:
    out = root / "out"
    return Settings(
        env="local",
        out_dir=out,
        data_dir=root / "data",
        warehouse_path=out / "warehouse.duckdb",
        lake_root=str(out / "lake"),
        spark_master="local[1]",
        bigquery_project=None,
        bigquery_location=None,
        gcp_credentials=None,
    )


def make_defs(settings: Settings) -> dg.Definitions:
    return dg.Definitions.merge(support_defs, dg.Definitions(resources=build_resources(settings)))


def make_run(root: Path, instance: dg.DagsterInstance, **options) -> CaseRun:
    settings = make_settings(root)
    return CaseRun(
        case="support",
        data_dir=settings.data_dir / "support",
        out_dir=settings.out_dir,
        instance=instance,
        defs=make_defs(settings),
        echo=lambda _line: None,
        **options,
    )


def warehouse_table(settings_or_root: Settings | Path, table: str) -> pl.DataFrame:
    settings = settings_or_root if isinstance(settings_or_root, Settings) else make_settings(settings_or_root)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.execute(f"select * from support.{table}").pl()


def lake_snapshot(root: Path, table: str, month: str) -> pl.DataFrame:
    """The state of ``table`` after ``month`` as the lake keeps it (a snapshot, or changes on an earlier state)."""
    return read_state(LakeResource(root=make_settings(root).lake_root), table, month)
