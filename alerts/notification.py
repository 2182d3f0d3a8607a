"""What a notification says, typed: the `Notification` every channel receives (the event, the
alert, its `Why`), the rows its why lists (`MentionRow`, `AuthorRow`, `TermRow`, `SiteRow`), and
their one JSON form (`to_json`, `from_json`, `dumps`, `loads`).

From the engine to every channel these are records with aware datetimes. JSON appears only at the
edges, always through this module: where a channel sends the notification (webhook, file) and
where ``alerts.db`` stores it (an alert's why, a queued notification, a negative mention kept to
explain alerts). The JSON has the field names and the layout alerts have always had, times in ISO
8601 with their offset, so state files written by earlier versions still load and the receivers
of webhooks and files parse what they always parsed.
"""

from __future__ import annotations

import hashlib
import json
import types
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

if TYPE_CHECKING:
    from alerts.settings import Rule
    from alerts.terms import Term

Status = Literal["open", "acknowledged", "resolved"]
Event = Literal["trigger", "repeat", "resolve", "acknowledge", "test"]

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class MentionRow:
    """A negative mention as an alert shows it (kept a few days in ``alerts.db``)."""

    id: str
    """The mention's id in the store (``veille search`` finds it)."""
    url: str
    site: str
    """The host it was published on: ``forum.example.fr``."""
    title: str | None = None
    text: str = ""
    """The text, on one line, cut to 280 characters."""
    author: str | None = None
    """The author's name, else their ``@handle``."""
    handle: str | None = None
    followers: int | None = None
    """The author's followers, when the source gives them."""
    influencer: bool = False
    """Enrich found the author influential, or they have a rule's ``min_followers``."""
    influence: float | None = None
    """The author's influence score (enrich), from 0 to 1."""
    engagement: int = 0
    """Likes, shares and replies together."""
    published: datetime
    lang: str = "und"
    """The language detected, else declared, else ``und``."""


@dataclass(frozen=True, kw_only=True)
class AuthorRow:
    """Someone who wrote some of the alert's mentions."""

    name: str
    influencer: bool = False
    followers: int | None = None
    url: str | None = None
    """The first of their mentions."""
    mentions: int


@dataclass(frozen=True, kw_only=True)
class TermRow:
    """A word suddenly frequent in the alert's mentions (`alerts.terms.Term`, rounded)."""

    term: str
    mentions: int
    share: float
    baseline: float
    score: float

    @classmethod
    def of(cls, term: Term) -> TermRow:
        return cls(
            term=term.term,
            mentions=term.count,
            share=round(term.share, 3),
            baseline=round(term.baseline, 4),
            score=round(term.score, 1),
        )


@dataclass(frozen=True, kw_only=True)
class SiteRow:
    """A site the alert's mentions come from."""

    site: str
    mentions: int


@dataclass(frozen=True, kw_only=True)
class Why:
    """Everything an alert says about itself (see `alerts.why`, which gathers it)."""

    rule: str
    brand: str
    kind: str
    """``spike``, ``influencer`` or ``emerging_terms``: what kind of rule fired."""
    metric: str
    severity: str
    headline: str
    """The alert in one sentence, in its language."""
    since: datetime
    """When the incident began (its first unusual bucket)."""
    detected: datetime
    """When the rule fired."""
    observed: float = 0.0
    """What the most unusual window held (mentions, or reach for ``negative_reach``)."""
    expected: float = 0.0
    """What that window was expected to hold."""
    window_minutes: float = 0.0
    ratio: float = 0.0
    """Observed over expected."""
    score: float = 0.0
    """``-log10`` of the probability of observing that much if nothing were going on."""
    per_week: float | None = None
    """How many buckets a week were as unusual lately (with calibration on)."""
    mentions: list[MentionRow] = field(default_factory=list)
    authors: list[AuthorRow] = field(default_factory=list)
    terms: list[TermRow] = field(default_factory=list)
    sites: list[SiteRow] = field(default_factory=list)
    search: dict[str, str] = field(default_factory=dict)
    """Where to look: ``kibana`` (a Discover URL) or ``command`` (a ``veille search``)."""
    lang: str = "en"
    """The language it is written in (``alerts.language`` when it opened)."""

    @classmethod
    def of(
        cls, rule: Rule, brand: str, headline: str, since: datetime, detected: datetime, **rest: Any
    ) -> Why:
        """The why of an alert of ``rule`` on ``brand``; ``rest`` gives its numbers and rows."""
        return cls(
            rule=rule.name,
            brand=brand,
            kind=rule.kind,
            metric=rule.metric,
            severity=rule.severity,
            headline=headline,
            since=since,
            detected=detected,
            **rest,
        )

    @property
    def probability(self) -> str:
        """The score as the probability it stands for: ``1e-07``."""
        return f"{10**-self.score:.0e}" if self.score < 300 else "<1e-300"


