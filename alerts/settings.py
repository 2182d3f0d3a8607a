"""Settings alerts owns: how buckets are cut, how detectors judge them, the alert rules and the
notification channels.

Rules and channels are YAML under the ``alerts:`` key of ``veille.yaml`` (or in a file pulled in
with ``include:``). Secrets (SMTP passwords, webhook URLs, signing keys, PagerDuty routing keys,
webhook header values) are `SecretStr`: masked when settings are printed, and never written in a
notification, a log or a stored error (`ingest.secrets` finds them by their type).
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from alerts.phrases import Language
from ingest.settings import Duration, Strict, TimeZone, require_unique

Metric = Literal["negative", "total", "negative_share", "negative_reach"]
Severity = Literal["info", "warning", "critical"]
RuleKind = Literal["spike", "influencer", "emerging_terms"]


class DetectorSettings(Strict):
    """How the spike detector models a series (see `alerts.detectors`). The defaults were chosen
    by measured NAB score (README, "How the detector was chosen")."""

    model: Literal["negbin", "poisson", "gaussian"] = "gaussian"
    seasonality: Literal["none", "day", "week"] = "none"
    trend: bool = False
    threshold: Annotated[float, Field(gt=0, le=300)] = 8.0
    """Score to reach: -log10 of the probability of the observed count under the baseline."""
    windows: list[Duration] = [timedelta(minutes=30), timedelta(hours=6)]
    """Window lengths tested at each bucket (the bucket plus those just before it)."""
    min_count: Annotated[float, Field(ge=0)] = 3.0
    """A window with fewer mentions than this never alerts, however unusual."""
    warmup: Duration = timedelta(days=1)
    level_half_life: Duration = timedelta(days=1)
    trend_half_life: Duration = timedelta(hours=12)
    season_half_life_days: Annotated[float, Field(gt=0, le=365)] = 7.0
    season_prior: Annotated[float, Field(ge=0)] = 2.0
    """Mentions a slot of the day or week must outweigh before its factor moves from 1."""
    dispersion_half_life: Duration = timedelta(days=14)
    dispersion_prior: Annotated[float, Field(ge=0)] = 1.0
    """The negative binomial's 1/k before the series shows its own (see `alerts.detectors`)."""
    winsorize: Annotated[float, Field(gt=0)] = 2.0
    max_per_week: Annotated[float, Field(gt=0)] | None = 20.0
    """Calibration: a bucket is unusual only if buckets scoring at least as high came fewer
    times a week than this in the series' recent history. None: the threshold alone decides."""
    calibration_half_life: Duration = timedelta(days=14)

    @field_validator("windows")
    @classmethod
    def _some_windows(cls, value: list[timedelta]) -> list[timedelta]:
        if not value or any(w <= timedelta(0) for w in value):
            raise ValueError("give at least one positive window length, e.g. [5m, 15m]")
        return value


class IncidentSettings(Strict):
    """When a run of unusual buckets becomes an alert, and when the alert ends."""

    confirm: Annotated[int, Field(ge=1, le=100)] = 1
    """Unusual buckets needed among the last ``confirm_of`` before the alert fires."""
    confirm_of: Annotated[int, Field(ge=1, le=100)] = 1
    resolve_after: Duration = timedelta(minutes=30)
    """The incident ends after this long without an unusual bucket."""
    cooldown: Duration = timedelta(hours=12)
    """No new alert for the same rule and brand within this long after the last one fired."""

    @model_validator(mode="after")
    def _window(self) -> IncidentSettings:
        if self.confirm > self.confirm_of:
            raise ValueError(
                f"confirm ({self.confirm}) cannot exceed confirm_of ({self.confirm_of})"
            )
        return self


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class QuietHours(Strict):
    """When a rule does not page: alerts are kept, and paged when the quiet hours end if the
    incident is still going on. ``start`` after ``end`` spans midnight (22:00 to 07:00)."""

    start: time
    end: time
    timezone: TimeZone = "Europe/Paris"
    days: list[str] = []
    """Only on these days (mon, tue...); every day when empty."""

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        days = [d.lower()[:3] for d in value]
        unknown = [d for d in days if d not in _DAYS]
        if unknown:
            raise ValueError(f"unknown day(s) {', '.join(unknown)}; use {', '.join(_DAYS)}")
        return days


