"""A local outbox: where deliveries go when their channel is not configured.

The demo and a laptop have no partner SFTP server, API or SMTP relay. Instead of
failing or silently skipping, every channel writes what it would have sent into
``<root>/<channel>/`` so a reviewer can open it, and the run says so.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource

from caseworks_assets.resources.staging import staged_path

_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def safe_name(name: str) -> str:
    """A file name without path separators or shell-hostile characters."""
    return _UNSAFE.sub("_", name).strip("._") or "item"


class OutboxResource(ConfigurableResource):
    """Folder standing in for unconfigured delivery channels (``CASEWORKS_OUTBOX_DIR``)."""

    root: str

    def folder(self, channel: str) -> Path:
        folder = Path(self.root) / safe_name(channel)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def put_file(self, channel: str, source: Path, name: str | None = None) -> Path:
        """Copy ``source`` into the channel's folder (to a temporary name, then rename)."""
        target = self.folder(channel) / safe_name(name or source.name)
        with staged_path(target, suffix=".part") as staging:
            shutil.copyfile(source, staging)
        return target

    def put_json(self, channel: str, name: str, payload: Any) -> Path:
        target = self.folder(channel) / safe_name(name)
        with staged_path(target, suffix=".part") as staging:
            staging.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        return target

    def put_email(self, to: list[str], subject: str, body: str, attachments: list[Path] | None = None) -> Path:
        """Write an e-mail as a text file named by time and subject."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        names = ", ".join(path.name for path in attachments or [])
        text = f"To: {', '.join(to)}\nSubject: {subject}\nAttachments: {names}\n\n{body}\n"
        target = self.folder("email") / safe_name(f"{stamp}_{subject[:60]}.txt")
        target.write_text(text, encoding="utf-8")
        return target
