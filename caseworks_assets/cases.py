"""The cases of the code location: each name and the module that defines it.

This mapping is the only place that enumerates the cases. Each module is a
case's ``definitions`` module and exposes ``CASE`` (a
:class:`~caseworks_assets.registry.Case`). Importing this module imports no
case; a command about one case imports only that case's module
(:func:`~caseworks_assets.registry.load_case`), the code location all of them.
Adding a case is a subpackage in the shape of ``CONTRIBUTING.md`` plus one
line here.
"""

CASE_MODULES = {
    "support": "caseworks_assets.support.definitions",
    "payments": "caseworks_assets.payments.definitions",
    "ouchhungry": "caseworks_assets.ouchhungry.definitions",
    "callcenter": "caseworks_assets.callcenter.definitions",
    "crm": "caseworks_assets.crm.definitions",
    "platform": "caseworks_assets.platform.definitions",
}
