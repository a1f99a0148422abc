"""Fixtures of the payments tests: hand-written inputs with one defect each, keys, resources."""

from __future__ import annotations

from pathlib import Path

import pytest
from payments_records import write_inputs

from caseworks_assets.governance import KeyRing, PrivacyResource
from caseworks_assets.payments.stream_assets import StreamLanding
from caseworks_assets.resources import build_resources
from caseworks_assets.settings import Settings


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    spec = KeyRing.generate_spec("k1")
    values = {"CASEWORKS_PSEUDONYM_KEY": "test-pseudonym-key-0123456789", "CASEWORKS_ENCRYPTION_KEYS": spec}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def payments_setup(caseworks_env: Settings, keys: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Settings, inputs and the full resource dict for the payments assets."""
    data_dir = write_inputs(caseworks_env.data_dir / "payments")
    # the CLI writes these into os.environ; pin them here so monkeypatch restores them after the test
    monkeypatch.setenv("CASEWORKS_PAYMENTS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CASEWORKS_PAYMENTS_LANDING", str(tmp_path / "landing"))
    resources = {
        **build_resources(caseworks_env),
        "privacy": PrivacyResource(
            pseudonym_key=keys["CASEWORKS_PSEUDONYM_KEY"], encryption_keys=keys["CASEWORKS_ENCRYPTION_KEYS"]
        ),
        "payments_landing": StreamLanding(path=str(tmp_path / "landing")),
    }
    return caseworks_env, data_dir, resources
