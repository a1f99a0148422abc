"""The privacy resource: pseudonym key and encryption key ring, secrets named as ``EnvVar``.

* ``CASEWORKS_PSEUDONYM_KEY`` -- secret for keyed pseudonyms (any long random string).
* ``CASEWORKS_ENCRYPTION_KEYS`` -- ``"k2:<base64 32 bytes>,k1:<base64 32 bytes>"``,
  first = active key; older keys stay listed until rotation has re-encrypted
  everything they sealed.

With ``CASEWORKS_ENV=local`` and no keys configured, a clearly labelled demo key
(public, in this file) is used and a warning is logged on every run; in prod the
resource reads ``EnvVar``s and a run without them fails before touching data.
Whether keys are configured is decided from :class:`~caseworks_assets.settings.Settings`
(which secrets are set); only the key commands read the ring's value, through
:func:`~caseworks_assets.settings.secret_value`.
"""

from __future__ import annotations

import base64
import hashlib
import warnings

import dagster as dg
import polars as pl

from caseworks_assets.governance.encryption import KeyRing, KeyRingError
from caseworks_assets.governance.pseudonymize import Pseudonymizer, pseudonymize_series
from caseworks_assets.settings import ENCRYPTION_KEYS_ENV, PSEUDONYM_KEY_ENV, Settings, secret_value

#: Public demo keys, for a laptop demo only: anything sealed with them is NOT protected.
DEMO_PSEUDONYM_KEY = "caseworks-DEMO-pseudonym-key-not-secret"
DEMO_ENCRYPTION_KEYS = "demo:" + base64.b64encode(hashlib.sha256(b"caseworks DEMO key, not secret").digest()).decode()
DEMO_WARNING = (
    f"{PSEUDONYM_KEY_ENV}/{ENCRYPTION_KEYS_ENV} are not set: using the public DEMO keys "
    "(CASEWORKS_ENV=local only). Data sealed with them is not protected."
)


class PrivacyResource(dg.ConfigurableResource):
    """Pseudonymization and encryption keys for governed outputs."""

    pseudonym_key: str
    encryption_keys: str
    demo: bool = False

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if self.demo and context.log is not None:
            context.log.warning(DEMO_WARNING)
        self.keyring()  # fail fast on a malformed ring, before any data is read

    def keyring(self) -> KeyRing:
        return KeyRing.parse(self.encryption_keys)

    def pseudonymize(self, values: pl.Series) -> pl.Series:
        return pseudonymize_series(values, self.pseudonym_key.encode())

    def pseudonymizer(self) -> Pseudonymizer:
        """A caching pseudonymizer, for many batches of the same identifiers."""
        return Pseudonymizer(self.pseudonym_key.encode())


def _is_local(settings: Settings | None) -> bool:
    return (settings or Settings.from_env()).env == "local"


def keyring_from_env(settings: Settings | None = None) -> KeyRing:
    """The configured key ring (the demo ring only for ``CASEWORKS_ENV=local`` without keys)."""
    spec = secret_value(ENCRYPTION_KEYS_ENV)
    if spec:
        return KeyRing.parse(spec)
    if not _is_local(settings):
        raise KeyRingError(f"{ENCRYPTION_KEYS_ENV} is required when CASEWORKS_ENV=prod")
    warnings.warn(DEMO_WARNING, stacklevel=2)
    return KeyRing.parse(DEMO_ENCRYPTION_KEYS)


def check_key_settings(settings: Settings | None = None) -> None:
    """Raise :class:`KeyRingError` (one line, naming the variable) if the key variables are half set or malformed.

    Called before a run starts, so a bad key ends the command with that line
    instead of a failed run whose reason is buried in a resource's error.
    """
    pseudonym = secret_value(PSEUDONYM_KEY_ENV)
    ring = secret_value(ENCRYPTION_KEYS_ENV)
    if bool(pseudonym) != bool(ring):
        given, missing = (
            (PSEUDONYM_KEY_ENV, ENCRYPTION_KEYS_ENV) if pseudonym else (ENCRYPTION_KEYS_ENV, PSEUDONYM_KEY_ENV)
        )
        raise KeyRingError(
            f"{given} is set but {missing} is not: set both (or, locally, neither to use the public demo keys)"
        )
    if not pseudonym and not _is_local(settings):
        raise KeyRingError(f"{ENCRYPTION_KEYS_ENV} is required when CASEWORKS_ENV=prod, and so is {PSEUDONYM_KEY_ENV}")
    if ring:
        try:
            KeyRing.parse(ring)
        except KeyRingError as error:
            raise KeyRingError(f"{ENCRYPTION_KEYS_ENV}: {error}") from error


def privacy_resource(settings: Settings | None = None) -> PrivacyResource:
    """``EnvVar``-backed keys; the demo keys only when ``settings`` record them unset and ``CASEWORKS_ENV=local``."""
    settings = settings or Settings.from_env()
    configured = settings.has_secret(PSEUDONYM_KEY_ENV) or settings.has_secret(ENCRYPTION_KEYS_ENV)
    if configured or settings.env != "local":
        return PrivacyResource(
            pseudonym_key=dg.EnvVar(PSEUDONYM_KEY_ENV), encryption_keys=dg.EnvVar(ENCRYPTION_KEYS_ENV)
        )
    # No import-time warning: setup_for_execution logs DEMO_WARNING in every run that uses it.
    return PrivacyResource(pseudonym_key=DEMO_PSEUDONYM_KEY, encryption_keys=DEMO_ENCRYPTION_KEYS, demo=True)
