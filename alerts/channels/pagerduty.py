"""The PagerDuty channel: Events API v2. ``trigger``, then ``acknowledge`` and ``resolve``, with
one dedup key per alert, so PagerDuty sees one incident however often it is paged (a copy sent
again after a timeout included); repeats are not sent (PagerDuty re-notifies by itself while an
incident is open). The trigger carries the why as custom details, links to the top mentions and
the search link."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from alerts.channels.base import DeliveryError, HttpNotifier
from alerts.notification import Notification
from alerts.render import message
from alerts.settings import PagerDutyChannel

_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}


class PagerDutyNotifier(HttpNotifier):
    deduplicates = True

    def __init__(self, name: str, settings: PagerDutyChannel, secrets: Iterable[str] = ()) -> None:
        super().__init__(name, settings, settings.url, secrets)
        self.key = settings.routing_key.get_secret_value()

    def accepts(self, event: str) -> bool:
        return event != "repeat"  # PagerDuty re-notifies by itself while an incident is open

    def deliver(self, notification: Notification) -> None:
        event_name, alert, why = notification.event, notification.alert, notification.why
        action = {"resolve": "resolve", "acknowledge": "acknowledge"}.get(event_name, "trigger")
        dedup = alert.dedup_key if event_name != "test" else f"test/{alert.id}"
        event: dict[str, Any] = {
            "routing_key": self.key,
            "event_action": action,
            "dedup_key": hashlib.sha256(dedup.encode()).hexdigest()[:40],
        }
        if action == "trigger":
            msg = message(notification)
            event["payload"] = {
                "summary": msg.title[:1024],
                "source": f"veille:{alert.brand}",
                "severity": _SEVERITY.get(alert.severity, "warning"),
                "timestamp": why.detected.isoformat(),
                "component": alert.brand,
                "group": alert.rule,
                "class": f"{why.kind}:{why.metric}",
                "custom_details": {
                    **dict(msg.facts),
                    "top mentions": [m.url for m in msg.mentions],
                    "authors": msg.authors,
                    "emerging terms": msg.terms,
                    "sites": msg.sites,
                    "search": msg.link or msg.command,
                },
            }
            event["client"] = "Veille"
            event["links"] = [
                {"href": m.url, "text": (m.title or m.site)[:100]} for m in msg.mentions[:5]
            ]
            if msg.link:
                event["client_url"] = msg.link
        response = self.post_json(event)
        try:
            status = response.json().get("status")
        except ValueError:
            status = None
        if status != "success":
            detail = self.scrub(" ".join(response.text.split()))[:200]
            raise DeliveryError(f"PagerDuty did not accept the event: {detail}")
