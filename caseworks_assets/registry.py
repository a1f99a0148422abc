"""The case registry: what a case is (:class:`Case`) and how one is loaded by name.

Each case's ``definitions`` module exposes ``CASE``; :mod:`caseworks_assets.cases`
names those modules. Nothing registers itself on import: loading a case is
importing its module and reading ``CASE``, so a command about one case loads
just that case.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from caseworks_assets.runner import CaseRun
    from caseworks_assets.settings import Settings


def _nothing_configured(_settings: Settings) -> dg.Definitions:
    return dg.Definitions()


@dataclass(frozen=True)
class Case:
    """Everything the code location and the CLI need to know about one case.

    Attributes:
        name: the case name, which is also its asset group, asset key prefix and
            warehouse schema.
        defs: the case's assets, checks, jobs, schedules and sensors.
        write_sample: writes synthetic inputs in the case's input layout into a
            folder, ``rows`` scaling the volume, deterministic for ``seed``.
        run: materializes the case end to end through the Dagster instance.
        validate_inputs: raises :class:`InputError` for a missing or malformed
            input folder before any run starts.
        summarize: the case's answers as short text once it has run.
        configured: the part of the case's definitions that depends on the
            settings (its own resources, assets loaded from a configured
            service), built by the code location from a ``Settings``; ``defs``
            itself reads no setting.
    """

    name: str
    description: str
    defs: dg.Definitions
    write_sample: Callable[[Path, int | None, int], None]
    run: Callable[[CaseRun], None]
    validate_inputs: Callable[[Path], None] = lambda _path: None
    summarize: Callable[[CaseRun], str] = lambda _run: ""
    formats: tuple[str, ...] = field(default=("parquet",))
    configured: Callable[[Settings], dg.Definitions] = _nothing_configured


class InputError(ValueError):
    """A case's input folder is missing or malformed; the message names the file and line."""


def case_names() -> list[str]:
    """Every case's name, without importing any case."""
    from caseworks_assets.cases import CASE_MODULES

    return list(CASE_MODULES)


def load_case(name: str) -> Case:
    """The case ``name``: its definitions module's ``CASE`` (importing no other case)."""
    from caseworks_assets.cases import CASE_MODULES

    if name not in CASE_MODULES:
        raise KeyError(f"no case {name!r}; the cases are {', '.join(CASE_MODULES)}")
    case = importlib.import_module(CASE_MODULES[name]).CASE
    if case.name != name:
        raise ValueError(f"{CASE_MODULES[name]}.CASE is named {case.name!r}, not {name!r}")
    return case


def registered_cases() -> dict[str, Case]:
    """Every case, in the order of :data:`~caseworks_assets.cases.CASE_MODULES`."""
    return {name: load_case(name) for name in case_names()}
