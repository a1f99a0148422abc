"""A throw-away PostgreSQL server on 127.0.0.1 for the tests that need one (crm's serving store, the deployment).

Debian's server binaries; ``initdb`` refuses root, so the cluster belongs to an
unprivileged user (``postgres``, which Debian's package creates, else
``nobody``). It stops and its folder goes when the context manager exits,
failed test or not.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from caseworks_assets_tests.conftest import free_port


def postgres_installed() -> bool:
    """Whether Debian's PostgreSQL server is here (``.ci/run`` installs it)."""
    return any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


def postgres_bin_dir() -> Path:
    """Debian's PostgreSQL server binaries (``/usr/lib/postgresql/<version>/bin``), newest version."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not candidates:
        raise RuntimeError("PostgreSQL server not installed: apt-get install postgresql (.ci/run does)")
    return candidates[-1].parent


def _unprivileged_user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("no unprivileged user (postgres or nobody) to run PostgreSQL as")


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    password: str
    database: str

    @property
    def url(self) -> str:
        """``postgresql://user:password@host:port/database``."""
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    def dagster_env(self) -> dict[str, str]:
        """The variables ``deploy/dagster.yaml`` reads."""
        return {
            "DAGSTER_POSTGRES_HOST": self.host,
            "DAGSTER_POSTGRES_PORT": str(self.port),
            "DAGSTER_POSTGRES_USER": self.user,
            "DAGSTER_POSTGRES_PASSWORD": self.password,
            "DAGSTER_POSTGRES_DB": self.database,
        }


@contextmanager
def postgres_server(extra_env: Mapping[str, str] | None = None, database: str = "dagster") -> Iterator[Postgres]:
    """A throw-away PostgreSQL cluster on 127.0.0.1, password-authenticated, with the database ``database``."""
    bin_dir = postgres_bin_dir()
    owner = _unprivileged_user()
    root = Path(tempfile.mkdtemp(prefix="caseworks-pg-"))  # under /tmp, so the owner can reach it
    os.chown(root, owner.pw_uid, owner.pw_gid)
    data, password = root / "data", secrets.token_urlsafe(16)
    password_file = root / "password"
    password_file.write_text(password)
    os.chown(password_file, owner.pw_uid, owner.pw_gid)
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", **(extra_env or {})}

    def as_owner(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["runuser", "-u", owner.pw_name, "--", "env", *(f"{k}={v}" for k, v in env.items()), *command],
            capture_output=True,
            text=True,
            cwd=root,
            check=False,
        )

    def checked(result: subprocess.CompletedProcess) -> None:
        if result.returncode != 0:
            log = root / "server.log"
            raise RuntimeError(f"{result.args[-1]!r}: {result.stderr}{log.read_text() if log.exists() else ''}")

    try:
        checked(
            as_owner(
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "dagster",
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            )
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off"
        checked(as_owner(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-o", options,
                         "-w", "-t", "60", "start"))  # fmt: skip
        try:
            import psycopg

            with psycopg.connect(
                host="127.0.0.1", port=port, user="dagster", password=password, dbname="postgres", autocommit=True
            ) as connection:
                connection.execute(f"CREATE DATABASE {database}")
            yield Postgres("127.0.0.1", port, "dagster", password, database)
        finally:
            as_owner(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
