"""Case ``payments``: JSON ingestion without loss, streaming emulation, governance and delinquency."""

from caseworks_assets.payments.case import run, summarize, validate_inputs
from caseworks_assets.payments.definitions import build_defs
from caseworks_assets.payments.sample import write_sample
from caseworks_assets.registry import Case, register_case

CASE = register_case(
    Case(
        name="payments",
        description="Transactions and payments: lossless JSON ingestion, streaming, governance, delinquency",
        defs=build_defs(),
        write_sample=write_sample,
        run=run,
        validate_inputs=validate_inputs,
        summarize=summarize,
    )
)
