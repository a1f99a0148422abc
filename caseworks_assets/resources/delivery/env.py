"""Reading optional channel settings as ``EnvVar`` so the UI shows the variable, not the value."""

from __future__ import annotations

from typing import Any

from dagster import EnvVar

from caseworks_assets.settings import is_set

__all__ = ["is_set", "setting"]


def setting(name: str, default: Any = "", kind: type = str) -> Any:
    """``EnvVar(name)`` (typed) when the variable is set, else ``default``."""
    if not is_set(name):
        return default
    return EnvVar.int(name) if kind is int else EnvVar(name)
