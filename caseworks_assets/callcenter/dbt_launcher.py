"""``caseworks-dbt``: dbt's own command line, except that ``dbt --version`` answers offline, at once.

dagster-dbt runs ``<dbt_executable> --version`` once per ``DbtCliResource``
before its first dbt command, only to read which dbt-core runs the project.
dbt answers that by importing every installed adapter and asking PyPI for its
latest release (one request, with a one-second timeout per step): 4 to 6 s of a
run's wall time on the 2-core machine, for a number the installation already
knows. This launcher prints the installed version in dbt's own form and hands
every other command line to dbt unchanged (``dbt.cli.main.cli``, what the
``dbt`` script runs), so the models, tests, logs and exit codes are dbt's.
"""

from __future__ import annotations

import sys
from importlib.metadata import version


def version_text() -> str:
    """The first lines of ``dbt --version``: the installed dbt-core (what dagster-dbt reads), without the PyPI check."""
    return f"Core:\n  - installed: {version('dbt-core')}\n"


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        sys.stdout.write(version_text())
        return
    from dbt.cli.main import cli

    sys.exit(cli())


if __name__ == "__main__":
    main()
