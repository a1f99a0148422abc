"""The module Dagster loads (``workspace.yaml``, ``[tool.dagster]``): every case, with the environment's resources.

Commands that run one case build their definitions with
:func:`~caseworks_assets.code_location.build_definitions` instead, so importing
them does not load every case.
"""

from caseworks_assets.code_location import build_definitions

defs = build_definitions()

__all__ = ["build_definitions", "defs"]
