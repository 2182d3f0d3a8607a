"""Notification channels: each turns a notification (`alerts.history.AlertRecord.notification`)
into what its service expects, and sends it.

- ``slack``, ``mattermost``: incoming webhooks (JSON with ``text``; Slack also gets blocks);
- ``teams``: an incoming webhook (Workflows or the older connector), an Adaptive Card;
- ``webhook``: any HTTP endpoint, the notification as JSON, signed with HMAC-SHA256;
- ``pagerduty``: Events API v2, ``trigger`` then ``resolve`` (and ``acknowledge``) with one
  dedup key per alert, so PagerDuty sees one incident however often it is paged;
- ``email``: SMTP (`alerts.email`);
- ``file``: one JSON object per line, in a file or on stdout.

A failure raises `DeliveryError`: ``retryable`` for what may pass (connection refused, timeouts,
429, 5xx), not for what will not (a 400 or 404: the payload or the URL is wrong). Error texts
never contain the channel's secrets (webhook URLs, keys): `Notifier.scrub` masks them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import httpx

from alerts.render import COLORS, Message, markdown, message, plain, sections
from alerts.settings import (
    Channel,
    EmailChannel,
    FileChannel,
    MattermostChannel,
    PagerDutyChannel,
    SlackChannel,
    TeamsChannel,
    WebhookChannel,
)
from ingest.errors import VeilleError

USER_AGENT = "Veille-alerts/0.1"


class DeliveryError(VeilleError):
    """Raised when a channel did not accept a notification. ``retryable``: try again later."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Notifier(Protocol):
    name: str

    def send(self, notification: dict[str, Any]) -> None:
        """Deliver one notification, or raise `DeliveryError`."""

    def accepts(self, event: str) -> bool:
        """Whether this channel is told about ``event`` (PagerDuty alone hears acknowledgements)."""

    def scrub(self, text: str) -> str:
        """``text`` with this channel's secrets masked."""


class _Base:
    secrets: tuple[str, ...] = ()

    def __init__(self, name: str) -> None:
        self.name = name

    def accepts(self, event: str) -> bool:
        return event != "acknowledge"

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text


class _Http(_Base):
    def __init__(self, name: str, url: str, timeout: float) -> None:
        super().__init__(name)
        self.url = url
        self.timeout = timeout
        self.secrets = (url,)

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


class SlackNotifier(_Http):
    def __init__(self, name: str, settings: SlackChannel) -> None:
        super().__init__(name, settings.url.get_secret_value(), settings.timeout.total_seconds())

    def send(self, notification: dict[str, Any]) -> None:
        msg = message(notification)
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": msg.title[:150]}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{k}*\n{v}"[:2000]} for k, v in msg.facts[:10]
                ],
            },
        ]
        for _, heading, items in sections(msg, "slack"):
            body = f"*{heading}*\n" + "\n".join(items)
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:3000]}})
        self.post_json({"text": msg.title, "blocks": blocks[:50]})


class MattermostNotifier(_Http):
    def __init__(self, name: str, settings: MattermostChannel) -> None:
        super().__init__(name, settings.url.get_secret_value(), settings.timeout.total_seconds())
        self.settings = settings

    def send(self, notification: dict[str, Any]) -> None:
        msg = message(notification)
        data: dict[str, Any] = {
            "text": markdown(msg, "markdown")[:16000],
            "username": self.settings.username,
        }
        if self.settings.channel:
            data["channel"] = self.settings.channel
        self.post_json(data)


class TeamsNotifier(_Http):
    def __init__(self, name: str, settings: TeamsChannel) -> None:
        super().__init__(name, settings.url.get_secret_value(), settings.timeout.total_seconds())

    def send(self, notification: dict[str, Any]) -> None:
        self.post_json(adaptive_card(message(notification)))


