"""The deployment files parse and carry what the code location reads.

The deployment ``dagster.yaml`` itself is loaded by a real instance in
``test_topology.py``; here, what holds without starting anything.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from caseworks_assets.resources.warehouse import WAREHOUSE_POOL

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = PROJECT_ROOT / "deploy"


def _load(name: str) -> dict:
    return yaml.safe_load((DEPLOY / name).read_text())


def _example_variables() -> set[str]:
    """Every ``CASEWORKS_*`` variable of ``.env.example`` (set or commented out)."""
    text = (PROJECT_ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?\s*(CASEWORKS_[A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_compose_runs_postgres_code_server_webserver_and_daemon() -> None:
    compose = _load("docker-compose.yml")
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "code-location", "webserver", "daemon"}
    assert services["migrate"]["command"] == ["dagster", "instance", "migrate"]
    code = services["code-location"]
    assert code["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (PROJECT_ROOT / code["build"]["dockerfile"]).is_file()
    # the code location reads the project's .env, so every variable of .env.example reaches it
    assert [entry["path"] for entry in code["env_file"]] == ["../.env"]
    assert services["webserver"]["command"][0] == "dagster-webserver"
    assert services["daemon"]["command"][:2] == ["dagster-daemon", "run"]
    for name in ("webserver", "daemon"):
        workspace = services[name]["command"][services[name]["command"].index("-w") + 1]
        assert workspace == "/opt/dagster/workspace.yaml"
    grpc = _load("workspace.yaml")["load_from"][0]["grpc_server"]
    assert grpc["host"] == "code-location"
    assert str(grpc["port"]) in " ".join(re.findall(r"-p\", \"(\d+)", (DEPLOY / "Dockerfile").read_text()))
    for service in services.values():  # published ports stay on the host's loopback
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), port


def test_instance_config_queues_runs_and_limits_the_warehouse_pool() -> None:
    config = _load("dagster.yaml")
    db = config["storage"]["postgres"]["postgres_db"]
    connection = ("hostname", "port", "username", "password", "db_name")
    assert all(db[key] == {"env": db[key]["env"]} for key in connection), "connection from the environment only"
    assert db["scheme"] == "postgresql+psycopg2"  # psycopg 3 breaks the webserver's connection pool
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["concurrency"]["pools"]["default_limit"] == 1
    assert WAREHOUSE_POOL in (DEPLOY / "dagster.yaml").read_text()
    assert config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert config["run_monitoring"]["enabled"] is True
    assert {"schedule", "sensor"} <= set(config["retention"])


def test_helm_values_name_every_variable_of_env_example() -> None:
    values = _load("helm/values.yaml")
    deployment = values["dagster-user-deployments"]["deployments"][0]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "caseworks_assets.definitions"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagsterDaemon"]["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert (
        values["concurrency"]["pools"]["defaultLimit"] == _load("dagster.yaml")["concurrency"]["pools"]["default_limit"]
    )
    env = {item["name"] for item in deployment["env"]}
    secret_text = (DEPLOY / "helm" / "values.yaml").read_text()
    missing = sorted(name for name in _example_variables() if name not in env and name not in secret_text)
    assert not missing, f"deploy/helm/values.yaml does not pass {missing}"
