"""The Dagster UI serves the code location: groups and partitions over GraphQL.

Starts the real ``dagster-webserver`` on 127.0.0.1 over ``workspace.yaml`` and
talks to it the way the UI does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import requests

from caseworks_assets.code_location import build_definitions
from caseworks_assets.instance import get_instance
from caseworks_assets.registry import registered_cases
from caseworks_assets.settings import Settings
from caseworks_assets_tests.conftest import free_port

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 180

ASSET_NODES = """
query {
  assetNodes {
    assetKey { path }
    groupName
    isPartitioned
    partitionKeys
  }
}
"""


@pytest.fixture
def webserver(caseworks_env: Settings) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": os.environ["DAGSTER_HOME"]}
    command = [
        str(Path(sys.executable).with_name("dagster-webserver")),
        "-h", "127.0.0.1", "-p", str(port), "-w", str(PROJECT_ROOT / "workspace.yaml"),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                pytest.fail(f"dagster-webserver exited early:\n{output[-3000:]}")
            try:
                if requests.get(f"{url}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("dagster-webserver did not answer in time")
            time.sleep(1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _graphql(url: str, query: str) -> dict:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        response = requests.post(f"{url}/graphql", json={"query": query}, timeout=60)
        response.raise_for_status()
        body = response.json()
        nodes = body.get("data", {}).get("assetNodes")
        if nodes or time.monotonic() > deadline:  # the code location may still be loading
            assert "errors" not in body, body.get("errors")
            return body["data"]
        time.sleep(2)


def test_ui_lists_every_case_group_and_partitions(webserver: str, caseworks_env: Settings) -> None:
    defs = build_definitions(caseworks_env)
    partitioned = [spec for spec in defs.resolve_all_asset_specs() if spec.partitions_def is not None]
    instance = get_instance()
    for spec in partitioned:  # dynamic partitions live in the instance the UI reads
        if isinstance(spec.partitions_def, dg.DynamicPartitionsDefinition):
            instance.add_dynamic_partitions(spec.partitions_def.name, ["2025-01", "2025-02"])

    nodes = _graphql(webserver, ASSET_NODES)["assetNodes"]

    groups = {node["groupName"] for node in nodes}
    assert set(registered_cases()) <= groups
    assert partitioned, "the code location has no partitioned asset"
    by_key = {tuple(node["assetKey"]["path"]): node for node in nodes}
    for spec in partitioned:
        node = by_key[tuple(spec.key.path)]
        assert node["isPartitioned"]
        expected = spec.partitions_def.get_partition_keys(dynamic_partitions_store=instance)
        assert node["partitionKeys"] == list(expected)