@dataclass(frozen=True, kw_only=True)
class NotifiedAlert:
    """The alert as a notification names it: what it is and where it stands."""

    id: str
    """The short id people type (``veille alerts show ID``); ``test`` for a test."""
    status: Status
    """Where it stood when the notification was made."""
    rule: str
    brand: str
    kind: str
    metric: str
    severity: str
    opened: datetime
    resolved: datetime | None = None
    """When it was resolved, once it is."""
    acked_by: str | None = None
    """Who acknowledged it (``veille alerts ack --by``)."""
    dedup_key: str
    """One per alert (rule, brand and incident start): PagerDuty keys its incident on it."""


@dataclass(frozen=True)
class Notification:
    """What every channel receives: the event, the alert, and its why."""

    event: Event
    alert: NotifiedAlert
    why: Why

    @property
    def key(self) -> str:
        """The idempotency key: one per alert and event (per page, for repeats), the same on
        every attempt and after a restart, so a receiver can drop a copy it already has (the
        webhook's ``Idempotency-Key``; PagerDuty has its dedup key). It is not part of the
        notification's JSON form: it is derived from it."""
        at = self.why.detected.isoformat() if self.event == "repeat" else ""
        seed = f"{self.alert.dedup_key}\n{self.event}\n{at}".encode()
        return f"veille-{self.alert.id}-{self.event}-{hashlib.sha256(seed).hexdigest()[:20]}"

    @classmethod
    def test(cls, why: Why, now: datetime) -> Notification:
        """What ``veille alerts test`` sends: ``why`` as a test alert opened ``now``, an alert
        the history does not hold."""
        alert = NotifiedAlert(
            id="test",
            status="open",
            rule=why.rule,
            brand=why.brand,
            kind=why.kind,
            metric=why.metric,
            severity=why.severity,
            opened=now,
            dedup_key=f"test/{why.rule}/{now.isoformat()}",
        )
        return cls("test", alert, why)


# -- the JSON form -------------------------------------------------------------------------------


def to_json(value: Any) -> Any:
    """``value`` as JSON data: a record as an object of its fields in their order, a time in ISO
    8601 with its offset."""
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def from_json(cls: type[T], data: dict[str, Any]) -> T:
    """The record ``cls`` from its JSON object. A field it lacks takes its default (rows written
    before the field existed); a key it does not know is passed over."""
    hints = _fields_of(cls)
    return cls(**{k: _decode(hints[k], v) for k, v in data.items() if k in hints})


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    """``value`` as JSON text (UTF-8 left as is, not escaped)."""
    return json.dumps(to_json(value), ensure_ascii=False, sort_keys=sort_keys)


def loads(cls: type[T], text: str | bytes) -> T:
    """The record ``cls`` from JSON text."""
    return from_json(cls, json.loads(text))


_FIELDS: dict[type[Any], dict[str, Any]] = {}


def _fields_of(cls: type[Any]) -> dict[str, Any]:
    """A record's fields and their types, worked out once per record."""
    known = _FIELDS.get(cls)
    if known is None:
        hints = get_type_hints(cls)
        known = _FIELDS[cls] = {f.name: hints[f.name] for f in fields(cls) if f.init}
    return known


def _decode(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(kind) if a is not type(None)]
        return _decode(options[0], value) if len(options) == 1 else value
    if origin is list:
        (item,) = get_args(kind)
        return [_decode(item, v) for v in value]
    if kind is datetime:
        return datetime.fromisoformat(value)
    if isinstance(kind, type) and is_dataclass(kind):
        return from_json(kind, value)
    return value
