"""E-mail through an SMTP relay (STARTTLS, implicit TLS or plain on a trusted network).

Used for partner notices and data-team alerts by any case. Settings come from
``Settings.delivery.smtp`` (``CASEWORKS_SMTP_*``); user and password are ``EnvVar``. When no
host is configured the message goes to the outbox instead and the caller is
told so; an unreachable or rejecting server raises :class:`SMTPDeliveryError`
whose message names the server and the next step.
"""

from __future__ import annotations

import mimetypes
import smtplib
import socket
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

import tenacity
from dagster import ConfigurableResource
from pydantic import Field

from caseworks_assets.resources.delivery.env import secret
from caseworks_assets.settings import SMTP_PASSWORD_ENV, SMTP_USER_ENV, Settings

Security = Literal["starttls", "ssl", "none"]


class SMTPDeliveryError(RuntimeError):
    """The message could not be handed to the SMTP server."""


def _retryable(error: BaseException) -> bool:
    """Connection trouble is worth another attempt; a certificate or protocol refusal is not."""
    return isinstance(error, OSError | smtplib.SMTPServerDisconnected) and not isinstance(error, ssl.SSLError)


def split_addresses(value: str | None) -> list[str]:
    """``"a@x, b@y;c@z"`` -> ``["a@x", "b@y", "c@z"]``."""
    return [part.strip() for part in (value or "").replace(";", ",").split(",") if part.strip()]


class SMTPResource(ConfigurableResource):
    """An SMTP relay plus the two recipient lists the cases use."""

    host: str = Field(default="", description="SMTP server; empty means 'not configured' (outbox).")
    port: int = 587
    user: str = ""
    password: str = ""
    sender: str = "caseworks@localhost"
    security: Security = Field(default="starttls", description="starttls, ssl (implicit TLS) or none.")
    partner_emails: str = Field(default="", description="Comma-separated partner recipients.")
    alert_emails: str = Field(default="", description="Comma-separated data-team recipients for alerts.")
    ca_file: str = Field(default="", description="CA bundle for a relay with a private certificate (else system CAs).")
    timeout_seconds: float = 10.0
    max_attempts: int = 3
    retry_wait_seconds: float = 1.0

    @property
    def is_configured(self) -> bool:
        return bool(self.host)

    @property
    def partners(self) -> list[str]:
        return split_addresses(self.partner_emails)

    @property
    def alerts(self) -> list[str]:
        return split_addresses(self.alert_emails)

    def where(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def build_message(
        self, to: list[str], subject: str, body: str, attachments: list[Path] | None = None
    ) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message.set_content(body)
        for path in attachments or []:
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            maintype, subtype = kind.split("/", 1)
            message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
        return message

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file or None)

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout_seconds, context=self._tls()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds)
            if self.security == "starttls":
                client.starttls(context=self._tls())
        if self.user:
            client.login(self.user, self.password)
        return client

    def send(self, to: list[str], subject: str, body: str, attachments: list[Path] | None = None) -> str:
        """Send one message; returns the message id. Retries connection failures a few times."""
        if not to:
            raise SMTPDeliveryError(f"no recipients for {subject!r}: set the recipient list in the environment")
        message = self.build_message(to, subject, body, attachments)

        @tenacity.retry(
            retry=tenacity.retry_if_exception(_retryable),
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=tenacity.wait_exponential(multiplier=self.retry_wait_seconds, max=30),
            reraise=True,
        )
        def _send() -> None:
            with self._connect() as client:
                client.send_message(message)

        try:
            _send()
        except (OSError, smtplib.SMTPException) as error:
            reason = error.__class__.__name__ if isinstance(error, socket.timeout) else str(error) or repr(error)
            raise SMTPDeliveryError(
                f"could not send e-mail {subject!r} through {self.where()} after {self.max_attempts} attempts: "
                f"{reason}. Next step: check that the SMTP server is up and CASEWORKS_SMTP_* settings are right."
            ) from error
        return message.get("Message-ID", "") or subject

    @classmethod
    def from_settings(cls, settings: Settings) -> SMTPResource:
        """The relay of ``settings.delivery.smtp`` (user and password as ``EnvVar``); the outbox when no host is set."""
        smtp = settings.delivery.smtp
        recipients = {"partner_emails": smtp.partner_emails or "", "alert_emails": smtp.alert_emails or ""}
        if not smtp.host:
            return cls(**recipients)
        return cls(
            host=smtp.host,
            port=smtp.port,
            user=secret(settings, SMTP_USER_ENV),
            password=secret(settings, SMTP_PASSWORD_ENV),
            sender=smtp.sender,
            security=smtp.security,
            ca_file=smtp.ca_file or "",
            **recipients,
        )
