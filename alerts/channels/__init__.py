"""Notification channels: each turns a notification into what its service expects, and sends it.
One module per channel, on the shared base (`alerts.channels.base`: `Notifier`, `DeliveryError`,
secret masking, HTTP posting):

- ``slack``, ``mattermost``: incoming webhooks (JSON with ``text``; Slack also gets blocks);
- ``teams``: an incoming webhook (Workflows or the older connector), an Adaptive Card;
- ``webhook``: any HTTP endpoint, the notification as JSON, signed with HMAC-SHA256;
- ``pagerduty``: Events API v2, ``trigger`` then ``resolve`` (and ``acknowledge``) with one
  dedup key per alert, so PagerDuty sees one incident however often it is paged;
- ``email``: SMTP with STARTTLS or implicit TLS, plain text and HTML;
- ``file``: one JSON object per line, in a file or on stdout.

`build` makes the notifier of one configured channel (``alerts.channels`` in the settings).
"""

from __future__ import annotations

from alerts.channels.base import Notifier
from alerts.channels.email import EmailNotifier
from alerts.channels.file import FileNotifier
from alerts.channels.mattermost import MattermostNotifier
from alerts.channels.pagerduty import PagerDutyNotifier
from alerts.channels.slack import SlackNotifier
from alerts.channels.teams import TeamsNotifier
from alerts.channels.webhook import WebhookNotifier
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


def build(name: str, settings: Channel) -> Notifier:
    """The notifier for the channel ``name`` configured by ``settings``."""
    match settings:
        case SlackChannel():
            return SlackNotifier(name, settings)
        case MattermostChannel():
            return MattermostNotifier(name, settings)
        case TeamsChannel():
            return TeamsNotifier(name, settings)
        case WebhookChannel():
            return WebhookNotifier(name, settings)
        case PagerDutyChannel():
            return PagerDutyNotifier(name, settings)
        case EmailChannel():
            return EmailNotifier(name, settings)
        case FileChannel():
            return FileNotifier(name, settings)
