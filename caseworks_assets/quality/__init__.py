"""The shared data-quality toolkit: declarative rules, validators and check factories.

* :mod:`~caseworks_assets.quality.rules` -- :class:`Rule`/:class:`Dedupe` declared as
  data, applied by :func:`apply_rules` into clean rows + quarantine + counts.
* :mod:`~caseworks_assets.quality.validators` -- polars expression builders (e-mail,
  CEP, BR phone, CPF/CNPJ, patterns, numbers, dates) to plug into rules.
* :mod:`~caseworks_assets.quality.checks` -- Pandera schema and reconciliation
  ``@asset_check`` factories and the metadata helpers they rely on.

``__all__`` below is the toolkit's one list of public names (the submodules
keep none of their own, so the two cannot drift apart).
"""

from caseworks_assets.quality.checks import (
    QUARANTINE_TABLE_SCHEMA,
    markdown_table,
    may_repeat,
    pandera_check,
    pandera_column_schema,
    quality_metadata,
    reconciliation_check,
    reconciliation_result,
    validate_frame,
)
from caseworks_assets.quality.rules import (
    QUARANTINE_SCHEMA,
    Action,
    Dedupe,
    QualityResult,
    Rule,
    apply_rules,
    empty_quarantine,
    fill_null,
    not_null,
)
from caseworks_assets.quality.validators import (
    EMAIL_PATTERN,
    is_br_phone,
    is_cep,
    is_cnpj,
    is_cpf,
    is_email,
    matches,
    normalize_br_phone,
    normalize_cep,
    normalize_cnpj,
    normalize_cpf,
    normalize_email,
    null_if_blank,
    parse_date,
    parse_datetime,
    parse_number,
    restore_cpf,
)

__all__ = [
    "EMAIL_PATTERN",
    "QUARANTINE_SCHEMA",
    "QUARANTINE_TABLE_SCHEMA",
    "Action",
    "Dedupe",
    "QualityResult",
    "Rule",
    "apply_rules",
    "empty_quarantine",
    "fill_null",
    "is_br_phone",
    "is_cep",
    "is_cnpj",
    "is_cpf",
    "is_email",
    "markdown_table",
    "matches",
    "may_repeat",
    "normalize_br_phone",
    "normalize_cep",
    "normalize_cnpj",
    "normalize_cpf",
    "normalize_email",
    "not_null",
    "null_if_blank",
    "pandera_check",
    "pandera_column_schema",
    "parse_date",
    "parse_datetime",
    "parse_number",
    "quality_metadata",
    "reconciliation_check",
    "reconciliation_result",
    "restore_cpf",
    "validate_frame",
]
