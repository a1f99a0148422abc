"""Asset keys of the callcenter case, defined once."""

from __future__ import annotations

import dagster as dg

from caseworks_assets.callcenter.columns import CASE

QUARANTINE_KEY = dg.AssetKey([CASE, "quarantine"])
ANSWERS_KEY = dg.AssetKey([CASE, "answers"])
MODEL_TABLES = ("call_history", "marketing_details", "attendance_details")


def raw_key(table: str) -> dg.AssetKey:
    """The raw asset of a source table, ``callcenter/raw_<table>`` (dbt's source of the same name)."""
    return dg.AssetKey([CASE, f"raw_{table}"])


def model_key(name: str) -> dg.AssetKey:
    """A dbt model's asset, ``callcenter/<model>``."""
    return dg.AssetKey([CASE, name])


def source_answer_key(question: str) -> dg.AssetKey:
    return dg.AssetKey([CASE, f"{question}_on_sources"])


def model_answer_key(question: str) -> dg.AssetKey:
    return dg.AssetKey([CASE, f"{question}_on_model"])
