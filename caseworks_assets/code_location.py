"""How the code location is put together: the cases' definitions plus the shared resources, bound once."""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from caseworks_assets.registry import load_case, registered_cases
from caseworks_assets.resources import build_resources
from caseworks_assets.settings import Settings


def required_resource_keys(defs: dg.Definitions) -> set[str]:
    """The resource keys that ``defs``' assets, checks, sensors and schedules require (IO managers included)."""
    users = [*(defs.assets or []), *(defs.asset_checks or []), *(defs.sensors or []), *(defs.schedules or [])]
    return {"io_manager"}.union(*(getattr(user, "required_resource_keys", set()) for user in users))


def build_definitions(settings: Settings | None = None, cases: Iterable[str] | None = None) -> dg.Definitions:
    """Merge the cases' definitions (every case, or just ``cases``) and bind the environment's resources.

    The cases share no assets, so the CLI runs one case on its definitions
    alone, with only the resources they require: the other cases and the
    libraries of resources it does not use (Spark, SSH, HTTP) are not imported.
    """
    if cases is None:
        return dg.Definitions.merge(
            *(case.defs for case in registered_cases().values()),
            dg.Definitions(resources=build_resources(settings)),
        )
    chosen = dg.Definitions.merge(*(load_case(name).defs for name in cases))
    return dg.Definitions.merge(
        chosen, dg.Definitions(resources=build_resources(settings, required_resource_keys(chosen)))
    )
