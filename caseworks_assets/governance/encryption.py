"""Authenticated encryption of restricted values, with key ids for rotation.

A value is stored as ``<key id>:<base64(nonce || AES-256-GCM ciphertext+tag)>``.
The key id names the key that sealed it, so several keys can be configured at
once while data is being re-encrypted: the first key of the ring is the active
one (new values), the others only decrypt. Tampering with a value, or reading it
with a ring that lacks its key, raises instead of returning garbage.

The ring comes from one environment variable (``CASEWORKS_ENCRYPTION_KEYS``):
``"k2:<base64 32-byte key>,k1:<base64 32-byte key>"``.
"""

from __future__ import annotations

import base64
import binascii
import operator
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat

import polars as pl
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class KeyRingError(ValueError):
    """A key ring is malformed or lacks the key a value was sealed with."""


class DecryptionError(ValueError):
    """A value is not a valid ciphertext of this ring (tampered, truncated or foreign)."""


@dataclass(frozen=True)
class KeyRing:
    """Ordered AES-256 keys by id; ``keys[0]`` is the active key."""

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyRingError("the encryption key ring is empty")
        ids = [key_id for key_id, _ in self.keys]
        if len(set(ids)) != len(ids):
            raise KeyRingError(f"duplicate key ids in the encryption key ring: {ids}")
        for key_id, key in self.keys:
            if not _KEY_ID.match(key_id):
                raise KeyRingError(f"bad key id {key_id!r}: use letters, digits, '_', '-', '.'")
            if len(key) != 32:
                raise KeyRingError(f"key {key_id!r} must be 32 bytes (base64 of 32 random bytes), got {len(key)}")

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        """Read ``"id:base64key,id:base64key"`` (first = active)."""
        keys = []
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            key_id, sep, encoded = item.partition(":")
            if not sep:
                raise KeyRingError("each key must be written 'id:base64key'")
            try:
                keys.append((key_id.strip(), base64.b64decode(encoded.strip(), validate=True)))
            except binascii.Error as error:
                raise KeyRingError(f"key {key_id.strip()!r} is not valid base64") from error
        return cls(tuple(keys))

    @staticmethod
    def generate_spec(key_id: str) -> str:
        """A new ``id:base64key`` entry (for docs, tests and the demo key)."""
        return f"{key_id}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"

    @property
    def active_id(self) -> str:
        return self.keys[0][0]

    def cipher(self, key_id: str) -> AESGCM:
        """The AES-GCM cipher of key ``key_id``; raises :class:`KeyRingError` if the ring lacks it."""
        for kid, key in self.keys:
            if kid == key_id:
                return AESGCM(key)
        raise KeyRingError(f"no key {key_id!r} in the configured key ring (have {[k for k, _ in self.keys]})")

    # -- values --------------------------------------------------------------------------------------------

    def encrypt_values(self, values: Sequence[str | None], context: bytes = b"") -> list[str | None]:
        """Seal each value with the active key; ``context`` is bound as associated data."""
        return self.encrypt(pl.Series("values", values, pl.String), context).to_list()

    def _seal(self, plain: list[bytes], context: bytes) -> pl.Series:
        """``<active id>:base64(nonce || ciphertext+tag)`` of each plaintext, as a String Series.

        AES-GCM has no vectorized form, so each value is still one AEAD call,
        but the per-value Python work around it is gone: the random 96-bit
        nonces come from one ``os.urandom`` call, the calls run through
        ``map`` and base64 and the key-id prefix are polars expressions.
        """
        cipher = self.cipher(self.active_id)
        buffer = os.urandom(NONCE_BYTES * len(plain))
        nonces = [buffer[i : i + NONCE_BYTES] for i in range(0, len(buffer), NONCE_BYTES)]
        sealed = map(cipher.encrypt, nonces, plain, repeat(context or None))
        blobs = pl.Series("sealed", list(map(operator.add, nonces, sealed)), pl.Binary)
        return pl.select(pl.lit(f"{self.active_id}:") + blobs.bin.encode("base64")).to_series()

    def decrypt_values(self, values: Sequence[str | None], context: bytes = b"") -> list[str | None]:
        """Open each value with the key its id names; raises on a missing key or a forged value."""
        ciphers: dict[str, AESGCM] = {}
        out: list[str | None] = []
        for value in values:
            if value is None:
                out.append(None)
                continue
            key_id, sep, body = value.partition(":")
            if not sep:
                raise DecryptionError("value has no key id prefix; it is not a caseworks ciphertext")
            cipher = ciphers.get(key_id) or ciphers.setdefault(key_id, self.cipher(key_id))
            try:
                raw = base64.b64decode(body, validate=True)
                out.append(cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context or None).decode())
            except (InvalidTag, binascii.Error, ValueError) as error:
                raise DecryptionError(f"value sealed with key {key_id!r} failed authentication") from error
        return out

    def rotate_values(self, values: Sequence[str | None], context: bytes = b"") -> list[str | None]:
        """Re-seal every value not already under the active key with the active key."""
        prefix = f"{self.active_id}:"
        stale = [i for i, v in enumerate(values) if v is not None and not v.startswith(prefix)]
        if not stale:
            return list(values)
        fresh = self.encrypt_values(self.decrypt_values([values[i] for i in stale], context), context)
        out = list(values)
        for i, value in zip(stale, fresh, strict=True):
            out[i] = value
        return out

    # -- polars --------------------------------------------------------------------------------------------

    def encrypt(self, series: pl.Series, context: bytes = b"") -> pl.Series:
        """``series`` sealed value by value with the active key; nulls stay null."""
        text = series.cast(pl.String)
        present = text.is_not_null()
        out = pl.Series(series.name, [None] * len(text), pl.String)
        if not present.any():
            return out
        sealed = self._seal(text.filter(present).cast(pl.Binary).to_list(), context)
        return out.scatter(present.arg_true(), sealed)

    def decrypt(self, series: pl.Series, context: bytes = b"") -> pl.Series:
        return pl.Series(series.name, self.decrypt_values(series.to_list(), context), pl.String)


def key_id_of(expr: pl.Expr) -> pl.Expr:
    """The key id of stored ciphertexts (for metadata and rotation progress)."""
    return expr.str.extract(r"^([^:]+):", 1)
