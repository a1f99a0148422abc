"""pandera's polars API, imported without pandera's pandas layer (mechanism ``pandera_without_pandas``).

Every schema of this project is a ``pandera.polars`` schema. But ``import
pandera`` -- which any ``import pandera.polars`` runs first -- imports pandas,
and through pandas ``pyspark.pandas`` and pyspark, whenever they are installed
(they are: BigQuery's client needs pandas, the delinquency step pyspark). That
costs about 0.45 s of every ``caseworks`` process on the benchmark machine, for
an API nobody here calls.

pandera supports installs without pandas (``pandera[polars]``): its package
``__init__`` skips the pandas API when ``import pandas`` raises "No module named
'pandas'". :func:`import_pandera_polars` makes pandas look absent for the
duration of pandera's import only, so pandera takes that path; afterwards pandas
imports normally for whoever needs it (a thread importing pandas during those
few hundred milliseconds would be refused: definitions load in one thread). When pandera is already imported, when
the mechanism is switched off (``python -m benchmarks CASE --without
pandera_without_pandas``), or when a pandera release no longer takes the
polars-only path, the plain import runs and nothing but the time changes.
``caseworks_assets_tests/test_pandera_polars.py`` fails, naming this mechanism,
when an upgrade of pandera breaks it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from caseworks_assets.settings import without

MECHANISM = "pandera_without_pandas"
HIDDEN = "pandas"


class _Absent(importlib.abc.MetaPathFinder):
    """A finder answering "No module named ..." for the hidden top-level package and its submodules."""

    def __init__(self, package: str) -> None:
        self.package = package

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> None:
        if fullname == self.package or fullname.startswith(self.package + "."):
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)


def _forget(package: str) -> None:
    for name in [name for name in sys.modules if name == package or name.startswith(package + ".")]:
        del sys.modules[name]


def import_hiding(module: str, hidden: str) -> ModuleType:
    """``module``, imported while the package ``hidden`` looks uninstalled; if that import fails, the plain one."""
    absent = _Absent(hidden)
    sys.meta_path.insert(0, absent)
    try:
        return importlib.import_module(module)
    except ImportError:  # e.g. a pandera release that needs pandas: forget what was half imported
        _forget(module.partition(".")[0])
    finally:
        sys.meta_path.remove(absent)
    return importlib.import_module(module)


def import_pandera_polars() -> ModuleType:
    """``pandera.polars``, imported with pandas hidden when this process has imported neither yet."""
    if without(MECHANISM) or "pandera" in sys.modules or HIDDEN in sys.modules:
        return importlib.import_module("pandera.polars")
    return import_hiding("pandera.polars", HIDDEN)


if TYPE_CHECKING:
    import pandera.polars as pa
    from pandera.engines import polars_engine
else:
    pa = import_pandera_polars()
    from pandera.engines import polars_engine  # pandera is imported by now

__all__ = ["pa", "polars_engine"]
