"""Asset keys of the support case, apart from the assets so that the checks can name them too."""

from __future__ import annotations

import dagster as dg

from caseworks_assets.support.layout import CASE

PREFIX = [CASE]


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([CASE, f"raw_{table}"])


def state_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([CASE, f"{table}_state"])


def final_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([CASE, f"{table}_final"])


REPORT_KEY = dg.AssetKey([CASE, "support_report"])
QUARANTINE_KEY = dg.AssetKey([CASE, "quarantine"])
