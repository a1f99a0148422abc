"""Delivery of each partition: files to the partner's SFTP, the same data to their API, then a notice e-mail.

Channels are independent: a failing channel is recorded and reported, the
others still deliver, and the asset fails at the end (so the failure alert
fires) naming every failed channel. The partner notice goes out only once
every data channel has the content. Each step consults the manifest first, so
re-running a delivered partition sends nothing again. A channel that is not
configured delivers into the local outbox and the run log says so.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from caseworks_assets.governance.classification import governance_metadata
from caseworks_assets.ouchhungry import columns
from caseworks_assets.ouchhungry.manifest import DeliveryManifest, DeliveryRecord, now_utc
from caseworks_assets.ouchhungry.partitions import CASE, TIMEZONE, daily_partitions, monthly_partitions
from caseworks_assets.quality import markdown_table
from caseworks_assets.resources import CaseOutputs, LakeResource
from caseworks_assets.resources.delivery import (
    OutboxResource,
    PartnerAPIError,
    PartnerAPIResource,
    SFTPDeliveryError,
    SFTPResource,
    SMTPDeliveryError,
    SMTPResource,
)
from caseworks_assets.resources.staging import staged_path

DATA_CHANNELS = ("sftp", "api")
ENV_HINT = {
    "sftp": "CASEWORKS_SFTP_HOST",
    "api": "CASEWORKS_PARTNER_API_URL",
    "email": "CASEWORKS_SMTP_HOST",
}


@dataclass(frozen=True)
class DeliveryFile:
    dataset: str
    name: str
    path: Path
    sha256: str
    size_bytes: int
    rows: int


def write_delivery_file(frame: pl.DataFrame, folder: Path, dataset: str, label: str) -> DeliveryFile:
    """The frame as a CSV named ``ouchhungry_<dataset>_<label>.csv``; identical data gives identical bytes."""
    name = f"{CASE}_{dataset}_{label}.csv"
    path = folder / name
    with staged_path(path) as staging:
        frame.write_csv(staging)
    content = path.read_bytes()
    return DeliveryFile(dataset, name, path, hashlib.sha256(content).hexdigest(), len(content), frame.height)


@dataclass
class ChannelFailure:
    channel: str
    stage: str  # connection | delivery
    message: str


@dataclass
class DeliveryReport:
    rows: list[dict[str, Any]] = field(default_factory=list)
    failures: list[ChannelFailure] = field(default_factory=list)
    unconfigured: list[str] = field(default_factory=list)

    def table(self) -> pl.DataFrame:
        return pl.DataFrame(
            self.rows, schema={k: pl.String for k in ("channel", "file_name", "status", "destination", "detail")}
        )


@dataclass
class Channels:
    sftp: SFTPResource
    api: PartnerAPIResource
    smtp: SMTPResource
    outbox: OutboxResource
    manifest: DeliveryManifest
    log: Any


def _payload(file: DeliveryFile) -> dict[str, Any]:
    """The file's rows as JSON records (numbers typed), so the API carries exactly the file's data."""
    frame = pl.read_csv(file.path)
    return {"file_name": file.name, "rows": json.loads(frame.write_json()), "row_count": file.rows}


def _send_data(channel: str, file: DeliveryFile, kind: str, partition: str, ch: Channels) -> tuple[str, str]:
    """Deliver one file on one channel; returns (status, detail)."""
    if channel == "sftp":
        if not ch.sftp.is_configured:
            return "outbox", str(ch.outbox.put_file("sftp", file.path, file.name))
        remote = ch.sftp.upload(file.path, file.name)
        return "delivered", f"{remote.path} ({remote.size} bytes, verified)"
    if not ch.api.is_configured:
        body = {"dataset": file.dataset, "partition": partition, "sha256": file.sha256, **_payload(file)}
        return "outbox", str(ch.outbox.put_json("api", f"{file.name}.json", body))
    answer = ch.api.deliver(f"{CASE}_{file.dataset}", partition, file.sha256, _payload(file))
    return "delivered", json.dumps(answer, sort_keys=True, default=str)


def _destination(channel: str, ch: Channels) -> str:
    if channel == "sftp":
        return ch.sftp.where() if ch.sftp.is_configured else f"outbox:{ch.outbox.folder('sftp')}"
    if channel == "api":
        return ch.api.where() if ch.api.is_configured else f"outbox:{ch.outbox.folder('api')}"
    if ch.smtp.is_configured:
        return f"{ch.smtp.where()} to {', '.join(ch.smtp.partners)}"
    return f"outbox:{ch.outbox.folder('email')}"


def _notice(kind: str, label: str, files: list[DeliveryFile], report: DeliveryReport) -> tuple[str, str]:
    where = {row["channel"]: row["destination"] for row in report.rows}
    lines = [
        "Hello OuchHungry team,",
        "",
        f"the {kind} data product for {label} has been delivered:",
        "",
        *[f"- {f.name}: {f.rows} rows, {f.size_bytes} bytes, sha256 {f.sha256}" for f in files],
        "",
        f"SFTP: {where.get('sftp', '-')}",
        f"API: {where.get('api', '-')}",
        "",
        "Each file's sha256 lets you verify what you received. Questions: reply to this e-mail.",
        "-- caseworks data team",
    ]
    return f"[OuchHungry] {kind} data {label} delivered", "\n".join(lines)


def _record_file(
    ch: Channels,
    kind: str,
    partition: str,
    channel: str,
    destination: str,
    file: DeliveryFile,
    status: str,
    detail: str,
) -> None:
    """Write the manifest record of one file on one channel (detail cut to 500 characters)."""
    record = DeliveryRecord(
        kind, partition, channel, destination, file.name, file.sha256, file.size_bytes, status, now_utc(), detail[:500]
    )
    ch.manifest.record(record, destination)


def deliver(kind: str, partition: str, label: str, files: list[DeliveryFile], ch: Channels) -> DeliveryReport:
    """Run every channel for ``files``; see the module docstring for the rules."""
    report = DeliveryReport()
    for channel in DATA_CHANNELS:
        configured = ch.sftp.is_configured if channel == "sftp" else ch.api.is_configured
        if not configured:
            report.unconfigured.append(channel)
            ch.log.warning(f"{channel}: not configured ({ENV_HINT[channel]} unset) -- delivering to the local outbox")
        destination = _destination(channel, ch)
        for file in files:
            row = {"channel": channel, "file_name": file.name, "destination": destination}
            if ch.manifest.find(kind, partition, channel, file.name, file.sha256, destination):
                report.rows.append({**row, "status": "skipped", "detail": "already delivered (manifest)"})
                ch.log.info(f"{channel}: {file.name} already delivered to {destination}; skipped")
                continue
            try:
                status, detail = _send_data(channel, file, kind, partition, ch)
            except (SFTPDeliveryError, PartnerAPIError, OSError) as error:
                stage = (
                    "connection" if getattr(error, "kind", "connection") in ("connection", "host_key") else "delivery"
                )
                report.failures.append(ChannelFailure(channel, stage, f"{channel} {file.name}: {error}"))
                report.rows.append({**row, "status": "failed", "detail": str(error)})
                _record_file(ch, kind, partition, channel, destination, file, "failed", str(error))
                break
            _record_file(ch, kind, partition, channel, destination, file, status, detail)
            report.rows.append({**row, "status": status, "detail": detail[:200]})
    if report.failures:
        return report

    combined = hashlib.sha256("".join(f.sha256 for f in files).encode()).hexdigest()
    destination = _destination("email", ch)
    row = {"channel": "email", "file_name": "notice", "destination": destination}
    if ch.manifest.find(kind, partition, "email", "notice", combined, destination):
        report.rows.append({**row, "status": "skipped", "detail": "notice already sent (manifest)"})
        return report
    subject, body = _notice(kind, label, files, report)
    try:
        if ch.smtp.is_configured:
            status, detail = "delivered", ch.smtp.send(ch.smtp.partners, subject, body)
        else:
            report.unconfigured.append("email")
            ch.log.warning("email: not configured (CASEWORKS_SMTP_HOST unset) -- notice written to the local outbox")
            status, detail = "outbox", str(ch.outbox.put_email(ch.smtp.partners or ["partner"], subject, body))
    except SMTPDeliveryError as error:
        report.failures.append(ChannelFailure("email", "connection", f"email notice: {error}"))
        report.rows.append({**row, "status": "failed", "detail": str(error)})
        return report
    ch.manifest.record(
        DeliveryRecord(kind, partition, "email", destination, "notice", combined, 0, status, now_utc(), detail),
        destination,
    )
    report.rows.append({**row, "status": status, "detail": detail})
    return report


def finish(report: DeliveryReport, files: list[DeliveryFile], where: str) -> dg.MaterializeResult:
    """Metadata of a successful delivery, or a Failure naming every failed channel and the next step."""
    if report.failures:
        stage = "connection" if any(f.stage == "connection" for f in report.failures) else "delivery"
        raise dg.Failure(
            description="delivery failed: " + "; ".join(f.message for f in report.failures),
            metadata={
                "alert_stage": stage,
                "where": where,
                "failed_channels": ", ".join(f.channel for f in report.failures),
                "next_step": "fix the failing channel (see message), then re-run the partition: channels that "
                "already delivered are skipped by the manifest.",
                "deliveries": dg.MetadataValue.md(markdown_table(report.table())),
            },
        )
    return dg.MaterializeResult(
        metadata={
            "files": dg.MetadataValue.json([{"name": f.name, "rows": f.rows, "sha256": f.sha256} for f in files]),
            "deliveries": dg.MetadataValue.md(markdown_table(report.table())),
            "sent": sum(row["status"] in ("delivered", "outbox") for row in report.rows),
            "skipped": sum(row["status"] == "skipped" for row in report.rows),
            "channels_not_configured": ", ".join(report.unconfigured) or "none",
        }
    )


def _channels(context, lake, sftp, partner_api, smtp, outbox) -> Channels:
    return Channels(sftp, partner_api, smtp, outbox, DeliveryManifest(lake), context.log)


def _deliver_partition(
    context: dg.AssetExecutionContext,
    kind: str,
    label: str,
    frames: dict[str, pl.DataFrame],
    outputs: CaseOutputs,
    channels: Channels,
) -> dg.MaterializeResult:
    """Write each ``{dataset: frame}`` under ``deliveries/<kind>/<label>/`` and deliver them on every channel."""
    folder = outputs.dir_for(CASE) / "deliveries" / kind / label
    files = [write_delivery_file(frame, folder, dataset, label) for dataset, frame in frames.items()]
    report = deliver(kind, context.partition_key, label, files, channels)
    return finish(report, files, f"{kind} partition {label}")


_RESOURCE_DOC = "Resources: sftp, partner_api, smtp, outbox (the fallback), lake (manifest), outputs (files)."


@dg.asset(
    key_prefix=[CASE],
    group_name=CASE,
    partitions_def=daily_partitions,
    ins={"daily_sales": dg.AssetIn(key=[CASE, "daily_sales"])},
    kinds={"python"},
    metadata=governance_metadata(columns.DELIVERIES),
    description="Delivers the day's sales to the partner (SFTP, API, notice e-mail). " + _RESOURCE_DOC,
    # the partner expects the previous day by 09:00 Sao Paulo: the 06:00 schedule plus three hours of slack
    freshness_policy=dg.FreshnessPolicy.cron(
        deadline_cron="0 9 * * *", lower_bound_delta=timedelta(hours=3), timezone=TIMEZONE
    ),
)
def daily_delivery(
    context: dg.AssetExecutionContext,
    daily_sales: pl.DataFrame,
    outputs: CaseOutputs,
    lake: LakeResource,
    sftp: SFTPResource,
    partner_api: PartnerAPIResource,
    smtp: SMTPResource,
    outbox: OutboxResource,
) -> dg.MaterializeResult:
    channels = _channels(context, lake, sftp, partner_api, smtp, outbox)
    label = context.partition_key
    return _deliver_partition(context, "daily", label, {"daily_sales": daily_sales}, outputs, channels)


@dg.asset(
    key_prefix=[CASE],
    group_name=CASE,
    partitions_def=monthly_partitions,
    ins={
        "monthly_city_sales": dg.AssetIn(key=[CASE, "monthly_city_sales"]),
        "monthly_insights": dg.AssetIn(key=[CASE, "monthly_insights"]),
    },
    kinds={"python"},
    metadata=governance_metadata(columns.DELIVERIES),
    description="Delivers the month's city table and insights to the partner. " + _RESOURCE_DOC,
    # the previous month is due by 12:00 on the 1st (scheduled at 06:00)
    freshness_policy=dg.FreshnessPolicy.cron(
        deadline_cron="0 12 1 * *", lower_bound_delta=timedelta(hours=6), timezone=TIMEZONE
    ),
)
def monthly_delivery(
    context: dg.AssetExecutionContext,
    monthly_city_sales: pl.DataFrame,
    monthly_insights: pl.DataFrame,
    outputs: CaseOutputs,
    lake: LakeResource,
    sftp: SFTPResource,
    partner_api: PartnerAPIResource,
    smtp: SMTPResource,
    outbox: OutboxResource,
) -> dg.MaterializeResult:
    channels = _channels(context, lake, sftp, partner_api, smtp, outbox)
    frames = {"monthly_city_sales": monthly_city_sales, "monthly_insights": monthly_insights}
    return _deliver_partition(context, "monthly", context.partition_key[:7], frames, outputs, channels)
