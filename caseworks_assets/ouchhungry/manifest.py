"""The delivery manifest: one record per file per channel, the memory that prevents double delivery.

Each record is a small JSON file under ``<lake>/ouchhungry/delivery_records/``
named by (kind, partition, channel, file, content hash, destination), written
the moment its channel succeeds. Before sending, a channel looks its record up:
found means already delivered, so it is skipped. A record per file (rather
than one shared table) means concurrent daily and monthly runs never race on a
read-modify-write. The ``delivery_manifest`` asset publishes every record as a
warehouse table.
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from caseworks_assets.governance.classification import governance_metadata
from caseworks_assets.ouchhungry import columns
from caseworks_assets.ouchhungry.partitions import CASE
from caseworks_assets.resources import WAREHOUSE_KIND, WAREHOUSE_POOL, LakeResource
from caseworks_assets.resources.delivery.outbox import safe_name
from caseworks_assets.resources.staging import staged_path

RECORDS = (CASE, "delivery_records")
DELIVERED = ("delivered", "outbox")


@dataclass(frozen=True)
class DeliveryRecord:
    kind: str
    partition: str
    channel: str
    destination: str
    file_name: str
    sha256: str
    size_bytes: int
    status: str
    delivered_at: str
    detail: str = ""


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class DeliveryManifest:
    """Record and look up deliveries in the lake."""

    def __init__(self, lake: LakeResource) -> None:
        self.lake = lake

    @staticmethod
    def _name(channel: str, file_name: str, sha256: str, destination: str) -> str:
        target = hashlib.sha256(destination.encode()).hexdigest()[:10]
        return safe_name(f"{channel}__{file_name}__{sha256[:16]}__{target}") + ".json"

    def _parts(self, kind: str, partition: str, name: str) -> tuple[str, ...]:
        return (*RECORDS, kind, partition, name)

    def find(
        self, kind: str, partition: str, channel: str, file_name: str, sha256: str, destination: str
    ) -> DeliveryRecord | None:
        """The successful delivery of exactly this content to this destination, if any."""
        path = self.lake.path(*self._parts(kind, partition, self._name(channel, file_name, sha256, destination)))
        if not path.exists():
            return None
        return DeliveryRecord(**json.loads(path.read_text()))

    def record(self, record: DeliveryRecord, destination_key: str) -> None:
        """Persist ``record``; failures get a unique name so they never count as deliveries."""
        if record.status in DELIVERED:
            name = self._name(record.channel, record.file_name, record.sha256, destination_key)
        else:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            name = safe_name(f"failed__{record.channel}__{record.file_name}__{stamp}") + ".json"
        path = self.lake.path(*self._parts(record.kind, record.partition, name))
        with staged_path(path) as staging:
            staging.write_text(json.dumps(asdict(record), ensure_ascii=False))

    def is_delivered(self, kind: str, partition: str) -> bool:
        """True when the partner notice of ``partition`` went out (sent only after every data channel)."""
        folder = self.lake.path(*RECORDS, kind, partition)
        return folder.exists() and any(path.name.startswith("email__") for path in folder.iterdir())

    def records(self) -> pl.DataFrame:
        root = self.lake.path(*RECORDS)
        rows = [json.loads(path.read_text()) for path in root.rglob("*.json")] if root.exists() else []
        schema = {c.name: (pl.Int64 if c.dtype == "Int64" else pl.String) for c in columns.DELIVERIES}
        return pl.DataFrame(rows, schema=schema).sort("delivered_at", "kind", "partition", "channel", "file_name")


@dg.asset(
    key_prefix=[CASE],
    group_name=CASE,
    deps=[dg.AssetKey([CASE, "daily_delivery"]), dg.AssetKey([CASE, "monthly_delivery"])],
    pool=WAREHOUSE_POOL,
    kinds={"polars", WAREHOUSE_KIND},
    metadata=governance_metadata(columns.DELIVERIES),
    automation_condition=dg.AutomationCondition.eager(),
)
def delivery_manifest(lake: LakeResource) -> dg.Output:
    """Every delivery attempt (what, where, when, checksum, outcome) as a warehouse table."""
    records = DeliveryManifest(lake).records()
    counts = records.group_by("status").len().to_dicts() if records.height else []
    return dg.Output(
        records,
        metadata={
            "rows": records.height,
            "by_status": dg.MetadataValue.json({row["status"]: row["len"] for row in counts}),
        },
    )
