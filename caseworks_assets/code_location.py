"""How the code location is put together: the cases' definitions plus the shared resources, bound once."""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from caseworks_assets.registry import load_case, registered_cases
from caseworks_assets.resources import build_resources
from caseworks_assets.settings import Settings


def build_definitions(settings: Settings | None = None, cases: Iterable[str] | None = None) -> dg.Definitions:
    """Merge the cases' definitions (every case, or just ``cases``) and bind the environment's resources.

    The cases share no assets, so the CLI runs one case on its definitions
    alone and skips importing the others (their libraries included).
    """
    chosen = registered_cases().values() if cases is None else [load_case(name) for name in cases]
    return dg.Definitions.merge(
        *(case.defs for case in chosen),
        dg.Definitions(resources=build_resources(settings)),
    )
