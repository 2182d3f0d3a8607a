"""The Slack channel: an incoming webhook, the message as Block Kit blocks (mrkdwn) with a plain
``text`` fallback, each block cut to Slack's limits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from alerts.channels.base import HttpNotifier
from alerts.notification import Notification
from alerts.render import message, sections
from alerts.settings import SlackChannel


class SlackNotifier(HttpNotifier):
    def __init__(self, name: str, settings: SlackChannel, secrets: Iterable[str] = ()) -> None:
        super().__init__(name, settings, settings.url, secrets)

    def deliver(self, notification: Notification) -> None:
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
