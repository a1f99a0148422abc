"""Every variable is read in ``settings.py``, and the definitions are a function of ``Settings`` alone."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

import caseworks_assets
from caseworks_assets.code_location import build_definitions
from caseworks_assets.settings import SMTP_PASSWORD_ENV, Settings

PACKAGE = Path(caseworks_assets.__file__).parent
#: Modules that read the environment for a reason other than a setting, and why.
READERS = {
    "callcenter/dbt_env.py": "saves the variables it sets for dbt's subprocess, to restore them afterwards",
}
#: Variables outside caseworks' settings that Dagster itself reads; the CLI points them at its folders.
FOREIGN = {"DAGSTER_HOME"}


def _environment_reads(source: str) -> list[tuple[int, str]]:
    """Lines that read a variable from ``os.environ``/``os.getenv`` or use settings.py's private readers."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    reads = []

    def foreign(call_or_subscript: ast.AST) -> bool:
        key = (
            call_or_subscript.args[0] if isinstance(call_or_subscript, ast.Call) else call_or_subscript.slice  # type: ignore[attr-defined]
        )
        return isinstance(key, ast.Constant) and key.value in FOREIGN

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "caseworks_assets.settings":
            reads += [(node.lineno, f"imports {a.name}") for a in node.names if a.name.startswith("_")]
        is_environ = isinstance(node, ast.Attribute) and node.attr == "environ"
        is_getenv = isinstance(node, ast.Attribute) and node.attr == "getenv"
        if not (is_environ or is_getenv):
            continue
        parent = parents[node]
        if is_getenv:
            if not (isinstance(parent, ast.Call) and foreign(parent)):
                reads.append((node.lineno, "os.getenv"))
            continue
        if isinstance(parent, ast.Subscript):  # os.environ[...]: writing and deleting are fine
            if isinstance(parent.ctx, ast.Load) and not foreign(parent):
                reads.append((node.lineno, "os.environ[...]"))
        elif isinstance(parent, ast.Attribute) and parent.attr in ("pop", "update"):
            continue
        elif isinstance(parent, ast.Attribute) and parent.attr == "get":
            if not foreign(parents[parent]):
                reads.append((node.lineno, "os.environ.get"))
        elif isinstance(parent, ast.Dict) and None in parent.keys:  # {**os.environ, ...}: handed to a subprocess
            continue
        else:
            reads.append((node.lineno, "os.environ"))
    return reads


def test_only_settings_reads_the_environment() -> None:
    readers = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if name == "settings.py" or name in READERS:
            continue
        if reads := _environment_reads(path.read_text(encoding="utf-8")):
            readers[name] = reads
    assert readers == {}, "read CASEWORKS_* variables through caseworks_assets.settings.Settings instead"


def test_the_scan_finds_a_read() -> None:
    """The scan is not blind: each way of reading a variable is reported, writes are not."""
    source = (
        "import os\n"
        "from caseworks_assets.settings import _env_value\n"
        "a = os.environ.get('CASEWORKS_X')\n"
        "b = os.environ['CASEWORKS_Y']\n"
        "c = os.getenv('CASEWORKS_Z')\n"
        "d = dict(os.environ)\n"
        "os.environ['CASEWORKS_OUT_DIR'] = 'out'\n"
        "home = os.environ.get('DAGSTER_HOME')\n"
    )
    assert sorted(line for line, _ in _environment_reads(source)) == [2, 3, 4, 5, 6]


def test_settings_resolve_every_setting_and_name_secrets_only(
    caseworks_env: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CASEWORKS_SUPPORT_DATA_DIR", str(tmp_path / "tickets"))
    monkeypatch.setenv("CASEWORKS_SMTP_HOST", "mail.example")
    monkeypatch.setenv("CASEWORKS_SMTP_PORT", "2525")
    monkeypatch.setenv(SMTP_PASSWORD_ENV, "hunter2-not-in-settings")
    monkeypatch.setenv("CASEWORKS_COST_BQ_USD_PER_TIB_BILLED", "5")
    settings = Settings.from_env()
    assert settings.case_data_dir("support") == tmp_path / "tickets"
    assert settings.case_data_dir("payments") == caseworks_env.data_dir / "payments"
    assert (settings.delivery.smtp.host, settings.delivery.smtp.port) == ("mail.example", 2525)
    assert settings.has_secret(SMTP_PASSWORD_ENV) and "hunter2" not in repr(settings)
    assert dict(settings.platform.cost_overrides) == {"bq_usd_per_tib_billed": 5.0}
    assert settings.payments_landing_dir == caseworks_env.out_dir / "payments" / "landing"


def test_configured_channels_and_stores_follow_the_settings_given(caseworks_env: Settings) -> None:
    """What the environment configures is decided from the Settings passed in, not read when resources are built."""
    mail = dataclasses.replace(
        caseworks_env,
        delivery=dataclasses.replace(
            caseworks_env.delivery, smtp=dataclasses.replace(caseworks_env.delivery.smtp, host="mail.example")
        ),
        crm_database_url="postgresql://crm@db/crm",
        secrets=frozenset({SMTP_PASSWORD_ENV}),
    )
    plain = build_definitions(caseworks_env, cases=["crm"])
    configured = build_definitions(mail, cases=["crm"])
    assert (plain.resources or {})["smtp"].host == "" and (configured.resources or {})["smtp"].host == "mail.example"
    kinds = {kind for spec in configured.resolve_all_asset_specs() for kind in spec.kinds}
    local_kinds = {kind for spec in plain.resolve_all_asset_specs() for kind in spec.kinds}
    assert "postgres" in kinds and "postgres" not in local_kinds and "duckdb" in local_kinds
