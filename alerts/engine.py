"""The alerts engine: counts mentions into buckets, evaluates every rule, opens and resolves
alerts, and queues their notifications. It reads the time from an injected clock and keeps all
its state in `alerts.db.AlertsDb`, so a restart carries on where it stopped.

- `AlertEngine.record` counts a batch of enriched mentions (idempotently) and fires the
  single-mention rules (``influencer``) at once;
- `AlertEngine.evaluate` closes the buckets that ended, replays them through each ``spike``
  rule's detector and tracker (`alerts.rules`), scores the bucket still filling, checks the
  ``emerging_terms`` rules, and turns what the trackers say into alerts and notifications, all
  in one transaction per rule;
- after a stop, `evaluate` first catches up on the buckets it missed: an incident still going on
  is paged; one that began and ended meanwhile is paged late (trigger and resolution) if it began
  within ``page_missed_within``, and only recorded if older.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from alerts.buckets import BucketStore, at, epoch, is_influencer, is_negative, summary
from alerts.db import AlertsDb
from alerts.detectors import Detector, ShareDetector, ShareState, State, Verdict
from alerts.history import AlertRecord, History, update_why
from alerts.incidents import Action, IncidentState, Tracker, in_quiet_hours
from alerts.notification import Event, TermRow, Why
from alerts.phrases import number, say
from alerts.rules import Watch, detector_for, fingerprint, tracker_for, watches
from alerts.settings import AlertSettings, Rule
from alerts.why import authors_of, emerging_terms, explain, search_link, sites_of
from ingest.clock import Clock, SystemClock
from ingest.record import Mention

log = logging.getLogger(__name__)

_PRUNE_EVERY = timedelta(hours=1)


@dataclass
class WatchRow:
    """A watch's saved state."""

    fingerprint: str
    detector: dict[str, Any]
    incident: dict[str, Any]
    alert: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    """What an evaluation did, for logs and tests."""

    kind: str  # opened, paged, repeated, resolved
    alert: str
    rule: str
    brand: str


