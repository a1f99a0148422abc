"""The caseworks code location: every registered case plus the shared resources."""

from __future__ import annotations

import dagster as dg

from caseworks_assets.registry import registered_cases
from caseworks_assets.resources import build_resources
from caseworks_assets.settings import Settings


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    """Merge the cases' definitions and bind the environment's resources."""
    cases = registered_cases().values()
    return dg.Definitions.merge(
        *(case.defs for case in cases),
        dg.Definitions(resources=build_resources(settings)),
    )


defs = build_definitions()
