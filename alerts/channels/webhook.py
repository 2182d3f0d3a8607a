"""The generic webhook channel: the notification itself as JSON (keys sorted), to any HTTP
endpoint, with ``X-Veille-Event`` and ``X-Veille-Timestamp`` headers and, when a ``secret`` is
set, ``X-Veille-Signature``: HMAC-SHA256 over the timestamp and the body (`sign`), so the receiver
can check who sent it and refuse a replay.

Every request carries the notification's idempotency key (`alerts.notification.Notification.key`)
as the ``Idempotency-Key`` header and the body's ``idempotency_key``: the same on every attempt,
so a receiver that keeps the keys it has seen drops a copy sent again after a timeout.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterable

from alerts.channels.base import HttpNotifier
from alerts.notification import Notification, to_json
from alerts.settings import WebhookChannel


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The webhook signature: ``sha256=`` and the hex HMAC-SHA256 of ``timestamp.body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def body(notification: Notification) -> bytes:
    """What the webhook posts: the notification's JSON and its idempotency key, keys sorted."""
    data = to_json(notification) | {"idempotency_key": notification.key}
    return json.dumps(data, ensure_ascii=False, sort_keys=True).encode()


class WebhookNotifier(HttpNotifier):
    deduplicates = True

    def __init__(self, name: str, settings: WebhookChannel, secrets: Iterable[str] = ()) -> None:
        super().__init__(name, settings, settings.url, secrets)
        self.key = settings.secret.get_secret_value() if settings.secret else None
        self.headers = {k: v.get_secret_value() for k, v in settings.headers.items()}

    def deliver(self, notification: Notification) -> None:
        self.post_signed(body(notification), notification.event, notification.key)

    def post_signed(self, content: bytes, event: str, key: str) -> None:
        """Post ``content`` with the event, timestamp, idempotency key and signature headers."""
        timestamp = str(int(time.time()))
        headers = {
            **self.headers,
            "X-Veille-Event": event,
            "X-Veille-Timestamp": timestamp,
            "Idempotency-Key": key,
        }
        if self.key:
            headers["X-Veille-Signature"] = sign(self.key, timestamp, content)
        self.post(content, headers)
