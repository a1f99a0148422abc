"""Case ``support``: monthly deltas of customer support interactions (placeholder, being built)."""

import dagster as dg

from caseworks_assets.registry import Case, register_case

CASE = register_case(
    Case(
        name="support",
        description="Monthly deltas of customer support interactions",
        defs=dg.Definitions(),
        write_sample=lambda out, rows, seed: None,
        run=lambda run: None,
    )
)
