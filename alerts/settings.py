"""Settings alerts owns: rules and notification channels (filled in by the alerts worker)."""

from __future__ import annotations

from ingest.settings import Strict


class AlertSettings(Strict):
    enabled: bool = True
