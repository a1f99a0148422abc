"""Who may read what: the one role policy every governed output is derived from.

| class        | analyst                          | finance        | admin                               |
|--------------|----------------------------------|----------------|-------------------------------------|
| public       | read                             | read           | read                                |
| internal     | read                             | read           | read                                |
| confidential | identifiers pseudonymized (HMAC) | read           | read                                |
|              | other confidential columns: drop |                |                                     |
| restricted   | never                            | never          | ciphertext only; decrypts with keys |

Finance sees real customer ids because collections act on them; nobody but an
admin holding the key ring can read a restricted value, and even the admin's
stored copies stay encrypted at rest. :func:`project` turns a table's column
specs into exactly this projection, so outputs cannot drift from the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import polars as pl

from caseworks_assets.governance.classification import Classification, ColumnSpec


class Role(StrEnum):
    ANALYST = "analyst"
    FINANCE = "finance"
    ADMIN = "admin"


class Access(StrEnum):
    READ = "read"
    PSEUDONYMIZE = "pseudonymize"  # identifiers only; other columns of that class are dropped
    CIPHERTEXT = "ciphertext"  # stored encrypted; readable only with the key ring
    DENY = "deny"


POLICY: dict[Classification, dict[Role, Access]] = {
    Classification.PUBLIC: {Role.ANALYST: Access.READ, Role.FINANCE: Access.READ, Role.ADMIN: Access.READ},
    Classification.INTERNAL: {Role.ANALYST: Access.READ, Role.FINANCE: Access.READ, Role.ADMIN: Access.READ},
    Classification.CONFIDENTIAL: {
        Role.ANALYST: Access.PSEUDONYMIZE,
        Role.FINANCE: Access.READ,
        Role.ADMIN: Access.READ,
    },
    Classification.RESTRICTED: {Role.ANALYST: Access.DENY, Role.FINANCE: Access.DENY, Role.ADMIN: Access.CIPHERTEXT},
}


def access(role: Role, column: ColumnSpec) -> Access:
    """What ``role`` gets for ``column`` (pseudonymization only applies to identifiers)."""
    granted = POLICY[column.classification][role]
    if granted is Access.PSEUDONYMIZE and not column.identifier:
        return Access.DENY
    return granted


def visible_columns(role: Role, columns: Sequence[ColumnSpec]) -> list[ColumnSpec]:
    return [c for c in columns if access(role, c) is not Access.DENY]


def project(frame: pl.DataFrame, columns: Sequence[ColumnSpec], role: Role, pseudonymize) -> pl.DataFrame:
    """``frame`` as ``role`` may read it: denied columns dropped, identifiers pseudonymized.

    ``pseudonymize`` maps a Series of identifiers to their pseudonyms (see
    :class:`~caseworks_assets.governance.keys.PrivacyResource`).
    """
    kept = visible_columns(role, columns)
    out = frame.select([c.name for c in kept])
    replaced = [pseudonymize(out[c.name]).alias(c.name) for c in kept if access(role, c) is Access.PSEUDONYMIZE]
    return out.with_columns(replaced) if replaced else out


def policy_markdown() -> str:
    """The policy table as Markdown, for asset descriptions and the docs."""
    roles = list(Role)
    lines = ["| class | " + " | ".join(roles) + " |", "|---" * (len(roles) + 1) + "|"]
    for level, grants in POLICY.items():
        lines.append(f"| {level.label} | " + " | ".join(grants[r].value for r in roles) + " |")
    return "\n".join(lines)