class AlertEngine:
    def __init__(
        self,
        settings: AlertSettings,
        brands: Sequence[str],
        db: AlertsDb,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock or SystemClock()
        self.step = settings.bucket
        followers = [r.min_followers for r in settings.rules if r.kind == "influencer"]
        self.buckets = BucketStore(
            db,
            self.step,
            min_followers=min(followers, default=10_000),
            late_within=settings.late_within,
        )
        self.history = History(db)
        self.watches = watches(settings.rules, brands)
        self._pruned: datetime | None = None

    # -- state ---------------------------------------------------------------------------------

    def _load(self, watch: Watch) -> WatchRow | None:
        rows = self.db.query(
            "SELECT fingerprint, detector, incident, alert FROM watches WHERE key = ?", (watch.key,)
        )
        if not rows:
            return None
        incident = json.loads(rows[0][2])
        extra = incident.pop("_extra", {}) if isinstance(incident, dict) else {}
        return WatchRow(rows[0][0], json.loads(rows[0][1]), incident, rows[0][3], extra)

    def _save(self, conn: sqlite3.Connection, watch: Watch, row: WatchRow) -> None:
        incident = {**row.incident, "_extra": row.extra}
        conn.execute(
            "INSERT INTO watches VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET"
            " fingerprint = excluded.fingerprint, detector = excluded.detector,"
            " incident = excluded.incident, alert = excluded.alert",
            (watch.key, row.fingerprint, json.dumps(row.detector), json.dumps(incident), row.alert),
        )

    # -- recording -----------------------------------------------------------------------------

    def record(self, mentions: Sequence[Mention]) -> int:
        """Count enriched mentions; fire single-mention rules. Returns how many were new."""
        now = self.clock.now()
        singles = [w for w in self.watches if w.rule.kind == "influencer"]
        with self.db.transaction() as conn:
            fresh = self.buckets.record(mentions, now, conn=conn)
            for brand, mention in fresh:
                for watch in singles:
                    if watch.brand == brand:
                        self._influencer(conn, watch, mention, now)
        return len(fresh)

    def _influencer(
        self, conn: sqlite3.Connection, watch: Watch, m: Mention, now: datetime
    ) -> None:
        rule = watch.rule
        if m.published is None or not is_negative(m) or not is_influencer(m, rule.min_followers):
            return  # an undated post may be old news
        if now - m.published > max(rule.incident_settings().cooldown, timedelta(hours=1)):
            return  # an old post found late is not news any more
        row = self._load(watch) or WatchRow(fingerprint(rule, self.step), {}, {})
        author = (m.author.handle or m.author.name or m.site) if m.author else m.site
        last = row.incident.get(author)
        if last and now - datetime.fromisoformat(last) < rule.incident_settings().cooldown:
            return
        row.incident[author] = now.isoformat()
        quiet = in_quiet_hours(rule.quiet_hours, now)
        doc = summary(m, rule.min_followers)
        lang = self.settings.language
        followers = (
            ", " + say(lang, "followers", n=number(m.author.followers, lang))
            if m.author and m.author.followers
            else ""
        )
        headline = say(
            lang, "influencer", brand=watch.brand, author=author, followers=followers, site=m.site
        )
        terms = emerging_terms(
            self.buckets, watch.brand, now - rule.terms_window, now, rule.terms_window
        )
        why = Why.of(
            rule,
            watch.brand,
            headline,
            m.published,
            now,
            observed=1.0,
            mentions=[doc],
            authors=authors_of([doc], 1),
            terms=[TermRow.of(t) for t in terms],
            sites=sites_of([doc], 1),
            search=search_link(watch.brand, m.published - timedelta(hours=1), self.settings.kibana),
            lang=lang,
        )
        record = self.history.open(conn, f"{watch.key}/{m.id}", why, now, paged=not quiet)
        if record is not None and not quiet:
            self.history.enqueue(conn, record, rule.channels, "trigger", now)
        self._save(conn, watch, row)

    # -- evaluating ----------------------------------------------------------------------------

    def evaluate(self) -> list[Change]:
        """Close ended buckets and evaluate every rule now."""
        now = self.clock.now()
        current = self.buckets.bucket_of(now)
        changes: list[Change] = []
        for watch in self.watches:
            with self.db.transaction() as conn:
                if watch.rule.kind == "spike":
                    changes += self._spike(conn, watch, now, current)
                elif watch.rule.kind == "emerging_terms":
                    changes += self._terms(conn, watch, now, current)
                else:
                    changes += self._singles(conn, watch, now)
        with self.db.transaction() as conn:
            self.buckets.close_until(conn, current)
            if self._pruned is None or now - self._pruned >= _PRUNE_EVERY:
                self.buckets.prune(conn, now, self.settings.keep_buckets)
                self.history.prune(conn, now, self.settings.keep_alerts)
                self._pruned = now
        for change in changes:
            log.info(
                "alerts: %s alert %s (%s on %s)",
                change.kind,
                change.alert,
                change.rule,
                change.brand,
            )
        return changes

    def _spike(
        self, conn: sqlite3.Connection, watch: Watch, now: datetime, current: int
    ) -> list[Change]:
        rule, brand = watch.rule, watch.brand
        detector = detector_for(rule, self.step)
        tracker = tracker_for(rule, self.step)
        wanted = fingerprint(rule, self.step)
        row = self._load(watch)
        state: State | ShareState
        quiet_until = None
        if row is None or row.fingerprint != wanted or not row.detector:
            # New rule, or its detector changed: learn again from the stored buckets.
            state = detector.initial()
            incident = (
                IncidentState.from_dict(row.incident) if row and row.incident else IncidentState()
            )
            row = WatchRow(wanted, {}, {}, row.alert if row else None)
            start = self.buckets.first_bucket(brand)
            # Learning the past is not living it: no alert for what ended long ago.
            quiet_until = now - self.settings.page_missed_within
        else:
            state = _state_of(detector, row.detector)
            incident = IncidentState.from_dict(row.incident)
            start = (
                epoch(datetime.fromisoformat(state.last)) + int(self.step.total_seconds())
                if state.last
                else self.buckets.first_bucket(brand)
            )
        changes: list[Change] = []
        self._sync(incident, row, tracker)
        if start is None or start > current:
            start = current
        series = self.buckets.series(brand, start, current + int(self.step.total_seconds()))
        for counts in series[:-1]:
            verdict = _advance(detector, state, counts.start, rule, counts)
            end = counts.start + self.step
            if quiet_until is not None and end < quiet_until:
                continue
            hold = end < now - self.step  # catching up on buckets that ended a while ago
            actions = tracker.observe(incident, verdict, end if hold else now, hold=hold)
            changes += self._apply(conn, watch, row, actions, verdict, now, catching_up=hold)
        partial = series[-1]
        verdict = _evaluate(detector, state, partial.start, rule, partial)
        changes += self._apply(
            conn, watch, row, tracker.observe(incident, verdict, now), verdict, now
        )
        row.detector = state.to_dict()
        row.incident = incident.to_dict()
        self._save(conn, watch, row)
        return changes

    def _sync(self, incident: IncidentState, row: WatchRow, tracker: Tracker) -> None:
        """Someone may have resolved the alert by hand (``veille alerts resolve``)."""
        if row.alert is None:
            return
        record = self.history.get(row.alert)
        if record is None or record.status == "resolved":
            tracker.close(incident)
            row.alert = None

    def _apply(
        self,
        conn: sqlite3.Connection,
        watch: Watch,
        row: WatchRow,
        actions: list[Action],
        verdict: Verdict,
        now: datetime,
        *,
        dedup: str | None = None,
        headline: str | None = None,
        query: str | None = None,
        catching_up: bool = False,
    ) -> list[Change]:
        rule, brand = watch.rule, watch.brand
        changes = []
        for action in actions:
            if action.kind == "fire":
                why = self._explain(watch, action.verdict, action.since, action.at, headline, query)
                key = dedup or f"{watch.key}/{action.since.isoformat()}"
                record = self.history.open(conn, key, why, now, paged=action.paged)
                if record is None:  # already opened before a restart: do not page twice
                    existing = self.history.by_dedup(key)
                    row.alert = existing.id if existing else None
                    continue
                row.alert = record.id
                changes.append(Change("opened", record.id, rule.name, brand))
                if action.paged:
                    self._notify(conn, record, "trigger", now)
            elif action.kind in ("page", "repeat") and row.alert:
                record = self.history.get(row.alert)
                if record is None or record.status == "resolved":
                    continue
                if action.kind == "repeat" and record.status == "acknowledged":
                    continue  # someone is on it: no more pages
                if action.kind == "repeat":  # say what it looks like now
                    why = self._explain(watch, verdict, action.since, now, headline, query)
                    update_why(conn, record.id, why, verdict.score)
                self.history.set_paged(conn, record.id)
                record = self.history._one(conn, "id = ?", record.id)
                assert record is not None
                self._notify(conn, record, "trigger" if action.kind == "page" else "repeat", now)
                changes.append(
                    Change(
                        "paged" if action.kind == "page" else "repeated",
                        record.id,
                        rule.name,
                        brand,
                    )
                )
            elif action.kind == "resolve" and row.alert:
                record = self.history.resolve(conn, row.alert, now)
                row.alert = None
                if record is None:
                    continue
                changes.append(Change("resolved", record.id, rule.name, brand))
                if action.paged:
                    self._notify(conn, record, "resolve", now)
                elif (
                    catching_up
                    and not record.paged
                    and now - record.since <= self.settings.page_missed_within
                    and not in_quiet_hours(rule.quiet_hours, now)
                ):
                    # Missed while the worker was down, and recent: say so, late, and that it ended.
                    self.history.set_paged(conn, record.id)
                    self._notify(conn, record, "trigger", now)
                    if rule.notify_resolved:
                        self._notify(conn, record, "resolve", now)
                    changes.append(Change("paged late", record.id, rule.name, brand))
        return changes

    def _explain(
        self,
        watch: Watch,
        verdict: Verdict,
        since: datetime,
        detected: datetime,
        headline: str | None,
        query: str | None,
    ) -> Why:
        """The why of ``watch``'s incident as the settings want it told."""
        return explain(
            watch.rule,
            watch.brand,
            verdict,
            since,
            detected,
            self.buckets,
            top=self.settings.top_mentions,
            kibana=self.settings.kibana,
            headline=headline,
            query=query,
            lang=self.settings.language,
        )

    def _notify(
        self, conn: sqlite3.Connection, record: AlertRecord, event: Event, now: datetime
    ) -> None:
        rule = self._rule(record.rule)
        if rule is not None:
            self.history.enqueue(conn, record, rule.channels, event, now)

    def _rule(self, name: str) -> Rule | None:
        try:
            return self.settings.rule(name)
        except KeyError:
            return None

    def _terms(
        self, conn: sqlite3.Connection, watch: Watch, now: datetime, current: int
    ) -> list[Change]:
        """Emerging terms: one incident while some words stand out in the negative mentions."""
        rule, brand = watch.rule, watch.brand
        settings = rule.detector_settings()
        tracker = tracker_for(rule, self.step)
        row = self._load(watch) or WatchRow(fingerprint(rule, self.step), {}, {})
        window = rule.terms_window
        found = emerging_terms(
            self.buckets,
            brand,
            now - window,
            now,
            window,
            min_count=max(1, round(settings.min_count)),
            threshold=settings.threshold,
        )
        incident = IncidentState.from_dict(row.incident) if row.incident else IncidentState()
        self._sync(incident, row, tracker)
        top = found[0] if found else None
        expected = top.baseline * top.docs if top else 0.0
        verdict = Verdict(
            at(current),
            float(top.count) if top else 0.0,
            expected,
            top.score if top else 0.0,
            top is not None,
            window=round(window / self.step),
            window_observed=float(top.count) if top else 0.0,
            window_expected=expected,
        )
        words = ", ".join(f"{t.term} ({t.count})" for t in found[:5])
        headline = say(
            self.settings.language,
            "terms",
            brand=brand,
            window=number(window.total_seconds() / 60, self.settings.language),
            words=words,
        )
        actions = tracker.observe(incident, verdict, now)
        changes = self._apply(
            conn,
            watch,
            row,
            actions,
            verdict,
            now,
            headline=headline if found else None,
            query=top.term if top else None,
        )
        row.incident = incident.to_dict()
        self._save(conn, watch, row)
        return changes

    def _singles(self, conn: sqlite3.Connection, watch: Watch, now: datetime) -> list[Change]:
        """Single-mention alerts: page those quiet hours held back; close them after the
        cooldown (they are events, not incidents, and are not followed by a notice)."""
        rule = watch.rule
        changes = []
        for record in self.history.select(
            rule=rule.name, brand=watch.brand, status="open", limit=200
        ):
            if not record.paged and not in_quiet_hours(rule.quiet_hours, now):
                self.history.set_paged(conn, record.id)
                self._notify(conn, record, "trigger", now)
                changes.append(Change("paged", record.id, rule.name, watch.brand))
            elif now - record.opened >= rule.incident_settings().cooldown:
                self.history.resolve(conn, record.id, now)
                changes.append(Change("resolved", record.id, rule.name, watch.brand))
        return changes

    # -- people --------------------------------------------------------------------------------

    def acknowledge(self, ident: str, who: str) -> AlertRecord | None:
        now = self.clock.now()
        with self.db.transaction() as conn:
            record = self.history.acknowledge(conn, ident, who, now)
            if record is not None:
                self._notify(conn, record, "acknowledge", now)
        return record

    def resolve(self, ident: str) -> AlertRecord | None:
        """Resolve an alert by hand; its channels get the resolution notice."""
        now = self.clock.now()
        with self.db.transaction() as conn:
            record = self.history.resolve(conn, ident, now)
            rule = self._rule(record.rule) if record else None
            if record is not None and record.paged and rule is not None and rule.notify_resolved:
                self._notify(conn, record, "resolve", now)
        return record


def _state_of(detector: Detector | ShareDetector, data: dict[str, Any]) -> State | ShareState:
    if isinstance(detector, ShareDetector):
        return ShareState.from_dict(data)
    return State.from_dict(data)


def _advance(detector: Any, state: Any, start: datetime, rule: Rule, counts: Any) -> Verdict:
    verdict: Verdict = detector.advance(state, start, counts.value(rule.metric))
    return verdict


def _evaluate(detector: Any, state: Any, start: datetime, rule: Rule, counts: Any) -> Verdict:
    verdict: Verdict = detector.evaluate(state, start, counts.value(rule.metric))
    return verdict
