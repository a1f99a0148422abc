"""Power BI: semantic models as assets downstream of caseworks tables, refreshed after them, their refreshes watched.

Built on ``dagster-powerbi``:

* The workspace's content comes from Power BI's admin scan (the same call
  ``load_powerbi_asset_specs`` makes); a semantic model whose tables read
  ``[Name="<case>",Kind="Schema"][Name="<table>",Kind="Table"]`` depends on the
  caseworks asset ``<case>/<table>``. Each model is a refresh asset
  (``build_semantic_model_refresh_asset_definition``) keyed
  ``platform/powerbi/<model>``, with an eager automation condition: the
  automation daemon refreshes it after its upstream tables update.
* Definitions load without network: not configured (no
  ``CASEWORKS_POWERBI_WORKSPACE_ID``) means no Power BI assets; configured, the
  workspace is fetched once (with a timeout) and saved to the state file
  (``CASEWORKS_POWERBI_STATE_FILE``, default ``<out>/platform/powerbi_state.json``);
  unreachable, the saved state is used, and without one the location still
  loads, with no Power BI assets and a warning.
* ``powerbi_refresh_monitor`` reads each model's refresh history and alerts
  once per failed refresh (with the error Power BI returned) and per refresh
  slower than ``CASEWORKS_POWERBI_SLOW_REFRESH_S``.

``dagster-powerbi`` calls ``https://api.powerbi.com/v1.0/myorg`` by a module
constant inside ``PowerBIWorkspace._fetch``; :class:`CaseworksPowerBIWorkspace`
overrides that one method to take the base URL from ``api_url`` (the
sovereign clouds' endpoints, and the local fake in the tests) and to put a
timeout on every call. Everything else is the library's code.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import dagster as dg
import requests
from dagster_powerbi import (
    DagsterPowerBITranslator,
    PowerBIToken,
    PowerBIWorkspace,
    build_semantic_model_refresh_asset_definition,
)
from dagster_powerbi.resource import BASE_API_URL, PowerBIWorkspaceDefsLoader
from dagster_powerbi.translator import PowerBITranslatorData
from pydantic import Field

from caseworks_assets.alerts import Alert, send_alert
from caseworks_assets.platform.assets import CASE
from caseworks_assets.resources.delivery import OutboxResource, SMTPResource
from caseworks_assets.settings import POWERBI_TOKEN_ENV, Settings

log = logging.getLogger(__name__)
RESOURCE_KEY = "powerbi"


class CaseworksPowerBIWorkspace(PowerBIWorkspace):
    """``PowerBIWorkspace`` with a configurable API base URL and a timeout on every call."""

    api_url: str = Field(default=BASE_API_URL, description="Power BI REST API root (…/v1.0/myorg).")
    timeout_seconds: float = Field(default=10.0, description="Timeout of each Power BI API call.")

    def _fetch(
        self,
        endpoint: str,
        method: str = "GET",
        json: Any = None,
        params: dict[str, Any] | None = None,
        group_scoped: bool = True,
    ) -> requests.Response:
        base = self.api_url.rstrip("/")
        url = f"{base}/groups/{self.workspace_id}/{endpoint}" if group_scoped else f"{base}/{endpoint}"
        if params:
            url = f"{url}?{urlencode(params)}"
        response = requests.request(
            method=method,
            url=url,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self._api_token}"},
            json=json,
            allow_redirects=True,
            timeout=self.timeout_seconds,
        )
        response.raise_for_status()
        return response

    def refresh_history(self, dataset_id: str, top: int = 10) -> list[dict[str, Any]]:
        """The model's latest refreshes, newest first (Power BI's ``GET datasets/{id}/refreshes``)."""
        return self._fetch_json(f"datasets/{dataset_id}/refreshes", params={"$top": top})["value"]


class CaseworksPowerBITranslator(DagsterPowerBITranslator):
    """Semantic models under ``platform/powerbi/<name>`` in group ``platform``, refreshed eagerly."""

    def get_asset_spec(self, data: PowerBITranslatorData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        if spec.key.path[0] != "semantic_model":
            return spec
        return spec.replace_attributes(
            key=dg.AssetKey([CASE, "powerbi", *spec.key.path[1:]]),
            group_name=CASE,
            automation_condition=dg.AutomationCondition.eager(),
            description=f"Power BI semantic model {data.properties.get('name')!r}: refreshed after its tables update.",
        )


def workspace_resource(settings: Settings) -> CaseworksPowerBIWorkspace | None:
    """The workspace resource from the settings (the token an ``EnvVar``), or None when Power BI is not configured."""
    platform = settings.platform
    if not platform.powerbi_workspace_id:
        return None
    return CaseworksPowerBIWorkspace(
        credentials=PowerBIToken(api_token=dg.EnvVar(POWERBI_TOKEN_ENV)),
        workspace_id=platform.powerbi_workspace_id,
        api_url=platform.powerbi_api_url or BASE_API_URL,
        refresh_poll_interval=1,
    )


def state_path(settings: Settings) -> Path:
    return settings.platform.powerbi_state_file or settings.case_out_dir(CASE) / "powerbi_state.json"


def load_state(workspace: CaseworksPowerBIWorkspace, path: Path):
    """The workspace's content: fetched now and saved to ``path``, or the saved copy if Power BI is unreachable."""
    loader = PowerBIWorkspaceDefsLoader(
        workspace=workspace, translator=CaseworksPowerBITranslator(), use_workspace_scan=True
    )
    try:
        state = loader.fetch_state()
    except (requests.RequestException, dg.Failure, OSError, KeyError) as error:
        if path.is_file():
            log.warning("Power BI unreachable (%s): using the workspace state saved in %s", error, path)
            return loader, dg.deserialize_value(path.read_text(encoding="utf-8"))
        log.warning("Power BI unreachable (%s) and no saved state in %s: no Power BI assets", error, path)
        return loader, None
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_suffix(".part")
    staging.write_text(dg.serialize_value(state), encoding="utf-8")
    staging.replace(path)
    return loader, state


