"""Shared fixtures (every test gets its own DAGSTER_HOME, output and data folders) and polling helpers."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from caseworks_assets.settings import Settings


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """Undo environment changes after each test: the CLI applies its folders as environment variables.

    Without this, a test calling ``main(["run", ..., "--data-dir", ...])``
    would point every later test of the session at its folders.
    """
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def caseworks_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point every caseworks setting at ``tmp_path`` and return the resolved settings."""
    for name in ("CASEWORKS_ENV", "CASEWORKS_LAKE_ROOT", "CASEWORKS_WAREHOUSE", "CASEWORKS_BQ_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("CASEWORKS_OUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("CASEWORKS_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "dagster_home").mkdir()
    return Settings.from_env()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(
    condition: Callable[[], Any],
    timeout: float,
    what: str,
    interval: float = 1.0,
    explain: Callable[[], str] | None = None,
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds.

    ``explain`` adds to the failure what was seen instead (ticks, logs).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f"\n{explain()}" if explain else ""
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)
