"""How the code location is put together: the cases' definitions plus the shared resources, bound once.

Everything that depends on the configuration comes from one
:class:`~caseworks_assets.settings.Settings`: the shared resources
(:func:`~caseworks_assets.resources.build_resources`), each case's own
settings-dependent part (``Case.configured``) and the kind tags that name the
configured stores (``warehouse`` becomes ``duckdb`` or ``bigquery``). Importing a
case reads no environment, so the build is a function of ``(settings, cases)``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

import dagster as dg

from caseworks_assets.registry import case_names, load_case
from caseworks_assets.resources import build_resources
from caseworks_assets.resources.warehouse import with_settings_kinds
from caseworks_assets.settings import Settings

#: Definitions built in this process, per :class:`Settings` and choice of cases: building them (every case
#: module, the asset graph, the resources) is done once, however many runs use them. The definitions depend
#: on nothing but the settings (every variable is read in ``settings.py``). A process has one configuration;
#: the last few are kept (a test session goes through many).
_BUILT: OrderedDict[tuple[Settings, tuple[str, ...] | None], dg.Definitions] = OrderedDict()
KEPT_BUILDS = 4


def required_resource_keys(defs: dg.Definitions) -> set[str]:
    """The resource keys that ``defs``' assets, checks, sensors and schedules require (IO managers included)."""
    users = [*(defs.assets or []), *(defs.asset_checks or []), *(defs.sensors or []), *(defs.schedules or [])]
    return {"io_manager"}.union(*(getattr(user, "required_resource_keys", set()) for user in users))


def build_definitions(settings: Settings | None = None, cases: Iterable[str] | None = None) -> dg.Definitions:
    """Merge the cases' definitions (every case, or just ``cases``) and bind the resources of ``settings``.

    The cases share no assets, so the CLI runs one case on its definitions
    alone, with only the resources they require: the other cases and the
    libraries of resources it does not use (Spark, SSH, HTTP) are not imported.
    Built once per :class:`Settings` in a process, from it alone: ``caseworks
    demo`` runs every case on one build, and a different configuration (another
    output folder, a channel configured) gets its own.
    """
    settings = settings or Settings.from_env()
    key = (settings, None if cases is None else tuple(cases))
    defs = _BUILT.pop(key, None) or _build(settings, cases)
    _BUILT[key] = defs  # most recently used last
    while len(_BUILT) > KEPT_BUILDS:
        _BUILT.popitem(last=False)
    return defs


def _build(settings: Settings, cases: Iterable[str] | None) -> dg.Definitions:
    names = case_names() if cases is None else list(cases)
    loaded = [load_case(name) for name in names]
    chosen = _with_settings_kinds(
        dg.Definitions.merge(*(case.defs for case in loaded), *(case.configured(settings) for case in loaded)), settings
    )
    # the whole location binds every resource (the UI lists them all); a single case what it requires
    keys = None if cases is None else required_resource_keys(chosen)
    return dg.Definitions.merge(chosen, dg.Definitions(resources=build_resources(settings, keys)))


def _with_settings_kinds(defs: dg.Definitions, settings: Settings) -> dg.Definitions:
    """``defs`` with the store kind tags (warehouse, serving store) naming the stores ``settings`` choose."""
    return dg.Definitions(
        assets=[
            asset.map_asset_specs(lambda spec: with_settings_kinds(spec, settings))
            if isinstance(asset, dg.AssetsDefinition)
            else with_settings_kinds(asset, settings)
            if isinstance(asset, dg.AssetSpec)
            else asset
            for asset in defs.assets or []
        ],
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        schedules=defs.schedules,
        sensors=defs.sensors,
        resources=defs.resources,
        executor=defs.executor,
        loggers=defs.loggers,
        metadata=defs.metadata,
    )
