"""Fixtures of the ouchhungry tests: real loopback servers and resources pointing at them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from caseworks_assets.settings import Settings
from caseworks_assets_tests.ouchhungry.servers import (
    SSHD,
    Mailbox,
    PartnerAPI,
    SSHServer,
    free_port,
    start_partner_api,
    start_sshd,
    stop,
)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    if not Path(SSHD).exists():
        pytest.skip(f"OpenSSH server not installed ({SSHD} missing); .ci/run installs openssh-server")
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    stop(server.process)


@pytest.fixture
def drop(sshd: SSHServer) -> Path:
    """The SFTP remote folder, emptied for each test."""
    for path in sshd.remote_dir.iterdir():
        path.unlink()
    return sshd.remote_dir


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


@pytest.fixture
def partner_api() -> Iterator[PartnerAPI]:
    api = start_partner_api()
    yield api
    api.server.shutdown()
    api.server.server_close()


@pytest.fixture
def oh_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in list(os.environ):
        if name.startswith(("CASEWORKS_SFTP", "CASEWORKS_SMTP", "CASEWORKS_PARTNER", "CASEWORKS_ALERT")):
            monkeypatch.delenv(name)
    for name in ("CASEWORKS_ENV", "CASEWORKS_LAKE_ROOT", "CASEWORKS_WAREHOUSE", "CASEWORKS_OUCHHUNGRY_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CASEWORKS_OUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("CASEWORKS_DATA_DIR", str(tmp_path / "data"))
    return Settings.from_env()
