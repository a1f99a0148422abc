"""SFTP uploads with key-based auth, a pinned host key, atomic rename and a size check.

The server's host key must be in ``known_hosts`` (``CASEWORKS_SFTP_KNOWN_HOSTS``):
an unknown or changed key is refused at once, never retried and never learned.
A file is written to ``.<name>.part`` and renamed into place only after its
remote size matches the local one, so the partner never sees half a file.
Connection failures (refused, timeout, reset) are retried with exponential
backoff; authentication and host-key failures are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import tenacity
from dagster import ConfigurableResource
from pydantic import Field

from caseworks_assets.resources.delivery.env import secret
from caseworks_assets.settings import SFTP_PRIVATE_KEY_ENV, Settings

if TYPE_CHECKING:
    import paramiko

# paramiko (and the libsodium it loads, a fifth of a second) is imported where a transfer happens,
# not by every run that only loads the definitions


class SFTPDeliveryError(RuntimeError):
    """An upload failed; ``kind`` is ``connection``, ``host_key``, ``auth`` or ``verification``."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int


def _retryable(error: BaseException) -> bool:
    import paramiko

    if isinstance(error, paramiko.BadHostKeyException | paramiko.AuthenticationException):
        return False
    if isinstance(error, paramiko.SSHException) and "known_hosts" in str(error):
        return False
    return isinstance(error, OSError | EOFError | paramiko.SSHException)


class SFTPResource(ConfigurableResource):
    """The partner's SFTP drop (``CASEWORKS_SFTP_*``)."""

    host: str = Field(default="", description="SFTP host; empty means 'not configured' (outbox).")
    port: int = 22
    user: str = ""
    private_key: str = Field(default="", description="Path of the private key file (ed25519 or RSA).")
    known_hosts: str = Field(default="", description="Path of the known_hosts file pinning the server key.")
    remote_dir: str = "."
    timeout_seconds: float = 10.0
    max_attempts: int = 4
    retry_wait_seconds: float = 1.0
    retry_max_seconds: float = 120.0

    @property
    def is_configured(self) -> bool:
        return bool(self.host)

    def where(self) -> str:
        return f"sftp://{self.user}@{self.host}:{self.port}{PurePosixPath('/') / self.remote_dir}"

    def _client(self) -> paramiko.SSHClient:
        import paramiko

        client = paramiko.SSHClient()
        if not self.known_hosts or not Path(self.known_hosts).is_file():
            raise SFTPDeliveryError(
                f"known_hosts file {self.known_hosts!r} not found: the server key must be pinned "
                "(CASEWORKS_SFTP_KNOWN_HOSTS)",
                "host_key",
            )
        client.load_host_keys(self.known_hosts)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(
            self.host,
            port=self.port,
            username=self.user,
            key_filename=self.private_key or None,
            timeout=self.timeout_seconds,
            banner_timeout=self.timeout_seconds,
            auth_timeout=self.timeout_seconds,
            look_for_keys=False,
            allow_agent=False,
        )
        return client

    def _upload_once(self, local: Path, name: str) -> RemoteFile:
        size = local.stat().st_size
        remote_dir = PurePosixPath(self.remote_dir)
        final = str(remote_dir / name)
        staging = str(remote_dir / f".{name}.part")
        with self._client() as client, client.open_sftp() as sftp:
            sftp.put(str(local), staging, confirm=False)
            remote_size = sftp.stat(staging).st_size
            if remote_size != size:
                sftp.remove(staging)
                raise SFTPDeliveryError(
                    f"{self.where()}/{name}: remote size {remote_size} != local size {size}; upload discarded",
                    "verification",
                )
            sftp.posix_rename(staging, final)
            return RemoteFile(path=final, size=int(sftp.stat(final).st_size or 0))

    def upload(self, local: Path, name: str | None = None) -> RemoteFile:
        """Upload ``local`` as ``remote_dir/name`` atomically; retries connection failures only."""
        import paramiko

        name = name or local.name
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_retryable),
            stop=tenacity.stop_after_attempt(self.max_attempts) | tenacity.stop_after_delay(self.retry_max_seconds),
            wait=tenacity.wait_exponential(multiplier=self.retry_wait_seconds, max=60),
            reraise=True,
        )
        try:
            return retrying(self._upload_once, local, name)
        except SFTPDeliveryError:
            raise
        except paramiko.BadHostKeyException as error:
            raise SFTPDeliveryError(
                f"{self.where()}: host key CHANGED (got {error.key.get_name()} {error.key.get_fingerprint().hex()}); "
                "connection refused. Next step: confirm the new key with the partner out of band, then update "
                "CASEWORKS_SFTP_KNOWN_HOSTS.",
                "host_key",
            ) from error
        except paramiko.AuthenticationException as error:
            raise SFTPDeliveryError(
                f"{self.where()}: authentication failed ({error}). Next step: check CASEWORKS_SFTP_USER and that "
                "the public key of CASEWORKS_SFTP_PRIVATE_KEY is authorized on the server.",
                "auth",
            ) from error
        except paramiko.SSHException as error:
            kind = "host_key" if "known_hosts" in str(error) else "connection"
            raise SFTPDeliveryError(f"{self.where()}: {error}", kind) from error
        except (TimeoutError, OSError, EOFError) as error:
            raise SFTPDeliveryError(
                f"{self.where()}: unreachable after {retrying.statistics.get('attempt_number', 1)} attempts "
                f"({error.__class__.__name__}: {error}). Next step: check the server is up and reachable, then "
                "re-run the partition.",
                "connection",
            ) from error

    @classmethod
    def from_settings(cls, settings: Settings) -> SFTPResource:
        """The server of ``settings.delivery.sftp`` (the key file as ``EnvVar``); the outbox when no host is set."""
        sftp = settings.delivery.sftp
        if not sftp.host:
            return cls()
        return cls(
            host=sftp.host,
            port=sftp.port,
            user=sftp.user or "",
            private_key=secret(settings, SFTP_PRIVATE_KEY_ENV),
            known_hosts=sftp.known_hosts or "",
            remote_dir=sftp.remote_dir,
        )
