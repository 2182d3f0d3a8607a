"""What every notification channel shares: the `Notifier` base class, `DeliveryError`, the masking
of a channel's secrets in what it reports, and `HttpNotifier`, which posts to an HTTP endpoint and
sorts its failures.

A failure raises `DeliveryError`: ``retryable`` for what may pass (connection refused, timeouts,
408, 425, 429, 5xx), not for what will not (a 400 or 404: the payload or the URL is wrong). Error
texts never contain the channel's secrets (webhook URLs, keys, passwords): `Notifier.scrub` masks
them.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from datetime import timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from alerts.notification import Notification
from ingest.errors import VeilleError

USER_AGENT = "Veille-alerts/0.1"


class DeliveryError(VeilleError):
    """Raised when a channel did not accept a notification. ``retryable``: try again later."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Notifier(ABC):
    """One configured channel, named as in ``alerts.channels``."""

    secrets: tuple[str, ...] = ()
    """What `scrub` masks."""

    def __init__(self, name: str) -> None:
        self.name = name

    @abstractmethod
    def send(self, notification: Notification) -> None:
        """Deliver one notification, or raise `DeliveryError`."""

    def accepts(self, event: str) -> bool:
        """Whether this channel is told about ``event`` (PagerDuty alone hears acknowledgements)."""
        return event != "acknowledge"

    def scrub(self, text: str) -> str:
        """``text`` with this channel's secrets masked."""
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text


class HttpNotifier(Notifier):
    """A channel that posts to ``url``; the URL is a secret (a webhook's URL is its key)."""

    def __init__(self, name: str, url: SecretStr | str, timeout: timedelta) -> None:
        super().__init__(name)
        self.url = url.get_secret_value() if isinstance(url, SecretStr) else url
        self.timeout = timeout.total_seconds()
        self.secrets = (self.url,)

    def post(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        sent = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
        try:
            response = httpx.post(self.url, content=body, headers=sent, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise DeliveryError(self.scrub(f"{type(exc).__name__}: {exc}")) from None
        if response.is_success:
            return response
        detail = self.scrub(" ".join(response.text.split())[:300])
        retryable = response.status_code in (408, 425, 429) or response.status_code >= 500
        raise DeliveryError(f"HTTP {response.status_code}: {detail}", retryable=retryable)

    def post_json(self, data: dict[str, Any]) -> httpx.Response:
        return self.post(json.dumps(data, ensure_ascii=False).encode())
