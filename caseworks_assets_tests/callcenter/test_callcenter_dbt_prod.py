"""The dbt project for production, offline: ``dbt parse`` and ``dbt compile`` with the BigQuery target, and every
compiled model (and test) parses as BigQuery SQL.

The credentials come from ``CASEWORKS_GCP_CREDENTIALS`` as everywhere in caseworks: a service account made
up here (a fresh RSA key; nothing signs in), which dbt-bigquery loads without the network.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
import sqlglot
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from caseworks_assets.callcenter.dbt_env import PROJECT_DIR, dbt_environment, dbt_executable
from caseworks_assets.settings import Settings

pytestmark = pytest.mark.slow


def _offline_service_account() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "caseworks-prod",
        "private_key_id": "offline",
        "private_key": pem,
        "client_email": "dbt@caseworks-prod.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    return base64.b64encode(json.dumps(info).encode()).decode()


def test_prod_target_parses_and_compiles_offline_to_bigquery_sql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASEWORKS_ENV", "prod")
    monkeypatch.setenv("CASEWORKS_BQ_PROJECT", "caseworks-prod")
    monkeypatch.setenv("CASEWORKS_LAKE_ROOT", "gs://caseworks-lake")
    monkeypatch.setenv("CASEWORKS_GCP_CREDENTIALS", _offline_service_account())
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    settings = Settings.from_env()
    target = tmp_path / "target"
    common = ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR), "--target-path", str(target)]
    with dbt_environment(settings) as variables:
        assert variables["CASEWORKS_DBT_TARGET"] == "prod"
        assert Path(variables["CASEWORKS_DBT_KEYFILE"]).exists()
        for command in (["parse"], ["compile", "--no-populate-cache", "--no-introspect"]):
            done = subprocess.run(
                [dbt_executable(), *command, "--target", "prod", *common], capture_output=True, text=True, timeout=300
            )
            assert done.returncode == 0, done.stdout[-3000:]
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["metadata"]["adapter_type"] == "bigquery"
    compiled = {path.relative_to(target).as_posix(): path.read_text() for path in target.glob("compiled/**/*.sql")}
    models = {path: sql for path, sql in compiled.items() if "/schema.yml/" not in path and "sources.yml" not in path}
    assert {Path(path).stem for path in models} >= {"call_history", "marketing_details", "attendance_details"}
    assert (
        "`caseworks-prod`.`callcenter`.`raw_call_history_queue`"
        in models["compiled/callcenter/models/staging/stg_calls.sql"]
    )
    for path, sql in compiled.items():
        sqlglot.parse_one(sql, read="bigquery")  # raises on anything BigQuery would not parse
        assert "read_parquet" not in sql, f"{path} reads a DuckDB-only source"
