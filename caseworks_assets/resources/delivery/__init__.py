"""Delivery channels any case can use: SFTP, a partner REST API, SMTP e-mail, a local outbox; data-team alerts.

Each resource is a ``ConfigurableResource`` built from the process's
:class:`~caseworks_assets.settings.Settings` through ``from_settings()`` (secrets as
``EnvVar``). A channel whose host or URL is unset is "not configured": callers
then write to the :class:`OutboxResource` and say so.
"""

from caseworks_assets.resources.delivery.alerts import send_alert_mail
from caseworks_assets.resources.delivery.outbox import OutboxResource
from caseworks_assets.resources.delivery.partner_api import PartnerAPIError, PartnerAPIResource
from caseworks_assets.resources.delivery.sftp import RemoteFile, SFTPDeliveryError, SFTPResource
from caseworks_assets.resources.delivery.smtp import SMTPDeliveryError, SMTPResource, split_addresses

__all__ = [
    "OutboxResource",
    "PartnerAPIError",
    "PartnerAPIResource",
    "RemoteFile",
    "SFTPDeliveryError",
    "SFTPResource",
    "SMTPDeliveryError",
    "SMTPResource",
    "send_alert_mail",
    "split_addresses",
]
