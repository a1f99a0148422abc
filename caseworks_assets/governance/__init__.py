"""Shared governance: column classification, role policy, pseudonyms, encryption and key rotation.

Any case publishes governed data the same way: declare its columns as
:class:`ColumnSpec` (classification, identifier, encrypted), put
:func:`governance_metadata` on the asset, derive role outputs with
:func:`project`, seal restricted values with the :class:`KeyRing` of the
:class:`PrivacyResource`, and list encrypted columns for ``caseworks rotate-keys``.
"""

from caseworks_assets.governance.classification import (
    Classification,
    ColumnSpec,
    column_names,
    column_schema,
    governance_metadata,
    governance_tags,
    table_classification,
)
from caseworks_assets.governance.encryption import DecryptionError, KeyRing, KeyRingError, key_id_of
from caseworks_assets.governance.keys import (
    ENCRYPTION_KEYS_ENV,
    PSEUDONYM_KEY_ENV,
    PrivacyResource,
    privacy_resource,
)
from caseworks_assets.governance.policy import POLICY, Access, Role, access, policy_markdown, project, visible_columns
from caseworks_assets.governance.pseudonymize import pseudonym, pseudonymize_series

__all__ = [
    "ENCRYPTION_KEYS_ENV",
    "POLICY",
    "PSEUDONYM_KEY_ENV",
    "Access",
    "Classification",
    "ColumnSpec",
    "DecryptionError",
    "KeyRing",
    "KeyRingError",
    "PrivacyResource",
    "Role",
    "access",
    "column_names",
    "column_schema",
    "governance_metadata",
    "governance_tags",
    "key_id_of",
    "policy_markdown",
    "privacy_resource",
    "project",
    "pseudonym",
    "pseudonymize_series",
    "table_classification",
    "visible_columns",
]
