"""The crm tests' small hand-written export and its hand-computed answers, and helpers to run and serve it.

customer.csv: 1 Business, 2 Individual, 3 with empty occupation and type, ``4.0``
(repaired to 4, Business, no interaction), a blank row, a duplicate of 2.
product.csv: 10-2019 Mortgage, 11-2019 Credit card (December has none).
interactions_export.xlsx (two title rows, ``Date Start, Interaction, Customers``) and
interactions.csv (``date_start, event, customers``) hold 12 records: 6 clean
(customer 1: Email 2019-10-04, Call 2019-10-05, Call 2019-11-12; customer 2: Email
2019-12-01, Bird 2019-10-13; customer 3: Email 2019-11-02) and 6 quarantined
(`` email `` duplicate, ``Fax?`` and ``unknown`` channels, customer 99, a blank row,
31/02/2019).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import xlsxwriter

from caseworks_assets.crm.assets import ALL_ASSETS
from caseworks_assets.crm.checks import CHECKS
from caseworks_assets.crm.serving import CrmServing
from caseworks_assets.resources import CaseInputs, LakeIOManager, LakeResource, LocalWarehouseIOManager

CUSTOMERS_CSV = (
    "Customer_Id,Occupation,Type\n1,Engineer,Business\n2,Teacher,Individual\n3,,\n4.0,Nurse,Business\n,,\n"
    "2,Teacher,Individual\n"
)
PRODUCTS_CSV = "date,product\n10-2019,Mortgage\n11-2019,Credit card\n"
INTERACTIONS_CSV = "date_start,event,customers\n02/11/2019 10:00,Email,3\n,,\n31/02/2019 10:00,Email,3\n"
INTERACTIONS_XLSX = [
    ["04/10/2019 10:00", "Email", 1],
    ["04/10/2019 10:00", " email ", 1],
    ["05/10/2019 09:30", "Call", 1],
    ["12/11/2019 14:00", "call", 1],
    ["01/12/2019 08:00", "EMAIL", 2],
    ["13/10/2019 11:00", "Bird", 2],
    ["15/10/2019 11:00", "Fax?", 2],
    ["16/10/2019 11:00", "unknown", 3],
    ["17/10/2019 11:00", "Email", 99],
]

CHANNELS = ["Bird", "Call", "Email"]
CUSTOMER_1 = {"Bird": 0, "Call": 2, "Email": 1}
NO_INTERACTIONS = {"Bird": 0, "Call": 0, "Email": 0}
STATISTICS = {
    "total": 6,
    "per_channel": {"Bird": 1, "Call": 2, "Email": 3},
    "per_customer_type": [
        {"customer_type": "Business", "interactions": 3},
        {"customer_type": "Individual", "interactions": 2},
        {"customer_type": None, "interactions": 1},
    ],
    "per_month": [
        {"month": "2019-10", "interactions": 3},
        {"month": "2019-11", "interactions": 2},
        {"month": "2019-12", "interactions": 1},
    ],
    "per_topic": [
        {"topic": "Credit card", "interactions": 2},
        {"topic": "Mortgage", "interactions": 3},
        {"topic": None, "interactions": 1},
    ],
}
QUARANTINED = {
    ("customers", "blank_row"): 1,
    ("customers", "duplicate"): 1,
    ("interactions", "duplicate"): 1,
    ("interactions", "channel_unknown"): 2,
    ("interactions", "customer_unknown"): 1,
    ("interactions", "blank_row"): 1,
    ("interactions", "date_start_invalid"): 1,
}


def write_fixture(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "customer.csv").write_text(CUSTOMERS_CSV, encoding="utf-8")
    (folder / "product.csv").write_text(PRODUCTS_CSV, encoding="utf-8")
    (folder / "interactions.csv").write_text(INTERACTIONS_CSV, encoding="utf-8")
    with xlsxwriter.Workbook(str(folder / "interactions_export.xlsx")) as book:
        sheet = book.add_worksheet()
        sheet.write_string(0, 0, "Customer interactions")
        sheet.write_string(1, 0, "exported from the CRM")
        sheet.write_row(3, 0, ["Date Start", "Interaction", "Customers"])
        for r, row in enumerate(INTERACTIONS_XLSX, start=4):
            sheet.write_row(r, 0, row)
    return folder


def materialize_crm(data_dir: Path, out_dir: Path, database_url: str = "") -> dg.ExecuteInProcessResult:
    """Every crm asset and check on ``data_dir``, warehouse and snapshots under ``out_dir``."""
    return dg.materialize(
        [*ALL_ASSETS, *CHECKS],
        resources={
            "io_manager": LocalWarehouseIOManager(database=str(out_dir / "warehouse.duckdb")),
            "lake_io_manager": LakeIOManager(root=str(out_dir / "lake")),
            "lake": LakeResource(root=str(out_dir / "lake")),
            "inputs": CaseInputs(root=str(data_dir.parent), overrides={"crm": str(data_dir)}),
            "crm_serving": CrmServing(database_url=database_url, out_root=str(out_dir)),
        },
        instance=dg.DagsterInstance.ephemeral(),
    )
