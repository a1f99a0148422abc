"""Power BI through the real dagster-powerbi code against a local fake of its REST API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from caseworks_assets.instance import get_instance
from caseworks_assets.platform.powerbi import powerbi_definitions
from caseworks_assets.resources.delivery import OutboxResource, SMTPResource
from caseworks_assets.settings import Settings
from caseworks_assets_tests.conftest import free_port
from caseworks_assets_tests.platform.fake_powerbi import ERROR, TOKEN, WORKSPACE, FakePowerBI

KPIS_MODEL = dg.AssetKey(["platform", "powerbi", "Platform_KPIs"])
COSTS_MODEL = dg.AssetKey(["platform", "powerbi", "Platform_costs"])


@pytest.fixture
def fake() -> Iterator[FakePowerBI]:
    server = FakePowerBI().start()
    try:
        yield server
    finally:
        server.stop()


def _settings(monkeypatch: pytest.MonkeyPatch, api_url: str, state: Path) -> Settings:
    monkeypatch.setenv("CASEWORKS_POWERBI_WORKSPACE_ID", WORKSPACE)
    monkeypatch.setenv("CASEWORKS_POWERBI_API_URL", api_url)
    monkeypatch.setenv("CASEWORKS_POWERBI_STATE_FILE", str(state))
    monkeypatch.setenv("CASEWORKS_POWERBI_TOKEN", TOKEN)
    monkeypatch.setenv("CASEWORKS_POWERBI_SLOW_REFRESH_S", "30")
    return Settings.from_env()


def _keys(defs: dg.Definitions) -> set[dg.AssetKey]:
    return {key for assets_def in defs.assets or [] for key in assets_def.keys}


def test_not_configured_means_no_powerbi_assets_and_no_network(caseworks_env: Settings) -> None:
    defs = powerbi_definitions(caseworks_env)
    assert not defs.assets and not defs.sensors


def test_models_load_downstream_of_caseworks_tables_and_from_saved_state_when_unreachable(
    caseworks_env: Settings, fake: FakePowerBI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    state = tmp_path / "powerbi_state.json"
    defs = powerbi_definitions(_settings(monkeypatch, fake.api_url, state))
    assert _keys(defs) == {KPIS_MODEL, COSTS_MODEL}
    spec = next(spec for a in defs.assets for spec in a.specs if spec.key == KPIS_MODEL)
    assert {dep.asset_key for dep in spec.deps} == {dg.AssetKey(["platform", "kpis"])}
    assert spec.group_name == "platform" and spec.automation_condition is not None
    assert state.is_file() and "POST admin/workspaces/getInfo" in fake.calls

    dead = f"http://127.0.0.1:{free_port()}/v1.0/myorg"  # nothing listens: Power BI unreachable
    offline = powerbi_definitions(_settings(monkeypatch, dead, state))
    assert _keys(offline) == {KPIS_MODEL, COSTS_MODEL}
    state.unlink()
    empty = powerbi_definitions(_settings(monkeypatch, dead, state))
    assert _keys(empty) == set()  # no saved state: the location still loads, without Power BI assets


def test_refresh_follows_upstream_updates_succeeds_fails_with_powerbi_error_and_alerts_once(
    caseworks_env: Settings, fake: FakePowerBI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = _settings(monkeypatch, fake.api_url, tmp_path / "state.json")
    models = powerbi_definitions(settings)

    @dg.asset(key=["platform", "kpis"])
    def kpis() -> None:
        return None

    @dg.asset(key=["platform", "cost_estimates"])
    def cost_estimates() -> None:
        return None

    outbox = OutboxResource(root=str(caseworks_env.out_dir / "outbox"))
    defs = dg.Definitions.merge(
        models,
        dg.Definitions(assets=[kpis, cost_estimates], resources={"smtp": SMTPResource(), "outbox": outbox}),
    )
    instance = get_instance()
    before = dg.evaluate_automation_conditions(defs=defs, instance=instance)  # the daemon's previous tick
    dg.materialize([kpis], instance=instance)
    evaluation = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=before.cursor)
    # only the model whose table changed
    assert evaluation.get_num_requested(KPIS_MODEL) == 1 and evaluation.get_num_requested(COSTS_MODEL) == 0

    graph = defs.resolve_implicit_global_asset_job_def()
    ok = graph.execute_in_process(instance=instance, asset_selection=[KPIS_MODEL])
    assert ok.success and fake.refreshes["ds-good"][0]["status"] == "Completed"
    failed = graph.execute_in_process(instance=instance, asset_selection=[COSTS_MODEL], raise_on_error=False)
    assert not failed.success
    failure = next(e for e in failed.all_events if e.is_step_failure)
    assert "column kpi not found" in failure.step_failure_data.error.message

    monitor = defs.resolve_sensor_def("powerbi_refresh_monitor")
    with dg.build_sensor_context(
        instance=instance, repository_def=defs.get_repository_def(), resources=defs.resources
    ) as context:
        monitor(context)
        monitor(context)  # the same failed refresh: no second message
    mails = sorted(path.read_text() for path in (Path(outbox.root) / "email").iterdir())
    assert len(mails) == 2  # one per incident: the failed refresh, and the 60 s refresh over the 30 s limit
    (failed_mail,) = [text for text in mails if "Platform_costs failed" in text]
    assert "powerbi refresh failure: refresh of Platform_costs failed" in failed_mail and ERROR in failed_mail
    (slow_mail,) = [text for text in mails if "Platform_KPIs took" in text]
    assert "refresh of Platform_KPIs took 60 s (limit 30 s)" in slow_mail


def test_the_base_url_override_still_matches_dagster_powerbi_internals():
    """``CaseworksPowerBIWorkspace`` overrides the private ``PowerBIWorkspace._fetch``, where the API root is fixed.

    If a dagster-powerbi upgrade renames it, changes its parameters, or stops
    routing every call through it, this fails by name: re-check the override
    in ``caseworks_assets/platform/powerbi.py`` before upgrading.
    """
    import inspect

    from dagster_powerbi import PowerBIWorkspace

    from caseworks_assets.platform.powerbi import CaseworksPowerBIWorkspace

    ours = inspect.signature(CaseworksPowerBIWorkspace._fetch).parameters
    theirs = inspect.signature(PowerBIWorkspace._fetch).parameters
    assert list(ours) == list(theirs), "dagster-powerbi changed PowerBIWorkspace._fetch's parameters"
    assert "self._fetch(" in inspect.getsource(PowerBIWorkspace._fetch_json), (
        "dagster-powerbi no longer routes JSON calls through PowerBIWorkspace._fetch: the api_url override is bypassed"
    )
