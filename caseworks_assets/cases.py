"""Imports every case subpackage; each registers itself on import.

This list is the only place that enumerates the cases.
"""

from caseworks_assets import support  # noqa: F401
