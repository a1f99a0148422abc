"""Mechanism ``pandera_without_pandas``: pandera's polars API imported without pandas, and what it still validates.

Each probe runs in a new interpreter, since what is asserted is what a process
imports. If a pandera upgrade fails the first test, the mechanism no longer
saves its time: read ``caseworks_assets/pandera_polars.py``, then keep or
remove it (README, "Performance mechanisms, each measured").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from caseworks_assets.pandera_polars import MECHANISM, import_hiding
from caseworks_assets.settings import WITHOUT_ENV

PROBE = """
import json, sys
from caseworks_assets.pandera_polars import pa
import polars as pl
schema = pa.DataFrameSchema({"n": pa.Column(int, pa.Check.ge(0)), "day": pa.Column(pl.Date, nullable=True)})
schema.validate(pl.DataFrame({"n": [1, 2], "day": [None, None]}, schema={"n": pl.Int64, "day": pl.Date}))
try:
    schema.validate(pl.DataFrame({"n": [1, -5]}), lazy=True)
    failures = []
except pa.errors.SchemaErrors as error:
    failures = sorted(str(value) for value in error.failure_cases["failure_case"].to_list())
imported = sorted(name for name in ("pandas", "pyspark") if name in sys.modules)  # after checks ran
import pandas  # still importable for whoever needs it, and polars (imported meanwhile) knows it is there
converted = pl.from_pandas(pandas.DataFrame({"n": [1, 2]})).height
print(json.dumps({"imported": imported, "failures": failures, "pandas": pandas.__name__, "converted": converted}))
"""


def _probe(without: str = "", prelude: str = "") -> dict:
    env = {**os.environ, WITHOUT_ENV: without}
    done = subprocess.run([sys.executable, "-c", prelude + PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_pandera_polars_is_imported_without_pandas_and_still_validates() -> None:
    result = _probe()
    assert result["imported"] == [], (
        f"mechanism {MECHANISM}: importing pandera.polars and validating imported {result['imported']}; "
        "the installed pandera no longer takes its polars-only path (caseworks_assets/pandera_polars.py)"
    )
    # a failing check and a missing column are both reported, as with the plain import
    assert result["failures"] == ["-5", "day"]
    assert result["pandas"] == "pandas" and result["converted"] == 2


def test_switched_off_or_pandas_already_imported_the_plain_import_runs() -> None:
    switched_off = _probe(without=MECHANISM)
    assert "pandas" in switched_off["imported"]
    assert switched_off["failures"] == ["-5", "day"]
    after_pandas = _probe(prelude="import pandas\n")
    assert "pandas" in after_pandas["imported"] and after_pandas["failures"] == ["-5", "day"]


def test_the_package_is_hidden_from_the_importing_package_only_and_a_failed_import_falls_back(
    tmp_path, monkeypatch
) -> None:
    """What a pandera release that needs pandas would meet, and what another library imported meanwhile sees."""
    (tmp_path / "toy_dependency.py").write_text("VALUE = 1\n")
    (tmp_path / "toy_needs.py").write_text("import toy_dependency\n")
    (tmp_path / "toy_bystander.py").write_text("import toy_dependency\n")
    (tmp_path / "toy_optional.py").write_text(
        "try:\n    import toy_dependency\nexcept ModuleNotFoundError:\n    toy_dependency = None\n"
        "import toy_bystander\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    toys = ("toy_dependency", "toy_needs", "toy_optional", "toy_bystander")
    for name in toys:
        monkeypatch.delitem(sys.modules, name, raising=False)
    needs = import_hiding("toy_needs", "toy_dependency")
    assert needs.toy_dependency.VALUE == 1  # the plain import, after the hidden one failed
    monkeypatch.delitem(sys.modules, "toy_dependency")
    optional = import_hiding("toy_optional", "toy_dependency")
    assert optional.toy_dependency is None  # hidden from the package imported: its optional path taken
    assert optional.toy_bystander.toy_dependency.VALUE == 1  # another module imported meanwhile finds it
    assert all(type(finder).__name__ != "_Absent" for finder in sys.meta_path)  # nothing stays hidden
    for name in toys:
        sys.modules.pop(name, None)