SENSITIVITY = {"low": 1.5, "medium": 1.0, "high": 0.67}
"""How a rule's sensitivity scales the detector's threshold (and its calibration rate)."""


class Rule(Strict):
    """One alert rule. ``brand: "*"`` applies it to every brand, each on its own series."""

    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\w.-]+$")]
    brand: str = "*"
    kind: RuleKind = "spike"
    """``spike``: the metric's series jumps; ``influencer``: one negative mention by an
    influential author; ``emerging_terms``: words suddenly frequent in negative mentions."""
    metric: Metric = "negative"
    sensitivity: Literal["low", "medium", "high"] | float = "medium"
    """low, medium, high, or the detector's score threshold itself (a number)."""
    min_count: Annotated[float, Field(ge=0)] | None = None
    """Fewest mentions in the window for an alert (default: the detector's)."""
    severity: Severity = "warning"
    channels: list[str] = []
    cooldown: Duration | None = None
    quiet_hours: QuietHours | None = None
    repeat_every: Duration | None = None
    """Page again while the incident lasts, this often (never when unset)."""
    notify_resolved: bool = True
    detector: DetectorSettings = DetectorSettings()
    incident: IncidentSettings = IncidentSettings()
    min_followers: Annotated[int, Field(ge=0)] = 10_000
    """influencer rules: an author this followed counts as influential even when enrich did not
    flag them."""
    terms_window: Duration = timedelta(hours=1)
    """emerging_terms rules (and the why of every alert): how far back a term must be frequent."""

    def detector_settings(self) -> DetectorSettings:
        """The detector with the rule's sensitivity and minimum count applied."""
        update: dict[str, object] = {}
        if isinstance(self.sensitivity, str):
            scale = SENSITIVITY[self.sensitivity]
            update["threshold"] = self.detector.threshold * scale
            if self.detector.max_per_week is not None:
                update["max_per_week"] = self.detector.max_per_week / scale
        else:
            update["threshold"] = float(self.sensitivity)
        if self.min_count is not None:
            update["min_count"] = self.min_count
        return self.detector.model_copy(update=update)

    def incident_settings(self) -> IncidentSettings:
        if self.cooldown is None:
            return self.incident
        return self.incident.model_copy(update={"cooldown": self.cooldown})


# -- channels ------------------------------------------------------------------------------------


RESEND_UNKNOWN = 1
"""How many times a channel that cannot deduplicate sends a notification again after an attempt
whose outcome is unknown (README, "What each channel guarantees")."""


class ChannelSettings(Strict):
    """What every channel takes."""

    timeout: Duration = timedelta(seconds=10)
    """How long to wait for the service to answer."""
    resend_unknown: Annotated[int, Field(ge=0, le=100)] | None = None
    """How many times a notification is sent again after an attempt whose outcome is unknown:
    the service did not answer within ``timeout`` once it had the request, or Veille was killed
    while sending. Each such copy may have arrived. Default: no limit for the webhook and
    PagerDuty (the receiver deduplicates on the idempotency key), `RESEND_UNKNOWN` (1) for
    Slack, Teams, Mattermost and email, which cannot deduplicate."""


class EmailChannel(ChannelSettings):
    """Email over SMTP: STARTTLS on port 587 (the default), or implicit TLS (``tls: ssl``,
    port 465). ``tls: none`` is refused unless ``allow_plaintext`` (a local relay only)."""

    type: Literal["email"]
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    tls: Literal["starttls", "ssl", "none"] = "starttls"
    allow_plaintext: bool = False
    username: str | None = None
    password: SecretStr | None = None
    sender: str
    to: Annotated[list[str], Field(min_length=1)]
    ca_file: str | None = None
    """Trust this CA bundle instead of the system's (a private relay)."""

    @model_validator(mode="after")
    def _secure(self) -> EmailChannel:
        if self.tls == "none" and not self.allow_plaintext:
            raise ValueError("tls: none sends the password in clear; set allow_plaintext: true")
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password, or neither")
        return self


class SlackChannel(ChannelSettings):
    """A Slack incoming webhook (the URL is the secret)."""

    type: Literal["slack"]
    url: SecretStr


