"""Helpers of the ouchhungry tests: resources pointing at the loopback servers and job runners."""

from __future__ import annotations

from typing import Any

import dagster as dg

from caseworks_assets.governance.keys import DEMO_ENCRYPTION_KEYS, PrivacyResource
from caseworks_assets.resources import build_resources
from caseworks_assets.resources.delivery import OutboxResource, PartnerAPIResource, SFTPResource, SMTPResource
from caseworks_assets.settings import Settings
from caseworks_assets_tests.ouchhungry.servers import PartnerAPI, SSHServer

PARTNER = "dados@ouchhungry.example"
DATA_TEAM = "data-team@caseworks.example"
FAST = {"max_attempts": 3, "retry_wait_seconds": 0.01}


def sftp_resource(server: SSHServer, **overrides: Any) -> SFTPResource:
    settings = {
        "host": "127.0.0.1",
        "port": server.port,
        "user": server.user,
        "private_key": str(server.private_key),
        "known_hosts": str(server.known_hosts),
        "remote_dir": str(server.remote_dir),
        "timeout_seconds": 5,
        **FAST,
    }
    return SFTPResource(**{**settings, **overrides})


def api_resource(api: PartnerAPI, **overrides: Any) -> PartnerAPIResource:
    settings = {"url": api.url, "user": api.state.username, "password": api.state.password, "timeout_seconds": 5}
    return PartnerAPIResource(**{**settings, **FAST, **overrides})


def smtp_resource(port: int, **overrides: Any) -> SMTPResource:
    settings = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "caseworks@caseworks.example",
        "partner_emails": PARTNER,
        "alert_emails": DATA_TEAM,
        "timeout_seconds": 5,
    }
    return SMTPResource(**{**settings, **FAST, **overrides})


def build_defs(settings: Settings, **channels: Any) -> dg.Definitions:
    """The case's definitions with the environment's resources, channels replaced by ``channels``."""
    from caseworks_assets.ouchhungry.definitions import defs as ouchhungry_defs

    resources = build_resources(settings)
    resources["privacy"] = PrivacyResource(
        pseudonym_key="test-pseudonym-key", encryption_keys=DEMO_ENCRYPTION_KEYS, demo=True
    )
    resources["outbox"] = OutboxResource(root=str(settings.out_dir / "outbox"))
    resources.update(channels)
    return dg.Definitions.merge(ouchhungry_defs, dg.Definitions(resources=resources))


#: Small and clean enough for exact assertions to be cheap; defects keep their default rates.
SMALL = {"transactions_per_day": 120, "customers": 120}


def extract_config(**overrides: Any) -> dict[str, Any]:
    config = {**SMALL, **overrides}
    return {
        "ops": {
            f"ouchhungry__{name}": {"config": config} for name in ("raw_products", "raw_customers", "raw_transactions")
        }
    }


def run_day(
    defs: dg.Definitions, instance: dg.DagsterInstance, day: str, run_config: dict | None = None
) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("ouchhungry_job").execute_in_process(
        partition_key=day, instance=instance, run_config=run_config or extract_config(), raise_on_error=False
    )


def run_month(
    defs: dg.Definitions, instance: dg.DagsterInstance, month_start: str, *, complete: bool = False
) -> dg.ExecuteInProcessResult:
    config = {"ops": {"ouchhungry__monthly_city_sales": {"config": {"require_complete_month": complete}}}}
    return defs.resolve_job_def("ouchhungry_monthly_job").execute_in_process(
        partition_key=month_start, instance=instance, run_config=config, raise_on_error=False
    )


def evaluate_failure_sensor(
    defs: dg.Definitions, instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult, settings: Settings, smtp
) -> None:
    """Run the code location's run-failure sensor on a failed run, as the daemon does after the run ends."""
    from caseworks_assets.alerts import run_failure_alert

    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name=run_failure_alert.name,
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
        resources={"smtp": smtp, "outbox": OutboxResource(root=str(settings.out_dir / "outbox"))},
    ).for_run_failure()
    run_failure_alert(context)
