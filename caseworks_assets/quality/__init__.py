"""The shared data-quality toolkit: declarative rules, validators and check factories."""

from caseworks_assets.quality.rules import (
    QUARANTINE_SCHEMA,
    Action,
    Dedupe,
    QualityResult,
    Rule,
    apply_rules,
    empty_quarantine,
)

__all__ = ["QUARANTINE_SCHEMA", "Action", "Dedupe", "QualityResult", "Rule", "apply_rules", "empty_quarantine"]
