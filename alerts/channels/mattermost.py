"""The Mattermost channel: an incoming webhook, the message as Markdown ``text``, posted as
``username`` (and to ``channel`` when set, instead of the webhook's own)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from alerts.channels.base import HttpNotifier
from alerts.notification import Notification
from alerts.render import markdown, message
from alerts.settings import MattermostChannel


class MattermostNotifier(HttpNotifier):
    def __init__(self, name: str, settings: MattermostChannel, secrets: Iterable[str] = ()) -> None:
        super().__init__(name, settings, settings.url, secrets)
        self.settings = settings

    def deliver(self, notification: Notification) -> None:
        msg = message(notification)
        data: dict[str, Any] = {
            "text": markdown(msg, "markdown")[:16000],
            "username": self.settings.username,
        }
        if self.settings.channel:
            data["channel"] = self.settings.channel
        self.post_json(data)
