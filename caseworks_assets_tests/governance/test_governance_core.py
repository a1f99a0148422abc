"""Shared governance: classification metadata, role policy, pseudonyms, encryption and rotation."""

from __future__ import annotations

import base64
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pyarrow as pa
import pytest

from caseworks_assets.governance import (
    Access,
    Classification,
    ColumnSpec,
    DecryptionError,
    KeyRing,
    KeyRingError,
    PrivacyResource,
    Role,
    access,
    governance_metadata,
    privacy_resource,
    project,
    pseudonym,
    pseudonymize_series,
    table_classification,
)
from caseworks_assets.governance.lake_encryption import read_sealed, sealed_with, sealed_writer
from caseworks_assets.governance.rotation import rotate_duckdb_table, rotate_parquet
from caseworks_assets.settings import Settings

COLUMNS = [
    ColumnSpec("order_id", "String", "order", Classification.INTERNAL),
    ColumnSpec("customer_id", "String", "customer", Classification.CONFIDENTIAL, identifier=True),
    ColumnSpec("segment_note", "String", "free text about the customer", Classification.CONFIDENTIAL),
    ColumnSpec("region", "String", "region", Classification.PUBLIC),
    ColumnSpec("card", "String", "card token", Classification.RESTRICTED, encrypted=True),
]


def test_classification_metadata_shows_in_the_column_schema():
    meta = governance_metadata(COLUMNS)
    schema = meta["dagster/column_schema"]
    assert isinstance(schema, dg.TableSchema)
    assert [c.tags["classification"] for c in schema.columns] == [
        "internal", "confidential", "confidential", "public", "restricted",
    ]  # fmt: skip
    assert schema.columns[1].description.startswith("[confidential] customer")
    assert meta["classification"] == "restricted"
    assert table_classification(COLUMNS[:2]) is Classification.CONFIDENTIAL


def test_policy_projection_per_role():
    frame = pl.DataFrame(
        {"order_id": ["o1", "o2"], "customer_id": ["c1", None], "segment_note": ["vip", "x"], "region": ["S", "N"],
         "card": ["k1:abc", "k1:def"]}
    )  # fmt: skip
    key = b"k"
    analyst = project(frame, COLUMNS, Role.ANALYST, lambda s: pseudonymize_series(s, key))
    assert analyst.columns == ["order_id", "customer_id", "region"]
    assert analyst["customer_id"].to_list() == [pseudonym("c1", key), None]
    finance = project(frame, COLUMNS, Role.FINANCE, lambda s: pseudonymize_series(s, key))
    assert finance.columns == ["order_id", "customer_id", "segment_note", "region"]
    assert finance["customer_id"].to_list() == ["c1", None]
    assert access(Role.ADMIN, COLUMNS[4]) is Access.CIPHERTEXT
    assert access(Role.FINANCE, COLUMNS[4]) is Access.DENY


def test_pseudonyms_are_keyed_and_stable():
    assert pseudonym("CUST-1", b"a") == pseudonym("CUST-1", b"a")
    assert pseudonym("CUST-1", b"a") != pseudonym("CUST-1", b"b")
    assert pseudonym("CUST-1", b"a") != pseudonym("CUST-2", b"a")
    assert pseudonym("CUST-1", b"a").startswith("p_") and len(pseudonym("x", b"a")) == 34


def test_encryption_round_trips_exactly_and_rejects_wrong_or_forged_input():
    ring = KeyRing.parse(KeyRing.generate_spec("k1"))
    values = ["REF-1", "", "ünïcødé ✓", None, "x" * 5000]
    sealed = ring.encrypt_values(values)
    assert ring.decrypt_values(sealed) == values
    assert sealed[3] is None and all(s.startswith("k1:") for s in sealed if s is not None)
    assert ring.encrypt_values(["same"]) != ring.encrypt_values(["same"])  # random nonces
    with pytest.raises(KeyRingError):
        KeyRing.parse(KeyRing.generate_spec("k2")).decrypt_values(sealed)
    raw = bytearray(base64.b64decode(sealed[0].split(":", 1)[1]))
    raw[-1] ^= 1
    with pytest.raises(DecryptionError):
        ring.decrypt_values(["k1:" + base64.b64encode(bytes(raw)).decode()])
    with pytest.raises(KeyRingError):
        KeyRing.parse("k1:" + base64.b64encode(b"short").decode())
    with pytest.raises(KeyRingError):
        KeyRing.parse("")


