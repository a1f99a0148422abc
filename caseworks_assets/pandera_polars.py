"""pandera's polars API, imported without pandera's pandas layer (mechanism ``pandera_without_pandas``).

Every schema of this project is a ``pandera.polars`` schema. But ``import
pandera`` -- which any ``import pandera.polars`` runs first -- imports pandas,
and through pandas ``pyspark.pandas`` and pyspark, whenever they are installed
(they are: BigQuery's client needs pandas, the delinquency step pyspark); and
the first check pandera runs imports pandas again if it can. That is about
0.45 s of imports, for an API nobody here calls; a payments run, which needs
pandas nowhere else, is 0.7 s faster without it (README, "Performance
mechanisms, each measured").

pandera supports installs without pandas (``pandera[polars]``): its package
``__init__`` skips the pandas API when ``import pandas`` raises "No module named
'pandas'", and its check dispatch caches that pandas is missing.
:func:`import_pandera_polars` makes pandas look absent to pandera's own modules
while pandera is imported and its check dispatch asks, so pandera takes that
path; any other module imports pandas as usual, then and afterwards (polars,
imported meanwhile, still finds it; DuckDB imports it to bind a Python
parameter). When pandera is already imported, when the mechanism is switched
off (``python -m benchmarks CASE --without pandera_without_pandas``), or when a
pandera release no longer takes the polars-only path, the plain import runs and
nothing but the time changes. ``caseworks_assets_tests/test_pandera_polars.py``
fails, naming this mechanism, when an upgrade of pandera breaks it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from caseworks_assets.settings import without

MECHANISM = "pandera_without_pandas"
HIDDEN = "pandas"


def _package(name: str) -> str:
    return name.partition(".")[0]


def _importer() -> str:
    """The module whose ``import`` statement (or ``importlib`` call) is being served, outside the import system."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not name.startswith(("importlib", "_frozen_importlib")):
            return name
        frame = frame.f_back
    return ""


class _Absent(importlib.abc.MetaPathFinder):
    """A finder answering "No module named ..." for the package ``hidden``, to the package ``importer`` only.

    Another library imported meanwhile (e.g. polars, which notes at its own import whether pandas is
    installed) finds pandas as usual.
    """

    def __init__(self, hidden: str, importer: str) -> None:
        self.hidden, self.importer = hidden, importer

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> None:
        if _package(fullname) == self.hidden and _package(_importer()) == self.importer:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)


def _forget(package: str) -> None:
    for name in [name for name in sys.modules if _package(name) == package]:
        del sys.modules[name]


def import_hiding(module: str, hidden: str, then: Callable[[], object] | None = None) -> ModuleType:
    """``module``, imported (and ``then`` called) while the package ``hidden`` looks uninstalled to its package.

    If that fails with an :class:`ImportError`, what was half imported is forgotten and the plain import runs.
    """
    absent = _Absent(hidden, importer=_package(module))
    sys.meta_path.insert(0, absent)
    try:
        imported = importlib.import_module(module)
        if then is not None:
            then()
        return imported
    except ImportError:  # e.g. a pandera release that needs pandas: forget what was half imported
        _forget(_package(module))
    finally:
        sys.meta_path.remove(absent)
    return importlib.import_module(module)


def _check_dispatch_without_pandas() -> None:
    """Let pandera look pandas up for its checks now, while pandas is hidden.

    The first check pandera runs asks once, and caches, whether pandas can be
    imported (to route pandas-like frames to its pandas backends): asked later,
    it would import pandas then. Asked now it caches "no", and validating polars
    frames never imports pandas. A pandera without that lookup needs nothing.
    """
    from pandera.backends import register_checks

    lookup = getattr(register_checks, "_load_get_backend_types_from_mro", None)
    if lookup is not None:
        lookup()


def import_pandera_polars() -> ModuleType:
    """``pandera.polars``, imported with pandas hidden when this process has imported neither yet."""
    if without(MECHANISM) or "pandera" in sys.modules or HIDDEN in sys.modules:
        return importlib.import_module("pandera.polars")
    return import_hiding("pandera.polars", HIDDEN, then=_check_dispatch_without_pandas)


if TYPE_CHECKING:
    import pandera.polars as pa
    from pandera.engines import polars_engine
else:
    pa = import_pandera_polars()
    from pandera.engines import polars_engine  # pandera is imported by now

__all__ = ["pa", "polars_engine"]
