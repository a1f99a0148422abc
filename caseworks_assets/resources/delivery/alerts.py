"""Alerts to the data team, for any case: an e-mail through SMTP, or the outbox when SMTP is not configured."""

from __future__ import annotations

from caseworks_assets.resources.delivery.outbox import OutboxResource
from caseworks_assets.resources.delivery.smtp import SMTPDeliveryError, SMTPResource


def send_alert_mail(subject: str, body: str, smtp: SMTPResource, outbox: OutboxResource) -> str:
    """E-mail ``CASEWORKS_ALERT_EMAILS``; without SMTP the alert lands in the outbox. Returns where it went.

    If the SMTP server cannot take the alert, it is kept in the outbox and the
    error is raised, so the sensor tick fails visibly and the alert is not lost.
    """
    if not smtp.is_configured:
        return f"outbox:{outbox.put_email(smtp.alerts or ['data-team'], subject, body)}"
    try:
        smtp.send(smtp.alerts, subject, body)
    except SMTPDeliveryError as error:
        kept = outbox.put_email(smtp.alerts or ["data-team"], subject, body)
        raise SMTPDeliveryError(f"{error} The alert was kept in {kept}.") from error
    return f"{smtp.where()} to {', '.join(smtp.alerts)}"
