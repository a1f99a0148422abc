"""Inputs that are not all UTF-8: the bytes that are not are read as Windows-1252, nothing is replaced or lost."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from caseworks_assets.callcenter.raw import read_text
from caseworks_assets.quality import encoding
from caseworks_assets.quality.encoding import (
    RepairedCopies,
    decode_text,
    first_undecodable_line,
    repaired_copy,
    utf8_copy,
)


def test_utf8_stays_utf8_and_each_other_sequence_is_read_as_windows_1252() -> None:
    mixed = "Saída;".encode() + "Saída;Ação €".encode("cp1252") + b";\x81\x9d"
    assert decode_text(b"\xef\xbb\xbf" + mixed) == "Saída;Saída;Ação €;\x81\x9d"
    assert decode_text(b"Entrada") == "Entrada"


def test_a_copy_split_in_blocks_mid_character_keeps_every_line_and_letter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(encoding, "BLOCK_BYTES", 3)  # blocks end inside UTF-8 letters and after lone 1252 bytes
    utf8_part, windows_part = "id,description\n1,Entrada\n2,Saída\n", '3,"Ação\nem duas linhas"\n'
    text = utf8_part + windows_part
    source = tmp_path / "telephony_types.csv"
    source.write_bytes(utf8_part.encode() + windows_part.encode("cp1252"))
    copy = utf8_copy(source, tmp_path / "copy" / "telephony_types.csv")
    assert copy.read_text(encoding="utf-8") == text
    assert first_undecodable_line(tmp_path / "copy" / "telephony_types.csv") is None


def test_only_a_file_that_is_not_utf8_gets_a_copy_and_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = tmp_path / "good.csv"
    good.write_text("a\nSaída\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_bytes("a\nEntrada\nSaída\n".encode("cp1252"))
    with caplog.at_level(logging.WARNING, logger="caseworks.inputs"):
        assert repaired_copy(good, tmp_path / "out") is None
        copy = repaired_copy(bad, tmp_path / "out", "telephony_types.csv")
    assert copy is not None and copy.read_text(encoding="utf-8") == "a\nEntrada\nSaída\n"
    assert caplog.messages == [
        "telephony_types.csv: not all UTF-8 (first at line 3, bytes b'\\xed'); those bytes were read as Windows-1252"
    ]


def test_a_repaired_copy_stands_for_its_file_only_while_the_file_is_unchanged(tmp_path: Path) -> None:
    """A long-lived process (a code server) must read a replaced file, not the copy of the old one."""
    copies = RepairedCopies()
    path = tmp_path / "agents.csv"
    path.write_bytes("agent_id,full_name\nA1,José\n".encode("cp1252"))
    assert copies.current(path) is None and copies.source(path) == path
    copy = copies.make(path)
    assert copy is not None and copies.source(path) == copy
    assert copy.read_text(encoding="utf-8") == "agent_id,full_name\nA1,José\n"
    path.write_bytes("agent_id,full_name\nA1,José Antônio\n".encode("cp1252"))  # replaced: other size
    assert copies.current(path) is None and not copy.exists()
    path.write_text("agent_id,full_name\nA1,José\n", encoding="utf-8")
    assert copies.make(path) is None and copies.source(path) == path


def test_callcenter_reads_a_windows_1252_export_as_written(tmp_path: Path) -> None:
    """``Saída`` (outbound) was ``Sa�da`` when such a file was read as UTF-8 with replacements."""
    path = tmp_path / "telephony_types.csv"
    path.write_bytes("id,description\n1,Entrada\n2,Saída\n".encode("cp1252"))
    assert read_text(path)["description"].to_list() == ["Entrada", "Saída"]
    assert read_text(path, rows=1).height == 1
    assert not list(Path(tmp_path).glob("caseworks-utf8-*")), "the repaired copy lives in a scratch folder"


def test_ouchhungry_reads_a_windows_1252_export_as_written(tmp_path: Path) -> None:
    from caseworks_assets.ouchhungry.extract import read_export

    path = tmp_path / "customers.csv"
    path.write_bytes("customer_id,name,city\n1,João Conceição,São Paulo\n".encode("cp1252"))
    assert read_export(path, ["customer_id", "name", "city"]).row(0) == ("1", "João Conceição", "São Paulo")


def test_a_malformed_csv_that_is_utf8_is_still_an_error(tmp_path: Path) -> None:
    from caseworks_assets.registry import InputError

    path = tmp_path / "calls.csv"
    path.write_text('id,name\n1,"never closed\n2,x\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"calls\.csv: cannot be read"):
        read_text(path)


def test_the_repair_is_in_the_run_log_of_a_caseworks_instance(tmp_path: Path) -> None:
    """``python_logs`` in the ``dagster.yaml`` caseworks writes: the reader's warning is a run log entry."""
    import dagster as dg

    from caseworks_assets.crm.assets import RAW_ASSETS
    from caseworks_assets.instance import instance_yaml
    from caseworks_assets.resources import CaseInputs, LakeIOManager

    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(instance_yaml(home))
    data = tmp_path / "crm"
    data.mkdir()
    (data / "customer.csv").write_bytes("Customer_Id,Occupation,Type\n1,Engenheiro Elétrico,Física\n".encode("cp1252"))
    raw_customers = next(a for a in RAW_ASSETS if a.key.path[-1] == "raw_customers")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = dg.materialize(
            [raw_customers],
            resources={
                "lake_io_manager": LakeIOManager(root=str(tmp_path / "lake")),
                "inputs": CaseInputs(root=str(tmp_path)),
            },
            instance=instance,
        )
        messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert result.output_for_node("crm__raw_customers")["occupation"].to_list() == ["Engenheiro Elétrico"]
    assert [m for m in messages if "customer.csv: not all UTF-8 (first at line 2" in m], messages
