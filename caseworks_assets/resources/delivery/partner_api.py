"""A partner's REST API: token auth, idempotent deliveries, retries on 5xx and timeouts.

Protocol (what the partner documents and the test server implements):

* ``POST {url}/oauth/token`` with JSON ``{"username", "password"}`` returns
  ``{"access_token", "expires_in"}``; the token is cached and refreshed shortly
  before it expires, and once more if the API answers 401.
* ``POST {url}/v1/deliveries`` with ``Authorization: Bearer <token>`` and an
  ``Idempotency-Key`` header; the body is the delivery as JSON. The partner
  treats a repeated key as the same delivery, so a retry after a lost response
  cannot deliver twice.

5xx answers, connection errors and timeouts are retried with exponential
backoff (bounded attempts and total time); 4xx answers are not retried.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import requests
import tenacity
from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from caseworks_assets.resources.delivery.env import secret
from caseworks_assets.settings import PARTNER_API_PASSWORD_ENV, PARTNER_API_USER_ENV, Settings


class PartnerAPIError(RuntimeError):
    """A request failed for good; ``status`` is the HTTP status (None for connection errors)."""

    def __init__(self, message: str, status: int | None = None, kind: str = "delivery") -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


class _Retryable(Exception):
    """A 5xx answer: worth another attempt."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code}: {response.text[:200]}")
        self.response = response


def idempotency_key(dataset: str, partition: str, content_sha256: str) -> str:
    """One key per (dataset, partition, content): same data -> same key, new data -> new key."""
    digest = hashlib.sha256(f"{dataset}|{partition}|{content_sha256}".encode()).hexdigest()
    return f"{dataset}-{partition}-{digest[:32]}"


class PartnerAPIResource(ConfigurableResource):
    """The partner's delivery API (``CASEWORKS_PARTNER_API_*``)."""

    url: str = Field(default="", description="Base URL; empty means 'not configured' (outbox).")
    user: str = ""
    password: str = ""
    timeout_seconds: float = 15.0
    max_attempts: int = 5
    retry_wait_seconds: float = 1.0
    retry_max_seconds: float = 300.0

    _token: str | None = PrivateAttr(default=None)
    _token_expires_at: float = PrivateAttr(default=0.0)

    @property
    def is_configured(self) -> bool:
        return bool(self.url)

    def where(self) -> str:
        return self.url.rstrip("/")

    def _retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((_Retryable, requests.ConnectionError, requests.Timeout)),
            stop=tenacity.stop_after_attempt(self.max_attempts) | tenacity.stop_after_delay(self.retry_max_seconds),
            wait=tenacity.wait_exponential(multiplier=self.retry_wait_seconds, max=60),
            reraise=True,
        )

    def _post(self, path: str, **kwargs: Any) -> requests.Response:
        response = requests.post(f"{self.where()}{path}", timeout=self.timeout_seconds, **kwargs)
        if response.status_code >= 500:
            raise _Retryable(response)
        return response

    def token(self, *, refresh: bool = False) -> str:
        """A valid access token, obtained or refreshed as needed."""
        if not refresh and self._token and time.monotonic() < self._token_expires_at - 30:
            return self._token
        response = self._call(
            lambda: self._post("/oauth/token", json={"username": self.user, "password": self.password})
        )
        if response.status_code != 200:
            raise PartnerAPIError(
                f"{self.where()}/oauth/token refused the credentials (HTTP {response.status_code}). "
                "Next step: check CASEWORKS_PARTNER_API_USER / CASEWORKS_PARTNER_API_PASSWORD.",
                response.status_code,
                "auth",
            )
        body = response.json()
        self._token = body["access_token"]
        self._token_expires_at = time.monotonic() + float(body.get("expires_in", 300))
        return self._token

    def _call(self, request) -> requests.Response:
        try:
            return self._retrying()(request)
        except _Retryable as error:
            raise PartnerAPIError(
                f"{self.where()} kept failing after {self.max_attempts} attempts ({error}). "
                "Next step: ask the partner about their API status, then re-run the partition.",
                error.response.status_code,
                "connection",
            ) from error
        except (requests.ConnectionError, requests.Timeout) as error:
            raise PartnerAPIError(
                f"{self.where()} unreachable after {self.max_attempts} attempts ({error.__class__.__name__}). "
                "Next step: check the API URL and network, then re-run the partition.",
                None,
                "connection",
            ) from error

    def deliver(self, dataset: str, partition: str, content_sha256: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST one delivery with its idempotency key; returns the partner's JSON answer."""
        key = idempotency_key(dataset, partition, content_sha256)
        body = {"dataset": dataset, "partition": partition, "sha256": content_sha256, **payload}

        def attempt(refresh: bool) -> requests.Response:
            headers = {"Authorization": f"Bearer {self.token(refresh=refresh)}", "Idempotency-Key": key}
            return self._call(lambda: self._post("/v1/deliveries", json=body, headers=headers))

        response = attempt(refresh=False)
        if response.status_code == 401:
            response = attempt(refresh=True)
        if response.status_code >= 400:
            raise PartnerAPIError(
                f"{self.where()}/v1/deliveries rejected {dataset} {partition} with HTTP {response.status_code}: "
                f"{response.text[:300]}. Not retried (client error). Next step: fix the payload or credentials.",
                response.status_code,
                "delivery",
            )
        answer = response.json() if response.content else {}
        return {"idempotency_key": key, "status": response.status_code, **answer}

    @classmethod
    def from_settings(cls, settings: Settings) -> PartnerAPIResource:
        """The API at ``settings.delivery.partner_api_url`` (user and password as ``EnvVar``); the outbox when unset."""
        url = settings.delivery.partner_api_url
        if not url:
            return cls()
        return cls(
            url=url,
            user=secret(settings, PARTNER_API_USER_ENV),
            password=secret(settings, PARTNER_API_PASSWORD_ENV),
        )
