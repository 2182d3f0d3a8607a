"""Local stand-ins for the notification services, each enforcing its service's contract.

They are `veille.demo.receiver.Receiver`s with a check per service: a request that the real
service would refuse (wrong content type, a missing field, a block too long, a bad signature, an
unknown event action) is refused here too, with the status the service would answer. A test that
passes against them sends what the real services accept.

- Slack incoming webhooks: https://api.slack.com/messaging/webhooks (and Block Kit limits);
- Microsoft Teams (Workflows) webhooks: a ``message`` with an Adaptive Card attachment;
- Mattermost incoming webhooks: https://developers.mattermost.com/integrate/webhooks/incoming/;
- PagerDuty Events API v2: https://developer.pagerduty.com/docs/events-api-v2/trigger-events/.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from veille.demo.receiver import Received

Verdict = tuple[int, str]


def _json(request: Received) -> tuple[Any, Verdict | None]:
    if not request.headers.get("content-type", "").startswith("application/json"):
        return None, (400, "invalid_payload: expected application/json")
    try:
        return json.loads(request.body), None
    except ValueError:
        return None, (400, "invalid_payload: not JSON")


def _text_object(obj: Any, limit: int) -> bool:
    return (
        isinstance(obj, dict)
        and obj.get("type") in ("mrkdwn", "plain_text")
        and isinstance(obj.get("text"), str)
        and 0 < len(obj["text"]) <= limit
    )


def slack(request: Received) -> Verdict:
    data, refused = _json(request)
    if refused:
        return refused
    if not isinstance(data, dict) or not (data.get("text") or data.get("blocks")):
        return 400, "no_text"
    if len(data.get("text", "")) > 40_000:
        return 400, "msg_too_long"
    blocks = data.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) > 50:
        return 400, "invalid_blocks"
    for block in blocks:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "header":
            text = block.get("text", {})
            if not (_text_object(text, 150) and text["type"] == "plain_text"):
                return 400, "invalid_blocks: header text must be plain_text up to 150 chars"
        elif kind == "section":
            fields = block.get("fields", [])
            if "text" in block and not _text_object(block["text"], 3000):
                return 400, "invalid_blocks: section text up to 3000 chars"
            if len(fields) > 10 or not all(_text_object(f, 2000) for f in fields):
                return 400, "invalid_blocks: up to 10 fields of 2000 chars"
            if "text" not in block and not fields:
                return 400, "invalid_blocks: a section needs text or fields"
        elif kind not in ("divider", "context", "actions", "image"):
            return 400, f"invalid_blocks: unknown block type {kind!r}"
    return 200, "ok"


def mattermost(request: Received) -> Verdict:
    data, refused = _json(request)
    if refused:
        return refused
    if not isinstance(data, dict) or not (data.get("text") or data.get("attachments")):
        return 400, "Unable to parse incoming data: text or attachments required"
    if len(data.get("text", "")) > 16_383:
        return 400, "text too long"
    for key in ("username", "channel", "icon_url"):
        if key in data and not isinstance(data[key], str):
            return 400, f"{key} must be a string"
    return 200, "ok"


_CARD_ELEMENTS = {"TextBlock", "FactSet", "Container", "ColumnSet", "Image"}


def teams(request: Received) -> Verdict:
    data, refused = _json(request)
    if refused:
        return refused
    if not isinstance(data, dict) or data.get("type") != "message":
        return 400, "expected a message"
    attachments = data.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return 400, "attachments required"
    for attachment in attachments:
        if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
            return 400, "only Adaptive Card attachments are supported"
        card = attachment.get("content", {})
        if card.get("type") != "AdaptiveCard" or not isinstance(card.get("version"), str):
            return 400, "content must be an AdaptiveCard with a version"
        for element in card.get("body", []):
            if element.get("type") not in _CARD_ELEMENTS:
                return 400, f"unknown card element {element.get('type')!r}"
            if element["type"] == "TextBlock" and not isinstance(element.get("text"), str):
                return 400, "a TextBlock needs text"
            if element["type"] == "FactSet" and not all(
                isinstance(f.get("title"), str) and isinstance(f.get("value"), str)
                for f in element.get("facts", [])
            ):
                return 400, "facts need a title and a value"
        for action in card.get("actions", []):
            if action.get("type") != "Action.OpenUrl" or not str(action.get("url", "")).startswith(
                ("http://", "https://")
            ):
                return 400, "actions must be Action.OpenUrl with an http(s) url"
    return 202, ""


class PagerDuty:
    """Events API v2, with the incidents it would hold open (by dedup key)."""

    SEVERITIES = ("critical", "error", "warning", "info")

    def __init__(self, routing_key: str) -> None:
        self.routing_key = routing_key
        self.incidents: dict[str, str] = {}  # dedup key -> triggered / acknowledged / resolved

    def _invalid(self, *errors: str) -> Verdict:
        body = {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
        return 400, json.dumps(body)

    def __call__(self, request: Received) -> Verdict:
        if request.path != "/v2/enqueue":
            return 404, "not found"
        data, refused = _json(request)
        if refused:
            return refused
        if data.get("routing_key") != self.routing_key or len(self.routing_key) != 32:
            return self._invalid("Invalid routing key")
        action = data.get("event_action")
        if action not in ("trigger", "acknowledge", "resolve"):
            return self._invalid("'event_action' is invalid")
        dedup = data.get("dedup_key")
        if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
            return self._invalid("'dedup_key' must be a string up to 255 characters")
        if action != "trigger" and not dedup:
            return self._invalid("'dedup_key' is required to acknowledge or resolve")
        if action == "trigger":
            payload = data.get("payload")
            if not isinstance(payload, dict):
                return self._invalid("'payload' is missing")
            summary = payload.get("summary")
            if not isinstance(summary, str) or not 0 < len(summary) <= 1024:
                return self._invalid("'payload.summary' must be 1 to 1024 characters")
            if not payload.get("source"):
                return self._invalid("'payload.source' is missing")
            if payload.get("severity") not in self.SEVERITIES:
                return self._invalid("'payload.severity' is invalid")
            if "timestamp" in payload:
                try:
                    datetime.fromisoformat(payload["timestamp"])
                except (TypeError, ValueError):
                    return self._invalid("'payload.timestamp' is not ISO 8601")
            for link in data.get("links", []):
                if not str(link.get("href", "")).startswith(("http://", "https://")):
                    return self._invalid("'links.href' must be a URL")
        key = dedup or f"generated-{len(self.incidents)}"
        state = {"trigger": "triggered", "acknowledge": "acknowledged", "resolve": "resolved"}
        if action == "trigger" or key in self.incidents:
            self.incidents[key] = state[action]
        body = {"status": "success", "message": "Event processed", "dedup_key": key}
        return 202, json.dumps(body)