class TeamsChannel(ChannelSettings):
    """A Microsoft Teams incoming webhook (the URL is the secret)."""

    type: Literal["teams"]
    url: SecretStr


class MattermostChannel(ChannelSettings):
    """A Mattermost incoming webhook (the URL is the secret)."""

    type: Literal["mattermost"]
    url: SecretStr
    channel: str | None = None
    username: str = "Veille"


class WebhookChannel(ChannelSettings):
    """Any HTTP endpoint: the alert as JSON, signed with HMAC-SHA256 over the timestamp and the
    body (headers ``X-Veille-Timestamp`` and ``X-Veille-Signature: sha256=<hex>``)."""

    type: Literal["webhook"]
    url: SecretStr
    secret: SecretStr | None = None
    headers: dict[str, SecretStr] = {}
    """Sent with every request (``Authorization: "Bearer ${TOKEN}"``); their values are
    secrets."""


class PagerDutyChannel(ChannelSettings):
    """PagerDuty Events API v2: a trigger per alert, a resolve with the same dedup key."""

    type: Literal["pagerduty"]
    routing_key: SecretStr
    url: str = "https://events.pagerduty.com/v2/enqueue"


class FileChannel(ChannelSettings):
    """Append each notification to a file, one JSON object per line (``path: "-"``: stdout)."""

    type: Literal["file"]
    path: str


Channel = Annotated[
    EmailChannel
    | SlackChannel
    | TeamsChannel
    | MattermostChannel
    | WebhookChannel
    | PagerDutyChannel
    | FileChannel,
    Field(discriminator="type"),
]


class DeliverySettings(Strict):
    """How notifications are retried: each channel on its own, so one down never holds up the
    others, with exponential backoff until ``give_up_after``."""

    retry_initial: Duration = timedelta(seconds=5)
    retry_max: Duration = timedelta(minutes=5)
    retry_jitter: Annotated[float, Field(ge=0, le=1)] = 0.5
    """Each wait is drawn between ``1 - retry_jitter`` times and once the exponential delay, so
    that channels and workers that failed together do not all retry at the same instant."""
    give_up_after: Duration = timedelta(days=1)


class KibanaLink(Strict):
    """Where the alert's search link points when Kibana is set up (scale-out): Kibana's URL and
    the data view of the mentions. Not to be confused with `index.settings.KibanaSettings`, the
    Kibana that ``veille kibana setup`` installs the dashboards into (YAML ``store.kibana``);
    this is YAML ``alerts.kibana``."""

    url: str
    data_view: str = "veille-mentions"


class AlertSettings(Strict):
    enabled: bool = True
    bucket: Duration = timedelta(minutes=5)
    evaluate_every: Duration = timedelta(seconds=5)
    """How often the worker closes buckets and evaluates rules, mentions or not."""
    late_within: Duration = timedelta(hours=1)
    """A mention published in a bucket already evaluated, less than this long before, counts in
    the bucket still open (see `alerts.buckets`)."""
    page_missed_within: Duration = timedelta(hours=2)
    """After a stop, an incident that began and ended while the worker was down is paged (late)
    if it began less than this long ago; older ones are only recorded."""
    keep_buckets: Duration = timedelta(days=35)
    keep_alerts: Duration = timedelta(days=365)
    top_mentions: Annotated[int, Field(ge=0, le=50)] = 5
    language: Language = "en"
    """What notifications are written in: ``en`` or ``fr``."""
    rules: list[Rule] = []
    channels: dict[str, Channel] = {}
    delivery: DeliverySettings = DeliverySettings()
    kibana: KibanaLink | None = None

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: timedelta) -> timedelta:
        seconds = value.total_seconds()
        if seconds < 60 or 86400 % seconds:
            raise ValueError("the bucket must be at least 1m and divide a day (1m, 5m, 15m, 1h)")
        return value

    @model_validator(mode="after")
    def _references(self) -> AlertSettings:
        require_unique([r.name for r in self.rules], "rule names")
        for rule in self.rules:
            unknown = [c for c in rule.channels if c not in self.channels]
            if unknown:
                raise ValueError(
                    f"rule '{rule.name}': unknown channel(s) {', '.join(unknown)} "
                    f"(channels: {', '.join(self.channels) or 'none'})"
                )
        return self

    def rule(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)
