"""The cases of the code location: each name and the subpackage that registers it on import.

This mapping is the only place that enumerates the cases. A command about one
case imports only that case's subpackage (:func:`~caseworks_assets.registry.load_case`);
the code location imports them all.
"""

CASE_PACKAGES = {
    "ouchhungry": "caseworks_assets.ouchhungry",
    "payments": "caseworks_assets.payments",
    "support": "caseworks_assets.support",
}