def adaptive_card(msg: Message) -> dict[str, Any]:
    """The message as an Adaptive Card in the envelope Teams webhooks take."""
    color = "attention" if msg.severity == "critical" else "warning"
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": msg.title,
            "weight": "bolder",
            "size": "medium",
            "wrap": True,
            "color": "good" if msg.color == COLORS["resolved"] else color,
        },
        {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in msg.facts]},
    ]
    for _, heading, items in sections(msg, "markdown"):
        body.append({"type": "TextBlock", "text": heading, "weight": "bolder", "wrap": True})
        body.append({"type": "TextBlock", "text": "\n".join(items), "wrap": True})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if msg.link:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": msg.say("open_kibana"), "url": msg.link}
        ]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The webhook signature: ``sha256=`` and the hex HMAC-SHA256 of ``timestamp.body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookNotifier(_Http):
    def __init__(self, name: str, settings: WebhookChannel) -> None:
        super().__init__(name, settings.url.get_secret_value(), settings.timeout.total_seconds())
        self.key = settings.secret.get_secret_value() if settings.secret else None
        self.headers = settings.headers
        self.secrets = (self.url, self.key or "")

    def send(self, notification: dict[str, Any]) -> None:
        body = json.dumps(notification, ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(time.time()))
        headers = {
            **self.headers,
            "X-Veille-Event": notification["event"],
            "X-Veille-Timestamp": timestamp,
        }
        if self.key:
            headers["X-Veille-Signature"] = sign(self.key, timestamp, body)
        self.post(body, headers)


_PD_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}


class PagerDutyNotifier(_Http):
    def __init__(self, name: str, settings: PagerDutyChannel) -> None:
        super().__init__(name, settings.url, settings.timeout.total_seconds())
        self.key = settings.routing_key.get_secret_value()
        self.secrets = (self.key,)

    def accepts(self, event: str) -> bool:
        return event != "repeat"  # PagerDuty re-notifies by itself while an incident is open

    def send(self, notification: dict[str, Any]) -> None:
        alert, why = notification["alert"], notification["why"]
        action = {"resolve": "resolve", "acknowledge": "acknowledge"}.get(
            notification["event"], "trigger"
        )
        dedup = alert["dedup_key"] if notification["event"] != "test" else f"test/{alert['id']}"
        event: dict[str, Any] = {
            "routing_key": self.key,
            "event_action": action,
            "dedup_key": hashlib.sha256(dedup.encode()).hexdigest()[:40],
        }
        if action == "trigger":
            msg = message(notification)
            event["payload"] = {
                "summary": msg.title[:1024],
                "source": f"veille:{alert['brand']}",
                "severity": _PD_SEVERITY.get(alert["severity"], "warning"),
                "timestamp": why["detected"],
                "component": alert["brand"],
                "group": alert["rule"],
                "class": f"{why['kind']}:{why['metric']}",
                "custom_details": {
                    **dict(msg.facts),
                    "top mentions": [m["url"] for m in msg.mentions],
                    "authors": msg.authors,
                    "emerging terms": msg.terms,
                    "sites": msg.sites,
                    "search": msg.link or msg.command,
                },
            }
            event["client"] = "Veille"
            event["links"] = [
                {"href": m["url"], "text": (m.get("title") or m["site"])[:100]}
                for m in msg.mentions[:5]
            ]
            if msg.link:
                event["client_url"] = msg.link
        response = self.post_json(event)
        try:
            status = response.json().get("status")
        except ValueError:
            status = None
        if status != "success":
            raise DeliveryError(f"PagerDuty did not accept the event: {response.text[:200]}")


class FileNotifier(_Base):
    _lock = threading.Lock()

    def __init__(self, name: str, settings: FileChannel) -> None:
        super().__init__(name)
        self.path = settings.path

    def send(self, notification: dict[str, Any]) -> None:
        line = json.dumps(notification, ensure_ascii=False)
        with self._lock:
            if self.path == "-":
                print(plain(message(notification)), flush=True)
                return
            try:
                with Path(self.path).expanduser().open("a", encoding="utf-8") as out:
                    out.write(line + "\n")
            except OSError as exc:
                raise DeliveryError(f"cannot write {self.path}: {exc.strerror}") from None


_BUILDERS: dict[type[Any], Callable[[str, Any], Notifier]] = {
    SlackChannel: SlackNotifier,
    MattermostChannel: MattermostNotifier,
    TeamsChannel: TeamsNotifier,
    WebhookChannel: WebhookNotifier,
    PagerDutyChannel: PagerDutyNotifier,
    FileChannel: FileNotifier,
}


def build(name: str, settings: Channel) -> Notifier:
    """The notifier for one configured channel."""
    if isinstance(settings, EmailChannel):
        from alerts.email import EmailNotifier

        return EmailNotifier(name, settings)
    return _BUILDERS[type(settings)](name, settings)
