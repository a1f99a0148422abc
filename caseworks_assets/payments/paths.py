"""Where the payments case keeps its files in the lake, and how they are written safely."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from caseworks_assets.governance import EncryptedData, register_encrypted
from caseworks_assets.resources import LakeResource
from caseworks_assets.resources.staging import staged_writer

CASE = "payments"
RAW_TRANSACTIONS = (CASE, "raw", "transactions.parquet")
RAW_PAYMENTS = (CASE, "raw", "payments.parquet")
CLEAN_TRANSACTIONS = (CASE, "clean", "transactions.parquet")  # contract with the delinquency assets
CLEAN_PAYMENTS = (CASE, "clean", "payments.parquet")  # contract with the delinquency assets
CLEAN_PAYMENTS_RESTRICTED = (CASE, "clean", "payments_restricted.parquet")
QUARANTINE_TRANSACTIONS = (CASE, "quarantine", "transactions.parquet")
QUARANTINE_PAYMENTS = (CASE, "quarantine", "payments.parquet")

#: Every lake file with encrypted columns (Parquet modular encryption), and those columns (for key rotation).
ENCRYPTED_FILES: dict[tuple[str, ...], tuple[str, ...]] = {
    RAW_PAYMENTS: ("restricted_metadata",),
    CLEAN_PAYMENTS_RESTRICTED: ("restricted_metadata",),
}
#: Every warehouse table holding per-value ciphertext, and its encrypted columns. (The warehouse views
#: of the files above leave their encrypted column out.)
ENCRYPTED_TABLES: dict[str, tuple[str, ...]] = {
    "payments.stream_payments_restricted": ("restricted_metadata",),
}

register_encrypted(EncryptedData(CASE, ENCRYPTED_FILES, ENCRYPTED_TABLES))


@contextmanager
def staged(lake: LakeResource, *parts: str) -> Iterator[BinaryIO]:
    """Open a lake file for writing under a temporary name; rename it into place only on success."""
    with staged_writer(lake.path(*parts)) as handle:
        yield handle
