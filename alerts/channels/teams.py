"""The Microsoft Teams channel: an incoming webhook (Workflows, or the older connector), the
message as an Adaptive Card in the envelope Teams webhooks take."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from alerts.channels.base import HttpNotifier
from alerts.notification import Notification
from alerts.render import COLORS, Message, message, sections
from alerts.settings import TeamsChannel


class TeamsNotifier(HttpNotifier):
    def __init__(self, name: str, settings: TeamsChannel, secrets: Iterable[str] = ()) -> None:
        super().__init__(name, settings, settings.url, secrets)

    def deliver(self, notification: Notification) -> None:
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
