"""What every notification channel shares: the `Notifier` base class, `DeliveryError`, the masking
of secrets in what a channel reports, and `HttpNotifier`, which posts to an HTTP endpoint and
sorts its failures.

A failure raises `DeliveryError`: ``retryable`` for what may pass (connection refused, timeouts,
408, 425, 429, 5xx), not for what will not (a 400 or 404: the payload or the URL is wrong);
``maybe_delivered`` when the request left and no answer came back (a read timeout, a connection
dropped mid-answer): the notification may have arrived, and `alerts.delivery` re-sends it only
as often as the channel's ``resend_unknown`` allows.

Error texts never contain a secret, whatever the server echoed (a 404 page that repeats the
webhook's path, a body that repeats a routing key, a header): `Notifier.send` masks the error at
the boundary, with the channel's own secrets found by type in its settings
(`ingest.secrets.secrets_in`) and every secret of the settings it was given.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from alerts.notification import Notification
from alerts.settings import RESEND_UNKNOWN, ChannelSettings
from ingest.errors import VeilleError
from ingest.secrets import Masker, secrets_in

USER_AGENT = "Veille-alerts/0.1"


class DeliveryError(VeilleError):
    """Raised when a channel did not take a notification. ``retryable``: try again later;
    ``maybe_delivered``: the outcome is unknown, the notification may have arrived."""

    def __init__(
        self, message: str, *, retryable: bool = True, maybe_delivered: bool = False
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.maybe_delivered = maybe_delivered


class Notifier(ABC):
    """One configured channel, named as in ``alerts.channels``."""

    deduplicates: ClassVar[bool] = False
    """Whether the receiver can drop a copy it already has (an idempotency key): then a
    notification whose outcome is unknown is sent again until it is acknowledged."""

    def __init__(self, name: str, settings: ChannelSettings, secrets: Iterable[str] = ()) -> None:
        self.name = name
        self.timeout = settings.timeout.total_seconds()
        self.resend_unknown: int | None = settings.resend_unknown
        """How many times a notification is re-sent after unknown outcomes; None: no limit."""
        if self.resend_unknown is None and not self.deduplicates:
            self.resend_unknown = RESEND_UNKNOWN
        self.mask = Masker(secrets_in(settings) | set(secrets))

    def send(self, notification: Notification) -> None:
        """Deliver one notification, or raise `DeliveryError` with every secret masked."""
        try:
            self.deliver(notification)
        except DeliveryError as exc:
            raise DeliveryError(
                self.scrub(str(exc)),
                retryable=exc.retryable,
                maybe_delivered=exc.maybe_delivered,
            ) from None

    @abstractmethod
    def deliver(self, notification: Notification) -> None:
        """Deliver one notification, or raise `DeliveryError`."""

    def accepts(self, event: str) -> bool:
        """Whether this channel is told about ``event`` (PagerDuty alone hears acknowledgements)."""
        return event != "acknowledge"

    def scrub(self, text: str) -> str:
        """``text`` with every secret masked, in whatever form it was echoed."""
        return self.mask(text)


class HttpNotifier(Notifier):
    """A channel that posts to ``url``; a `SecretStr` URL is a secret (a webhook's URL is its
    key), and so are its path and query."""

    def __init__(
        self,
        name: str,
        settings: ChannelSettings,
        url: SecretStr | str,
        secrets: Iterable[str] = (),
    ) -> None:
        super().__init__(name, settings, secrets)
        self.url = url.get_secret_value() if isinstance(url, SecretStr) else url

    def post(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        sent = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
        try:
            response = httpx.post(self.url, content=body, headers=sent, timeout=self.timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from None
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=False) from None
        except httpx.TransportError as exc:
            # The request left: the service may have taken it and not answered in time.
            what = (
                f"no answer within {self.timeout:g} s"
                if isinstance(exc, httpx.TimeoutException)
                else str(exc) or "the connection was lost"
            )
            raise DeliveryError(
                f"{type(exc).__name__}: {what}; it may have arrived", maybe_delivered=True
            ) from None
        if response.is_success:
            return response
        # Masked before it is cut: a secret cut in two would not be recognised.
        detail = self.scrub(" ".join(response.text.split()))[:300]
        retryable = response.status_code in (408, 425, 429) or response.status_code >= 500
        raise DeliveryError(f"HTTP {response.status_code}: {detail}", retryable=retryable)

    def post_json(self, data: dict[str, Any]) -> httpx.Response:
        return self.post(json.dumps(data, ensure_ascii=False).encode())
