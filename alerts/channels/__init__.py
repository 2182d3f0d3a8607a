"""Notification channels: each turns a notification into what its service expects, and sends it.
One module per channel, on the shared base (`alerts.channels.base`: `Notifier`, `DeliveryError`,
secret masking at the boundary, HTTP posting):

- ``slack``, ``mattermost``: incoming webhooks (JSON with ``text``; Slack also gets blocks);
- ``teams``: an incoming webhook (Workflows or the older connector), an Adaptive Card;
- ``webhook``: any HTTP endpoint, the notification as JSON, signed with HMAC-SHA256, with an
  idempotency key;
- ``pagerduty``: Events API v2, ``trigger`` then ``resolve`` (and ``acknowledge``) with one
  dedup key per alert, so PagerDuty sees one incident however often it is paged;
- ``email``: SMTP with STARTTLS or implicit TLS, plain text and HTML;
- ``file``: one JSON object per line, in a file or on stdout.

`build` makes the notifier of one configured channel (``alerts.channels`` in the settings).
"""

from __future__ import annotations

from collections.abc import Iterable

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


def build(name: str, settings: Channel, secrets: Iterable[str] = ()) -> Notifier:
    """The notifier for the channel ``name`` configured by ``settings``. What it reports masks
    its own secrets and ``secrets`` (every secret of the settings: `veille.settings.secret_values`).
    """
    match settings:
        case SlackChannel():
            return SlackNotifier(name, settings, secrets)
        case MattermostChannel():
            return MattermostNotifier(name, settings, secrets)
        case TeamsChannel():
            return TeamsNotifier(name, settings, secrets)
        case WebhookChannel():
            return WebhookNotifier(name, settings, secrets)
        case PagerDutyChannel():
            return PagerDutyNotifier(name, settings, secrets)
        case EmailChannel():
            return EmailNotifier(name, settings, secrets)
        case FileChannel():
            return FileNotifier(name, settings, secrets)