def _rings():
    k1 = KeyRing.generate_spec("k1")
    k2 = KeyRing.generate_spec("k2")
    return KeyRing.parse(k1), KeyRing.parse(f"{k2},{k1}"), KeyRing.parse(k2)


def _sealed_file(path: Path, values: list, ring: KeyRing) -> None:
    table = pa.table({"id": list(range(len(values))), "secret": values})
    with sealed_writer(str(path), table.schema, ring, ["secret"]) as writer:
        for offset in range(0, len(values), 100):  # several row groups
            writer.write_table(table.slice(offset, 100))


def test_sealed_lake_file_needs_its_key_and_detects_tampering(tmp_path: Path):
    old, both, new = _rings()
    path = tmp_path / "sealed.parquet"
    values = ["203.0.113.7", None, "REF-SECRET-1"]
    _sealed_file(path, values, old)
    assert sealed_with(str(path)) == "k1"
    assert b"203.0.113.7" not in path.read_bytes() and b"REF-SECRET-1" not in path.read_bytes()
    assert pl.read_parquet(path, columns=["id"])["id"].to_list() == [0, 1, 2]  # other columns need no key
    with pytest.raises(pl.exceptions.ComputeError, match="encrypted"):
        pl.read_parquet(path)
    assert read_sealed(str(path), both).column("secret").to_pylist() == values
    with pytest.raises(KeyRingError):
        read_sealed(str(path), new)
    impostor = KeyRing.parse("k1:" + KeyRing.generate_spec("x").split(":", 1)[1])  # right id, wrong key
    with pytest.raises(KeyRingError, match="does not open"):
        read_sealed(str(path), impostor)

    raw = bytearray(path.read_bytes())
    at = raw.index(b"PAR1", 4) - 40 if raw.count(b"PAR1") > 2 else len(raw) // 3
    raw[at] ^= 0xFF
    tampered = tmp_path / "tampered.parquet"
    tampered.write_bytes(bytes(raw))
    with pytest.raises(Exception):  # noqa: B017 - GCM refuses whichever module the flipped byte hit
        read_sealed(str(tampered), old)


def test_rotation_of_sealed_parquet_and_duckdb(tmp_path: Path):
    old, both, new = _rings()
    values = [f"secret-{i}" for i in range(1000)] + [None]
    path = tmp_path / "data.parquet"
    _sealed_file(path, values, old)
    result = rotate_parquet(path, ["secret"], both)
    assert (result.rows, result.rotated) == (1001, 1001)
    assert sealed_with(str(path)) == "k2"
    rotated = read_sealed(str(path), new)
    assert rotated.column("id").to_pylist() == list(range(1001))
    assert rotated.column("secret").to_pylist() == values
    with pytest.raises(KeyRingError):
        read_sealed(str(path), old)
    assert rotate_parquet(path, ["secret"], both).rotated == 0  # idempotent

    frame = pl.DataFrame({"id": range(len(values)), "secret": old.encrypt_values(values)})
    database = str(tmp_path / "wh.duckdb")
    with duckdb.connect(database) as con:
        con.execute("create schema s")
        con.register("frame", frame)
        con.execute("create table s.t as select * from frame")
    assert rotate_duckdb_table(database, "s.t", ["secret"], both).rotated == 1000
    with duckdb.connect(database, read_only=True) as con:
        stored = [r[0] for r in con.execute("select secret from s.t order by id").fetchall()]
    assert new.decrypt_values(stored) == values
    with pytest.raises(KeyRingError):
        old.decrypt_values(stored)


def test_privacy_resource_demo_only_locally(monkeypatch):
    for name in ("CASEWORKS_PSEUDONYM_KEY", "CASEWORKS_ENCRYPTION_KEYS", "CASEWORKS_ENV"):
        monkeypatch.delenv(name, raising=False)
    local = privacy_resource(Settings.from_env())
    assert local.demo and local.keyring().active_id == "demo"
    monkeypatch.setenv("CASEWORKS_ENV", "prod")
    monkeypatch.setenv("CASEWORKS_BQ_PROJECT", "p")
    monkeypatch.setenv("CASEWORKS_LAKE_ROOT", "gs://lake")
    prod = privacy_resource(Settings.from_env())
    assert not prod.demo

    @dg.asset
    def needs_keys(privacy: PrivacyResource) -> None:
        privacy.keyring()

    with pytest.raises(dg.DagsterInvalidConfigError, match="CASEWORKS_"):
        dg.materialize([needs_keys], resources={"privacy": prod}, instance=dg.DagsterInstance.ephemeral())