def powerbi_definitions(settings: Settings) -> dg.Definitions:
    """The semantic models' refresh assets, the refresh monitor and the resource; empty when not configured."""
    workspace = workspace_resource(settings)
    if workspace is None:
        return dg.Definitions()
    loader, state = load_state(workspace, state_path(settings))
    specs = [] if state is None else loader.defs_from_state(state).assets or []
    models = [spec for spec in specs if isinstance(spec, dg.AssetSpec) and spec.key.path[:2] == [CASE, "powerbi"]]
    assets = [build_semantic_model_refresh_asset_definition(RESOURCE_KEY, spec) for spec in models]
    return dg.Definitions(
        assets=assets,
        sensors=[build_refresh_monitor(settings.platform.powerbi_slow_refresh_s)],
        resources={RESOURCE_KEY: workspace},
    )


# --------------------------------------------------------------------------- refresh monitoring


def _seconds(refresh: dict[str, Any]) -> float | None:
    start, end = refresh.get("startTime"), refresh.get("endTime")
    if not start or not end:
        return None
    parse = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def refresh_incidents(history: list[dict[str, Any]], model: str, slow_seconds: float) -> list[tuple[str, Alert]]:
    """(incident key, alert) for each failed or slow refresh in one model's history."""
    incidents = []
    for refresh in history:
        key = f"{model}:{refresh.get('requestId') or refresh.get('id') or refresh.get('startTime')}"
        request = refresh.get("requestId", "?")
        where = f"Power BI semantic model {model}, refresh {request} started {refresh.get('startTime')}"
        if refresh.get("status") == "Failed":
            error = refresh.get("serviceExceptionJson") or "no error returned"
            incidents.append(
                (
                    key,
                    Alert(
                        "powerbi refresh",
                        f"refresh of {model} failed: {error}",
                        where,
                        "read Power BI's error above (data source credentials, a changed table, capacity), fix it, "
                        "then materialize the model's asset in Dagster to refresh it again.",
                        case=CASE,
                    ),
                )
            )
        elif (seconds := _seconds(refresh)) is not None and seconds > slow_seconds:
            incidents.append(
                (
                    f"{key}:slow",
                    Alert(
                        "powerbi refresh",
                        f"refresh of {model} took {seconds:.0f} s (limit {slow_seconds:.0f} s)",
                        where,
                        "check the model's incremental refresh policy and the capacity's load; a slower source table "
                        "shows in the platform's p95 regressions.",
                        case=CASE,
                    ),
                )
            )
    return incidents


def build_refresh_monitor(slow_seconds: float) -> dg.SensorDefinition:
    @dg.sensor(
        name="powerbi_refresh_monitor",
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Reads each semantic model's refresh history; alerts once per failed refresh (with Power BI's "
        "error) and per refresh slower than the limit.",
    )
    def powerbi_refresh_monitor(
        context: dg.SensorEvaluationContext,
        powerbi: CaseworksPowerBIWorkspace,
        smtp: SMTPResource,
        outbox: OutboxResource,
    ):
        alerted: list[str] = json.loads(context.cursor) if context.cursor else []
        sent = 0
        for node in context.repository_def.asset_graph.asset_nodes:
            if node.key.path[:2] != [CASE, "powerbi"]:
                continue
            dataset_id = node.metadata.get("dagster-powerbi/id")
            dataset_id = getattr(dataset_id, "value", dataset_id)
            if not dataset_id:
                continue
            history = powerbi.refresh_history(str(dataset_id))
            for key, alert in refresh_incidents(history, node.key.path[-1], slow_seconds):
                if key in alerted:
                    continue
                send_alert(alert, smtp, outbox)
                alerted.append(key)
                sent += 1
        context.update_cursor(json.dumps(alerted[-1000:]))
        return dg.SkipReason(f"{sent} refresh incident(s) alerted" if sent else "no new failed or slow refresh")

    return powerbi_refresh_monitor
