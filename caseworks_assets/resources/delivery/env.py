"""Reading optional channel settings as ``EnvVar`` so the UI shows the variable, not the value."""

from __future__ import annotations

import os
from typing import Any

from dagster import EnvVar


def is_set(name: str) -> bool:
    return bool(os.environ.get(name, "").strip())


def setting(name: str, default: Any = "", kind: type = str) -> Any:
    """``EnvVar(name)`` (typed) when the variable is set, else ``default``."""
    if not is_set(name):
        return default
    return EnvVar.int(name) if kind is int else EnvVar(name)
