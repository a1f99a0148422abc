"""Case input and output folders as resources, so runs and tests can repoint them."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource


class CaseInputs(ConfigurableResource):
    """Where each case reads its inputs: ``<root>/<case>`` unless overridden per case."""

    root: str
    overrides: dict[str, str] = {}

    def dir_for(self, case: str) -> Path:
        return Path(self.overrides.get(case) or Path(self.root) / case)


class CaseOutputs(ConfigurableResource):
    """Where each case writes its file exports: ``<root>/<case>``."""

    root: str

    def dir_for(self, case: str) -> Path:
        folder = Path(self.root) / case
        folder.mkdir(parents=True, exist_ok=True)
        return folder
