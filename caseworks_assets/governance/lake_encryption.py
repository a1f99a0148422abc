"""Restricted columns of lake Parquet files, encrypted with Parquet modular encryption.

Per-value sealing (:mod:`.encryption`) costs one Python call per value; for
files of millions of rows the columns are encrypted by the Parquet writer
itself instead (Apache Arrow's C++ implementation of the Parquet Modular
Encryption spec, AES-GCM): each restricted column chunk is encrypted and
authenticated with a data key, and that data key is wrapped with a master key
of the caseworks :class:`~caseworks_assets.governance.encryption.KeyRing`,
named by its key id. The ring is the one "KMS" (:class:`KeyRingKms`).

The footer stays in plain text (signed), so every reader, DuckDB and polars
included, can read the other columns without any key, while a restricted
column cannot be read at all without the ring. The file's schema metadata
names the key id that sealed it (:func:`sealed_with`), which is what key
rotation looks at; rotating re-writes the file under the active key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pe
from cryptography.exceptions import InvalidTag

from caseworks_assets.governance.encryption import NONCE_BYTES, KeyRing, KeyRingError
from caseworks_assets.resources.parquet_sink import ParquetSink

#: Schema metadata key holding the id of the master key that sealed a file's restricted columns.
KEY_ID_METADATA = b"caseworks.key_id"


class KeyRingKms(pe.KmsClient):
    """Wraps and unwraps Parquet data keys with the ring's master keys (AES-GCM, key id as associated data)."""

    def __init__(self, ring: KeyRing) -> None:
        super().__init__()
        self.ring = ring

    def wrap_key(self, key_bytes: bytes, master_key_identifier: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.ring.cipher(master_key_identifier).encrypt(nonce, key_bytes, master_key_identifier.encode())
        return base64.b64encode(nonce + sealed).decode()

    def unwrap_key(self, wrapped_key: str, master_key_identifier: str) -> bytes:
        raw = base64.b64decode(wrapped_key)
        cipher = self.ring.cipher(master_key_identifier)
        try:
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], master_key_identifier.encode())
        except InvalidTag as error:
            raise KeyRingError(
                f"key {master_key_identifier!r} of the configured ring does not open this file's data key "
                "(a different key under the same id?)"
            ) from error


def _factory_and_config(ring: KeyRing) -> tuple[pe.CryptoFactory, pe.KmsConnectionConfig]:
    # Arrow caches KMS clients and unwrapped keys per KMS instance: one instance id per distinct ring,
    # so a process that sees several rings (a rotation, the tests) never reuses another ring's keys.
    fingerprint = hashlib.sha256(b"".join(kid.encode() + b":" + key for kid, key in ring.keys)).hexdigest()[:16]
    return pe.CryptoFactory(lambda _config: KeyRingKms(ring)), pe.KmsConnectionConfig(kms_instance_id=fingerprint)


def encryption_properties(ring: KeyRing, columns: Sequence[str]) -> pe.FileEncryptionProperties:
    """Writer properties that encrypt ``columns`` with the ring's active key; other columns stay readable."""
    factory, config = _factory_and_config(ring)
    settings = pe.EncryptionConfiguration(
        footer_key=ring.active_id,
        column_keys={ring.active_id: list(columns)},
        plaintext_footer=True,
        double_wrapping=False,
        encryption_algorithm="AES_GCM_V1",
    )
    return factory.file_encryption_properties(config, settings)


def decryption_properties(ring: KeyRing) -> pe.FileDecryptionProperties:
    """Reader properties that open columns sealed with any key of the ring."""
    factory, config = _factory_and_config(ring)
    return factory.file_decryption_properties(config)


def sealed_schema(schema: pa.Schema, ring: KeyRing) -> pa.Schema:
    """``schema`` carrying the id of the key its restricted columns are sealed with."""
    return schema.with_metadata({**(schema.metadata or {}), KEY_ID_METADATA: ring.active_id.encode()})


def sealed_writer(sink: BinaryIO | str, schema: pa.Schema, ring: KeyRing, columns: Sequence[str]) -> ParquetSink:
    """A zstd Parquet writer whose ``columns`` are encrypted under the ring's active key.

    Pages are compressed before they are encrypted, so sealed columns shrink too.
    """
    return ParquetSink(sink, sealed_schema(schema, ring), encryption_properties=encryption_properties(ring, columns))


def sealed_with(source: BinaryIO | str) -> str | None:
    """The key id a file's restricted columns are sealed with (from the plain footer; no key needed)."""
    metadata = pq.ParquetFile(source).schema_arrow.metadata or {}
    value = metadata.get(KEY_ID_METADATA)
    return value.decode() if value else None


def read_sealed(source: BinaryIO | str, ring: KeyRing, columns: Sequence[str] | None = None) -> pa.Table:
    """The file with its restricted columns decrypted (raises if the ring lacks the file's key)."""
    return pq.read_table(
        source, columns=list(columns) if columns else None, decryption_properties=decryption_properties(ring)
    )
