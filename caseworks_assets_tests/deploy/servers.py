"""Loopback servers of the deployment tests: PostgreSQL, the Dagster processes, a GraphQL client.

Each is started on 127.0.0.1 at a free port and stopped by the context manager
that started it, failed test or not; PostgreSQL is the shared
:mod:`caseworks_assets_tests.postgres`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from caseworks_assets_tests.conftest import free_port, wait_until
from caseworks_assets_tests.postgres import Postgres, postgres_server

__all__ = ["Postgres", "postgres_server"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = PROJECT_ROOT / "deploy"


class Process:
    """A child process in its own process group (its run workers die with it), output to a log file."""

    def __init__(self, name: str, command: list[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        with self.log.open("wb") as out:
            self.popen = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def tail(self, chars: int = 4000) -> str:
        return f"--- {self.name} ---\n" + self.log.read_text(errors="replace")[-chars:]

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}\n{self.tail()}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
            except ProcessLookupError:
                pass


def dagster_command(name: str) -> str:
    """The console script ``name`` of the running interpreter's environment."""
    return str(Path(sys.executable).with_name(name))


def grpc_workspace(path: Path, port: int, location: str = "caseworks") -> Path:
    """A workspace file pointing at the gRPC code server on 127.0.0.1:``port``."""
    path.write_text(
        f"load_from:\n  - grpc_server:\n      host: 127.0.0.1\n      port: {port}\n      location_name: {location}\n"
    )
    return path


@dataclass
class Topology:
    """The code server, webserver and daemon of one deployment, and how to reach the webserver."""

    url: str
    home: Path
    processes: list[Process]

    def check_alive(self) -> None:
        for process in self.processes:
            process.check_alive()

    def logs(self) -> str:
        return "\n".join(process.tail() for process in self.processes)


@contextmanager
def dagster_topology(
    env: Mapping[str, str], work: Path, daemon: bool = True, webserver_clock_shift_s: float = 0
) -> Iterator[Topology]:
    """``dagster code-server start`` (gRPC), ``dagster-webserver`` over it, and ``dagster-daemon run``.

    ``env`` holds ``DAGSTER_HOME`` (with its ``dagster.yaml``) and the
    caseworks variables; every process binds 127.0.0.1 at a free port.
    ``webserver_clock_shift_s`` moves the webserver's wall clock (see
    :mod:`.shifted_clock`).
    """
    grpc_port, web_port = free_port(), free_port()
    workspace = grpc_workspace(work / "workspace.yaml", grpc_port)
    env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))}
    # the storage schema first, once, as the deployment's migrate step does: processes starting on an
    # empty database would each try to create the tables
    subprocess.run([dagster_command("dagster"), "instance", "migrate"], env=env, cwd=PROJECT_ROOT, check=True,
                   capture_output=True)  # fmt: skip
    with ExitStack() as stack:
        processes: list[Process] = []

        def start(name: str, command: list[str]) -> None:
            process = Process(name, command, env, work)
            processes.append(process)
            stack.callback(process.stop)

        start("code-server", [dagster_command("dagster"), "code-server", "start", "-h", "127.0.0.1",
                              "-p", str(grpc_port), "-m", "caseworks_assets.definitions",
                              "--location-name", "caseworks"])  # fmt: skip
        code_server = processes[0]

        def serving() -> bool:
            code_server.check_alive()
            health = [dagster_command("dagster"), "api", "grpc-health-check", "-p", str(grpc_port), "-h", "127.0.0.1"]
            return subprocess.run(health, env=env, capture_output=True, check=False).returncode == 0

        try:  # the webserver and daemon load the location once at start, as compose's health check waits for
            wait_until(serving, 240, "the code server to serve", interval=2)
        except Exception as error:
            raise RuntimeError(f"{error}\n{code_server.tail()}") from error
        webserver = ["-h", "127.0.0.1", "-p", str(web_port), "-w", str(workspace)]
        if webserver_clock_shift_s:
            shifted = "caseworks_assets_tests.deploy.shifted_clock"
            start(
                "webserver",
                [sys.executable, "-m", shifted, str(webserver_clock_shift_s), "dagster_webserver", *webserver],
            )
        else:
            start("webserver", [dagster_command("dagster-webserver"), *webserver])
        if daemon:
            start("daemon", [dagster_command("dagster-daemon"), "run", "-w", str(workspace)])
        topology = Topology(f"http://127.0.0.1:{web_port}", Path(env["DAGSTER_HOME"]), processes)
        try:
            GraphQL(topology).wait_for_location("caseworks")
        except Exception as error:
            raise RuntimeError(f"{error}\n{topology.logs()}") from error
        yield topology


class GraphQL:
    """The webserver's GraphQL endpoint, queried as the UI queries it."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology

    def __call__(self, query: str, **variables: Any) -> dict:
        response = requests.post(
            f"{self.topology.url}/graphql", json={"query": query, "variables": variables}, timeout=120
        )
        if response.status_code >= 400 and "json" not in response.headers.get("content-type", ""):
            response.raise_for_status()
        body = response.json()
        if body.get("errors") or response.status_code >= 400:
            raise AssertionError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def wait_for_location(self, name: str, timeout: float = 240) -> None:
        query = """
        query { workspaceOrError { ... on Workspace { locationEntries {
          name loadStatus
          locationOrLoadError { __typename ... on PythonError { message } }
        } } } }
        """

        def loaded() -> bool:
            self.topology.check_alive()
            try:
                entries = self(query)["workspaceOrError"]["locationEntries"]
            except requests.ConnectionError:
                return False
            for entry in entries:
                if entry["name"] == name and entry["loadStatus"] == "LOADED":
                    error = entry["locationOrLoadError"]
                    if error and error["__typename"] == "PythonError":
                        raise RuntimeError(f"code location {name} failed to load: {error['message']}")
                    return error is not None and error["__typename"] == "RepositoryLocation"
            return False

        wait_until(loaded, timeout, f"the webserver to load code location {name}", interval=2)
