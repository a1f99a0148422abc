"""How the dbt project is found and what environment dbt runs in (no Dagster).

dbt reads its paths and credentials from environment variables
(``profiles.yml``); they are derived here from :class:`~caseworks_assets.settings.Settings`,
the one place variables are read, so a run and a person running dbt by hand
(see the README) point dbt at the same files. The service-account JSON of
``CASEWORKS_GCP_CREDENTIALS`` (base64) becomes a key file of the process's own,
removed when dbt is done.
"""

from __future__ import annotations

import base64
import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from caseworks_assets.scratch import scratch_folder
from caseworks_assets.settings import Settings, without

PROJECT_DIR = Path(__file__).resolve().parent / "dbt"
TARGET_DIR = PROJECT_DIR / "target"
MANIFEST = TARGET_DIR / "manifest.json"


def dbt_executable() -> str:
    """The dbt command line next to this Python (any virtualenv), else the one on PATH.

    ``caseworks-dbt`` (:mod:`~caseworks_assets.callcenter.dbt_launcher`: dbt, with
    an offline ``--version``) where it is installed, else dbt's own ``dbt``
    (also with ``--without dbt_launcher``).
    """
    names = ("dbt",) if without("dbt_launcher") else ("caseworks-dbt", "dbt")
    for name in names:
        beside = Path(sys.executable).parent / name
        if beside.exists():
            return str(beside)
    return next(filter(None, map(shutil.which, names)), "dbt")


def dbt_variables(settings: Settings, keyfile: Path | None = None) -> dict[str, str]:
    """The variables ``profiles.yml`` and ``sources.yml`` read, for ``settings``' environment."""
    variables = {
        "CASEWORKS_DBT_TARGET": "prod" if settings.env == "prod" else "dev",
        "CASEWORKS_LAKE_ROOT": settings.lake_root,
        "CASEWORKS_DBT_WAREHOUSE": str(settings.dbt_warehouse_path),
    }
    if settings.bigquery_project:
        variables["CASEWORKS_BQ_PROJECT"] = settings.bigquery_project
    if settings.bigquery_location:
        variables["CASEWORKS_BQ_LOCATION"] = settings.bigquery_location
    if keyfile is not None:
        variables["CASEWORKS_DBT_KEYFILE"] = str(keyfile)
    return variables


@contextmanager
def dbt_environment(settings: Settings) -> Iterator[dict[str, str]]:
    """``os.environ`` with :func:`dbt_variables` set while the block runs (dbt's subprocess inherits it)."""
    with scratch_folder("dbt") as folder:  # a killed run's key file is removed by the next one
        keyfile = None
        if settings.gcp_credentials:
            keyfile = folder / "service-account.json"
            keyfile.write_bytes(base64.b64decode(settings.gcp_credentials))
            keyfile.chmod(0o600)
        variables = dbt_variables(settings, keyfile)
        saved = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
        try:
            yield variables
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _stale() -> bool:
    """No manifest, or a model, macro or YAML file of the project changed since it was parsed."""
    if not MANIFEST.exists():
        return True
    parsed = MANIFEST.stat().st_mtime
    sources = [*PROJECT_DIR.glob("*.yml"), *PROJECT_DIR.glob("models/**/*"), *PROJECT_DIR.glob("macros/**/*")]
    return any(path.stat().st_mtime > parsed for path in sources if path.is_file())


def prepare_manifest(force: bool = False) -> Path:
    """``target/manifest.json``, parsed by ``dbt parse`` if missing or older than the project (offline;
    ``make install`` runs it first).

    A lock file keeps processes that load the definitions at the same time from
    parsing into the same folder together.
    """
    if not force and not _stale():
        return MANIFEST
    TARGET_DIR.mkdir(exist_ok=True)
    with (TARGET_DIR / ".parse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if force or _stale():
            command = [dbt_executable(), "parse", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
            env = {**os.environ, "CASEWORKS_DBT_TARGET": "dev", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
            done = subprocess.run([*command, "--target", "dev"], env=env, capture_output=True, text=True)
            if done.returncode != 0 or not MANIFEST.exists():
                raise RuntimeError(f"dbt parse failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return MANIFEST


if __name__ == "__main__":  # ``python -m caseworks_assets.callcenter.dbt_env``: what make install runs
    print(prepare_manifest(force=True))
