"""The generic webhook channel: the notification itself as JSON (keys sorted), to any HTTP
endpoint, with ``X-Veille-Event`` and ``X-Veille-Timestamp`` headers and, when a ``secret`` is
set, ``X-Veille-Signature``: HMAC-SHA256 over the timestamp and the body (`sign`), so the receiver
can check who sent it and refuse a replay."""

from __future__ import annotations

import hashlib
import hmac
import time

from alerts.channels.base import HttpNotifier
from alerts.notification import Notification, dumps
from alerts.settings import WebhookChannel


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The webhook signature: ``sha256=`` and the hex HMAC-SHA256 of ``timestamp.body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookNotifier(HttpNotifier):
    def __init__(self, name: str, settings: WebhookChannel) -> None:
        super().__init__(name, settings.url, settings.timeout)
        self.key = settings.secret.get_secret_value() if settings.secret else None
        self.headers = settings.headers
        self.secrets = (self.url, self.key or "")

    def send(self, notification: Notification) -> None:
        body = dumps(notification, sort_keys=True).encode()
        timestamp = str(int(time.time()))
        headers = {
            **self.headers,
            "X-Veille-Event": notification.event,
            "X-Veille-Timestamp": timestamp,
        }
        if self.key:
            headers["X-Veille-Signature"] = sign(self.key, timestamp, body)
        self.post(body, headers)
