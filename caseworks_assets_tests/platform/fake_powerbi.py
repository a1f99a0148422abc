"""A local fake of the Power BI REST API routes dagster-powerbi and the refresh monitor call, on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

WORKSPACE = "ws-1"
TOKEN = "test-token"
GOOD, BAD = "ds-good", "ds-bad"
ERROR = '{"errorCode":"ModelRefresh_ShortMessage_ProcessingError","errorDescription":"column kpi not found"}'


def _dataset(dataset_id: str, name: str, schema: str, table: str) -> dict:
    expression = (
        f'let Source = DuckDB.Database("warehouse.duckdb"), t = Source{{[Name="{schema}",Kind="Schema"]}}'
        f'{{[Name="{table}",Kind="Table"]}} in t'
    )
    return {
        "id": dataset_id,
        "name": name,
        "configuredBy": "data-team@example.com",
        "tables": [
            {
                "name": table,
                "source": [{"expression": expression}],
                "columns": [{"name": "value", "dataType": "Double"}],
            }
        ],
    }


@dataclass
class FakePowerBI:
    refreshes: dict[str, list[dict]] = field(default_factory=lambda: {GOOD: [], BAD: []})
    calls: list[str] = field(default_factory=list)
    port: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1.0/myorg"

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def _reply(self, status: int, body: dict | None = None) -> None:
                data = json.dumps(body or {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self, method: str) -> None:
                path = urlparse(self.path).path.removeprefix("/v1.0/myorg/")
                fake.calls.append(f"{method} {path}")
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._reply(401, {"error": {"code": "TokenExpired"}})
                if self.headers.get("Content-Length"):
                    self.rfile.read(int(self.headers["Content-Length"]))
                if method == "POST" and path == "admin/workspaces/getInfo":
                    return self._reply(202, {"id": "scan-1"})
                if path == "admin/workspaces/scanStatus/scan-1":
                    return self._reply(200, {"status": "Succeeded"})
                if path == "admin/workspaces/scanResult/scan-1":
                    datasets = [
                        _dataset(GOOD, "Platform KPIs", "platform", "kpis"),
                        _dataset(BAD, "Platform costs", "platform", "cost_estimates"),
                    ]
                    return self._reply(
                        200, {"workspaces": [{"id": WORKSPACE, "dashboards": [], "reports": [], "datasets": datasets}]}
                    )
                parts = path.split("/")
                if (
                    parts[:2] == ["groups", WORKSPACE]
                    and len(parts) == 5
                    and parts[2] == "datasets"
                    and parts[4] == "refreshes"
                ):
                    dataset = parts[3]
                    if dataset not in fake.refreshes:
                        return self._reply(404, {"error": {"code": "ItemNotFound"}})
                    if method == "POST":
                        number = len(fake.refreshes[dataset]) + 1
                        refresh = {
                            "requestId": f"{dataset}-{number}",
                            "refreshType": "ViaApi",
                            "startTime": "2026-03-01T06:00:00Z",
                            "endTime": "2026-03-01T06:01:00Z",
                            "status": "Completed" if dataset == GOOD else "Failed",
                        }
                        if dataset == BAD:
                            refresh["serviceExceptionJson"] = ERROR
                        fake.refreshes[dataset].insert(0, refresh)
                        return self._reply(202)
                    return self._reply(200, {"value": fake.refreshes[dataset]})
                return self._reply(404, {"error": {"code": "NotFound", "path": path}})

            def do_GET(self):
                self._route("GET")

            def do_POST(self):
                self._route("POST")

        return Handler

    def start(self) -> FakePowerBI:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
