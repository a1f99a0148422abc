"""Keyed pseudonyms: HMAC-SHA256 of an identifier under a secret key.

The same id always maps to the same pseudonym (joins and distinct counts keep
working), but without the key nobody can recompute or reverse it -- unlike a
plain hash, which a dictionary attack over the id space undoes. Only the
distinct values are hashed, so cost follows the number of customers, not rows.
"""

from __future__ import annotations

import hashlib
import hmac

import polars as pl

PSEUDONYM_PREFIX = "p_"
PSEUDONYM_HEX = 32  # 128 bits: collisions are not a practical concern


def pseudonym(value: str, key: bytes) -> str:
    digest = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:PSEUDONYM_HEX]


def pseudonym_table(values: pl.Series, key: bytes) -> pl.DataFrame:
    """``(value, pseudonym)`` for each distinct non-null value of ``values``."""
    distinct = values.cast(pl.String).drop_nulls().unique()
    return pl.DataFrame(
        {"value": distinct, "pseudonym": [pseudonym(v, key) for v in distinct.to_list()]},
        schema={"value": pl.String, "pseudonym": pl.String},
    )


def pseudonymize_series(values: pl.Series, key: bytes) -> pl.Series:
    """Each value replaced by its pseudonym (nulls stay null)."""
    table = pseudonym_table(values, key)
    mapping = dict(zip(table["value"].to_list(), table["pseudonym"].to_list(), strict=True))
    return values.cast(pl.String).replace_strict(mapping, default=None, return_dtype=pl.String).alias(values.name)


class Pseudonymizer:
    """Callable ``Series -> Series`` that remembers pseudonyms already computed (for batch after batch)."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._cache: dict[str, str] = {}

    def __call__(self, values: pl.Series) -> pl.Series:
        distinct = values.cast(pl.String).drop_nulls().unique().to_list()
        mapping = {v: self._cache.get(v) or self._cache.setdefault(v, pseudonym(v, self._key)) for v in distinct}
        return values.cast(pl.String).replace_strict(mapping, default=None, return_dtype=pl.String).alias(values.name)


def pseudonymize_expr(key: bytes):
    """Expression builder for ``with_columns``: ``pseudonymize_expr(key)(pl.col("customer_id"))``."""

    def build(expr: pl.Expr) -> pl.Expr:
        return expr.map_batches(lambda s: pseudonymize_series(s, key), return_dtype=pl.String)

    return build
