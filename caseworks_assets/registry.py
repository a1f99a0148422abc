"""The case registry: each case subpackage registers one :class:`Case`.

The definitions module and the CLI iterate the registry, so adding a case is
adding a subpackage and one line to :mod:`caseworks_assets.cases`; nothing
else enumerates the cases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from caseworks_assets.runner import CaseRun


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
    """

    name: str
    description: str
    defs: dg.Definitions
    write_sample: Callable[[Path, int | None, int], None]
    run: Callable[[CaseRun], None]
    validate_inputs: Callable[[Path], None] = lambda _path: None
    summarize: Callable[[CaseRun], str] = lambda _run: ""
    formats: tuple[str, ...] = field(default=("parquet",))


class InputError(ValueError):
    """A case's input folder is missing or malformed; the message names the file and line."""


_CASES: dict[str, Case] = {}


def register_case(case: Case) -> Case:
    """Add ``case`` to the registry; registering a name twice is a programming error."""
    if case.name in _CASES and _CASES[case.name] is not case:
        raise ValueError(f"case {case.name!r} is registered twice")
    _CASES[case.name] = case
    return case


def registered_cases() -> dict[str, Case]:
    """The registered cases, in registration order."""
    from caseworks_assets import cases  # noqa: F401  (imports register the cases)

    return dict(_CASES)
