"""``caseworks-dbt``: dbt's command line with an offline ``--version``, the executable the dbt resource runs."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from caseworks_assets.callcenter.dbt_env import dbt_executable
from caseworks_assets.callcenter.transform import dbt_resource

ANSWER_WITHOUT_DBT = (
    "import sys; sys.argv = ['caseworks-dbt', '--version']\n"
    "from caseworks_assets.callcenter.dbt_launcher import main; main()\n"
    "print('dbt imported:', 'dbt' in sys.modules or 'dbt.cli.main' in sys.modules)"
)


def test_the_dbt_resource_runs_the_launcher_installed_beside_python() -> None:
    assert Path(dbt_resource().dbt_executable).name == "caseworks-dbt"
    assert dbt_resource().dbt_executable == dbt_executable()


def test_version_is_the_installed_dbt_core_read_without_importing_dbt() -> None:
    """dagster-dbt reads the first x.y.z of the answer; dbt itself (adapters, the PyPI request) is never loaded."""
    out = subprocess.run([sys.executable, "-c", ANSWER_WITHOUT_DBT], capture_output=True, text=True, check=True).stdout
    first = re.search(r"(\d+\.\d+\.\d+)", out)
    assert first is not None and first.group(1) == version("dbt-core")
    assert out.rstrip().endswith("dbt imported: False")


def test_every_other_command_line_is_dbt_s_own_with_its_exit_code(tmp_path: Path) -> None:
    missing = tmp_path / "no_project"  # a folder without dbt_project.yml: dbt's own error, from dbt itself
    missing.mkdir()
    arguments = ["parse", "--project-dir", str(missing), "--profiles-dir", str(missing)]
    own_dbt = str(Path(sys.executable).parent / "dbt")
    launched, own = (
        # from tmp_path: dbt writes its logs/ folder into the current directory
        subprocess.run([command, *arguments], capture_output=True, text=True, cwd=tmp_path)
        for command in (dbt_executable(), own_dbt)
    )
    assert launched.returncode == own.returncode != 0, (launched.stdout, launched.stderr)
    assert "dbt_project.yml" in launched.stdout + launched.stderr
