"""Imports every case subpackage; each registers itself on import.

This list is the only place that enumerates the cases.
"""

from caseworks_assets import (
    ouchhungry,  # noqa: F401
    payments,  # noqa: F401
    support,  # noqa: F401
)
