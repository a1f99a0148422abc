"""Shared governance: column classification, role policy, pseudonyms, encryption and key rotation.

Any case publishes governed data the same way: declare its columns as
:class:`ColumnSpec` (classification, identifier, encrypted), put
:func:`governance_metadata` on the asset, derive role outputs with
:func:`project`, encrypt restricted values with the :class:`KeyRing` of the
:class:`PrivacyResource` (lake files: Parquet modular encryption,
:mod:`.lake_encryption`; warehouse rows: one sealed value at a time,
:mod:`.encryption`), and list encrypted files and tables for
``caseworks rotate-keys``.
"""

from caseworks_assets.governance.classification import (
    Classification,
    ColumnSpec,
    RowRule,
    column_names,
    column_schema,
    governance_metadata,
    governance_tags,
    pandera_schema,
    polars_schema,
    polars_type,
    table_classification,
)
from caseworks_assets.governance.encryption import DecryptionError, KeyRing, KeyRingError, key_id_of
from caseworks_assets.governance.keys import (
    ENCRYPTION_KEYS_ENV,
    PSEUDONYM_KEY_ENV,
    PrivacyResource,
    keyring_from_env,
    privacy_resource,
)
from caseworks_assets.governance.policy import POLICY, Access, Role, access, policy_markdown, project, visible_columns
from caseworks_assets.governance.pseudonymize import Pseudonymizer, pseudonym, pseudonymize_series
from caseworks_assets.governance.rotation import (
    EncryptedData,
    RotationResult,
    encrypted_data,
    register_encrypted,
    rotate_all,
)

__all__ = [
    "ENCRYPTION_KEYS_ENV",
    "POLICY",
    "PSEUDONYM_KEY_ENV",
    "Access",
    "Classification",
    "ColumnSpec",
    "DecryptionError",
    "EncryptedData",
    "KeyRing",
    "KeyRingError",
    "PrivacyResource",
    "Pseudonymizer",
    "Role",
    "RotationResult",
    "RowRule",
    "access",
    "column_names",
    "column_schema",
    "encrypted_data",
    "governance_metadata",
    "governance_tags",
    "key_id_of",
    "keyring_from_env",
    "pandera_schema",
    "polars_schema",
    "polars_type",
    "policy_markdown",
    "privacy_resource",
    "project",
    "pseudonym",
    "pseudonymize_series",
    "register_encrypted",
    "rotate_all",
    "table_classification",
    "visible_columns",
]
