"""The scale-out `Store`: mentions in Elasticsearch (``http(s)://host:9200``).

`ElasticStore` owns the mentions and holds the two indexes enrich keeps, in indices of their own
under the same prefix, as its ``author_index`` (`index.elastic.authors.ElasticAuthors`) and
``cluster_index`` (`index.elastic.clusters.ElasticClusters`). All three share one
`index.elastic.client.ElasticIndices`: the client, the names, errors, bulk writes and refreshes.

Schema as code, set up idempotently (`ElasticStore.setup`, run by ``veille index setup`` and at
every start):

- an index template (``<prefix>-mentions``) holds the settings and the explicit, strict mapping
  (`index.elastic.mapping`), so a document with a field the mapping does not know is refused,
  never guessed;
- the documents live in one index per schema version, ``<prefix>-mentions-v<N>``, behind the
  alias ``<prefix>-mentions`` that every read and write goes through (``require_alias``, so a
  write can never create an index by itself). A new schema version is set up by creating the
  new index, copying every mention into it and moving the alias in one atomic step;
- no rollover, hence no ILM policy: a mention is rewritten by id for its whole life (a later
  fetch, a replay), and rollover would send the rewrite to a new index beside the old copy,
  a duplicate. Time-based indices have the same flaw, since a mention's date can change between
  fetches (a feed entry without a date is dated when fetched). Size the index with
  ``store.elastic.shards``;
- capabilities (the language analyzers) are detected at setup;
- the author and cluster parts set up their own indices at the same time.

Writes are bulk, by mention id, with the fetch time as external version (``external_gte``): a
replay rewrites, an older copy never overwrites a newer one. 429 and 5xx are retried with
backoff; a document Elasticsearch cannot index (`index.elastic.client.RECORD_ERRORS`) is
returned as `Rejected` (the index stage dead-letters it) while the rest of the batch is written;
a cluster out of reach or refusing writes (a block, a closed or missing index) raises
`StoreUnavailable` and the runner tries the batch again later; an index whose mapping is not
this version's raises `StoreBroken` and the worker stops. Nothing is refused for the cluster's
sake: every other error is the cluster's.

Opened inside `ingest.access.read_only` (``veille search``, ``status``), the store sets nothing
up: it only detects the cluster's capabilities.

Scans (exports, recounts) read pages with ``search_after`` in one point in time, closed when
they end or stop (plain ``search_after`` on a cluster without points in time); ``figures`` (a
report, ``veille status``) is one search with every aggregation it needs.

Reads see this client's own writes at once (a refresh is asked before the first read after a
write); other processes see them after the refresh interval (1 s by default).
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Self
from zoneinfo import ZoneInfo

import orjson

from index.base import (
    SIGNIFICANT_MIN_COUNT,
    SIGNIFICANT_SAMPLE,
    BaseStore,
    epoch_ms,
    from_epoch_ms,
    local_bucket,
    local_days,
)
from index.elastic.authors import ElasticAuthors
from index.elastic.client import (
    MAX_WINDOW,
    RETRY_STATUS,
    BadRequestError,
    ElasticIndices,
    Elasticsearch,
    NotFoundError,
    connect,
    display_url,
    helpers,
    item_outcome,
    item_reason,
    mapping_broken,
)
from index.elastic.clusters import ElasticClusters
from index.elastic.mapping import (
    DATE,
    NAME_SEP,
    SCHEMA_VERSION,
    SEARCH_UNREAD,
    Capabilities,
    document,
    from_document,
    mapping,
    stored_fields,
    strict,
)
from index.elastic.query import Query, filters_query, ranking_query
from index.settings import ElasticSettings, StoreSettings
from ingest.access import reading_only
from ingest.errors import ConfigError, StoreUnavailable, VeilleError
from ingest.record import Mention
from ingest.store import (
    Bucket,
    Distinct,
    Facet,
    Figures,
    Filters,
    Rejected,
    SearchPage,
    SignificantTerm,
    SortOrder,
    Store,
    TermCount,
)

log = logging.getLogger(__name__)

SCAN_PAGE = 5_000
"""Mentions read per request by `ElasticStore.scan` (whatever its batches): fewer round trips,
each a few megabytes."""

CLUSTER_PRECISION = 40_000
"""Up to this many distinct clusters, ``distinct="cluster"`` counts are exact (Elasticsearch's
``cardinality`` aggregation keeps every value up to its ``precision_threshold``, at most
40,000); above it, they are estimates within about 1 %."""

_FACETS: dict[Facet, str] = {
    "brand": "enrichment.brands",
    "sentiment": "search.sentiment",
    "source": "source.name",
    "site": "site",
    "author": "search.author",
    "lang": "search.lang",
    "entity": "search.entities",
}


TOMBSTONE_MAPPING = strict(at=DATE)
"""``<prefix>-deleted``: one document per mention deleted on its platform (id: the mention id),
kept so that a copy that comes after the deletion is refused."""


def _encode(doc: dict[str, Any]) -> bytes:
    """The document as JSON, encoded here, one by one: orjson is fast but refuses integers
    beyond 64 bits, which the standard encoder writes for Elasticsearch to refuse, with a
    reason, for that document alone."""
    try:
        return orjson.dumps(doc)
    except TypeError:
        return json.dumps(doc, ensure_ascii=False).encode()


def _clusters(distinct: Distinct = "cluster") -> dict[str, Any]:
    """The sub-aggregation that counts distinct clusters, if ``distinct`` asks for it."""
    if distinct != "cluster":
        return {}
    field = {"field": "search.cluster", "precision_threshold": CLUSTER_PRECISION}
    return {"clusters": {"cardinality": field}}


def _counted(bucket: dict[str, Any], distinct: Distinct) -> int:
    return int(bucket["clusters"]["value"] if distinct == "cluster" else bucket["doc_count"])


def _by_sentiment(distinct: Distinct) -> dict[str, Any]:
    """A timeline bucket's sub-aggregation: its mentions (or clusters) by sentiment."""
    terms = {"field": "search.sentiment", "size": 10}
    return {"sentiment": {"terms": terms, "aggs": _clusters(distinct)}}


def _timeline_agg(
    interval: timedelta, distinct: Distinct, zone: ZoneInfo | None = None
) -> dict[str, Any]:
    """The aggregation `ElasticStore.timeline` reads: ``interval`` buckets by sentiment, in
    local days of ``zone`` when the interval is whole days: days and weeks (from Monday, as ISO
    weeks are) by the calendar; other lengths as local days, that `_timeline` adds up (a fixed
    interval of several days would not start at midnight after a DST change)."""
    step = int(interval.total_seconds() * 1000)
    if step <= 0:
        raise ValueError("the timeline interval must be positive")
    histogram: dict[str, Any] = {"field": "published", "min_doc_count": 0}
    days = local_days(interval, zone)
    if zone is not None and days:
        if not zone.key:
            raise ValueError("the timeline needs a time zone by name (Europe/Paris)")
        histogram["time_zone"] = zone.key
        histogram["calendar_interval"] = "week" if days == 7 else "day"
    else:
        histogram["fixed_interval"] = f"{step}ms"
    return {"date_histogram": histogram, "aggs": _by_sentiment(distinct)}


def _timeline(
    agg: dict[str, Any], distinct: Distinct, zone: ZoneInfo | None = None, days: int = 0
) -> list[Bucket]:
    buckets = [
        Bucket(
            from_epoch_ms(b["key"]).astimezone(zone) if zone else from_epoch_ms(b["key"]),
            {s["key"]: _counted(s, distinct) for s in b["sentiment"]["buckets"]},
        )
        for b in agg.get("buckets", [])
    ]
    if zone is None or days in (0, 1, 7):
        return buckets
    # Local days added up into buckets of ``days`` (distinct counts are read again by bucket).
    sums: dict[datetime, Counter[str]] = {}
    for b in buckets:
        sums.setdefault(local_bucket(b.start, timedelta(days=days), zone), Counter()).update(
            b.counts
        )
    return [Bucket(start, dict(sorted(counts.items()))) for start, counts in sorted(sums.items())]


def _ranges_agg(buckets: Sequence[Bucket], distinct: Distinct, days: int) -> dict[str, Any]:
    """Each of ``buckets`` (local, of ``days``) as a range of instants: for distinct counts of
    buckets that are neither a day nor a week."""
    ranges = []
    for b in buckets:
        end = datetime.combine(b.start.date() + timedelta(days=days), time(), b.start.tzinfo)
        ranges.append({"from": epoch_ms(b.start), "to": epoch_ms(end)})
    return {
        "date_range": {"field": "published", "ranges": ranges, "format": "epoch_millis"},
        "aggs": _by_sentiment(distinct),
    }


def _top_agg(facet: Facet, limit: int, distinct: Distinct) -> dict[str, Any]:
    """The aggregation `ElasticStore.top` reads: the ``limit`` most frequent values."""
    terms: dict[str, Any] = {"field": _FACETS[facet], "size": limit}
    if distinct:
        terms["order"] = [{"clusters": "desc"}, {"_key": "asc"}]
    return {"terms": terms, "aggs": _clusters(distinct)}


def _regex_literal(text: str) -> str:
    """``text`` matched literally by a Lucene regular expression."""
    return "".join(c if c.isalnum() or c == " " else f"\\{c}" for c in text)


class ElasticStore(BaseStore[ElasticAuthors, ElasticClusters]):
    """A `Store` in an Elasticsearch cluster. Thread-safe (the client is)."""

    def __init__(
        self,
        client: Elasticsearch,
        settings: ElasticSettings | None = None,
        *,
        display: str = "Elasticsearch",
        schema_version: int = SCHEMA_VERSION,
        chunk_size: int = 500,
        bulk_retries: int = 5,
        initial_backoff: float = 0.5,
    ) -> None:
        self.indices = ElasticIndices(
            client,
            settings,
            display=display,
            chunk_size=chunk_size,
            bulk_retries=bulk_retries,
            initial_backoff=initial_backoff,
        )
        super().__init__(ElasticAuthors(self.indices), ElasticClusters(self.indices))
        self.schema_version = schema_version
        self.capabilities = Capabilities()

    @classmethod
    def from_url(cls, url: str, settings: StoreSettings | None = None, **tuning: Any) -> Self:
        """Connect to the cluster at ``url`` with ``settings.elastic`` and set the index up
        (read-only: only detect what the cluster can do); ``tuning`` sets the other parameters
        of the constructor (tests shorten the backoff)."""
        elastic = (settings or StoreSettings()).elastic
        store = cls(connect(url, elastic), elastic, display=display_url(url), **tuning)
        if reading_only():
            store.capabilities = store.detect()
        else:
            store.setup()
        return store

    def __repr__(self) -> str:
        return f"ElasticStore({self.indices.display}, alias={self.alias})"

    # -- the connection and names, which its parts share ----------------------------------------

    @property
    def client(self) -> Elasticsearch:
        return self.indices.client

    @property
    def settings(self) -> ElasticSettings:
        return self.indices.settings

    @property
    def alias(self) -> str:
        return self.indices.alias

    @property
    def index(self) -> str:
        """The concrete index of the current schema version."""
        return f"{self.alias}-v{self.schema_version}"

    # -- set-up --------------------------------------------------------------------------------

    def detect(self) -> Capabilities:
        def has_analyzer(name: str) -> bool:
            try:
                self.client.indices.analyze(analyzer=name, text="essai")
            except BadRequestError:
                return False
            return True

        found = self.indices.call(
            "detect its capabilities",
            lambda: Capabilities(
                language_analyzers=has_analyzer("french") and has_analyzer("english")
            ),
        )
        if not found.language_analyzers:
            log.debug(
                "%s has no french/english analyzers (a minimal distribution?): searches match "
                "the same mentions, relevance uses unstemmed words only",
                self.indices.display,
            )
        return found

    def template(self) -> dict[str, Any]:
        return {
            "index_patterns": [f"{self.alias}-v*"],
            "priority": 200,
            "template": {
                "settings": {
                    "number_of_shards": self.settings.shards,
                    "number_of_replicas": self.settings.replicas,
                },
                "mappings": mapping(self.capabilities),
            },
            "_meta": {"description": "Veille mentions; managed by `veille index setup`"},
        }

    def setup(self) -> None:
        """Put the template, create the index and its alias, or migrate to a new schema
        version, and create what enrich keeps (idempotent; safe at every start)."""
        self.capabilities = self.detect()
        self.author_index.setup()
        self.cluster_index.setup()
        self.indices.ensure_index(self.indices.deleted_index, TOMBSTONE_MAPPING)
        template = self.template()
        self.indices.call(
            "put the index template",
            lambda: self.client.indices.put_index_template(name=self.alias, **template),
        )
        current = self._aliased()
        if self.index in current:
            return
        if not current and self.indices.call(
            "check the alias", lambda: self.client.indices.exists(index=self.alias)
        ):
            raise ConfigError(
                f"{self.indices.display} has an index named '{self.alias}' where Veille expects an "
                f"alias; was it created by a write without the template? Rename or delete it"
            )
        created = self._create(self.index, alias=not current)
        if current:
            self._migrate(sorted(current), created)
        elif created:
            log.info(
                "%s: created %s behind the alias %s", self.indices.display, self.index, self.alias
            )

    def _aliased(self) -> set[str]:
        def read() -> set[str]:
            try:
                return set(self.client.indices.get_alias(name=self.alias).body)
            except NotFoundError:
                return set()

        return self.indices.call("read the alias", read)

    def _create(self, index: str, *, alias: bool) -> bool:
        """Create ``index`` (from the template); False if it existed already."""
        aliases = {self.alias: {"is_write_index": True}} if alias else {}

        def create() -> bool:
            try:
                self.client.indices.create(index=index, aliases=aliases)
            except BadRequestError as exc:
                if "resource_already_exists" in str(exc.error):
                    return False
                raise
            return True

        return self.indices.call(f"create {index}", create)

    def _migrate(self, old: list[str], created: bool) -> None:
        """Copy every mention into the new index, then move the alias in one step.

        The copy goes through `Mention` and `document`, so the new version's ``search`` keys are
        computed by the new code (a server-side ``_reindex`` would copy the old ones, and is
        missing from minimal clusters). Stop the index workers while it runs."""
        if not created:
            raise StoreUnavailable(
                f"{self.indices.display}: another process is migrating {self.alias} to "
                f"{self.index}; try again when it is done"
            )
        log.warning(
            "%s: migrating %s from %s to %s", self.indices.display, self.alias, old, self.index
        )

        def copy() -> int:
            self.client.indices.refresh(index=",".join(old))
            hits = helpers.scan(self.client, index=",".join(old), size=self.indices.chunk_size)
            mentions = (from_document(dict(hit["_source"])) for hit in hits)
            copied = 0
            for ok, item in helpers.streaming_bulk(
                self.client,
                self._actions(mentions, self.index),
                chunk_size=self.indices.chunk_size,
                max_retries=self.indices.bulk_retries,
                initial_backoff=self.indices.initial_backoff,
                retry_on_status=RETRY_STATUS,
                raise_on_error=False,
            ):
                if not ok and item.get("index", {}).get("status") != 409:
                    raise StoreUnavailable(f"migration stopped: {item_reason(item['index'])}")
                copied += 1
            self.client.indices.refresh(index=self.index)
            return copied

        copied = self.indices.call(f"copy {old} into {self.index}", copy)
        actions: list[dict[str, Any]] = [
            {"remove": {"index": index, "alias": self.alias}} for index in old
        ]
        actions.append({"add": {"index": self.index, "alias": self.alias, "is_write_index": True}})
        self.indices.call(
            "move the alias", lambda: self.client.indices.update_aliases(actions=actions)
        )
        log.warning(
            "%s: %d mentions copied; %s now points to %s (delete %s when satisfied)",
            self.indices.display,
            copied,
            self.alias,
            self.index,
            ", ".join(old),
        )

    @property
    def side_indices(self) -> list[str]:
        """The indices of what enrich keeps, beside the mentions."""
        return [
            *self.author_index.index_names,
            *self.cluster_index.index_names,
            self.indices.deleted_index,
        ]

    def drop(self) -> None:
        """Delete this prefix's indices, the parts' included, and its template (each by name:
        clusters refuse wildcards)."""

        def delete() -> None:
            found = self.client.indices.get(
                index=f"{self.alias}-v*", ignore_unavailable=True, allow_no_indices=True
            )
            self.indices.delete_indices([*found.body, *self.side_indices])
            self.client.options(ignore_status=404).indices.delete_index_template(name=self.alias)

        self.indices.call("delete the indices", delete)

    # -- writes --------------------------------------------------------------------------------

    def _actions(self, mentions: Iterable[Mention], index: str) -> Iterator[dict[str, Any]]:
        for mention in mentions:
            yield {
                "_op_type": "index",
                "_index": index,
                "_id": mention.id,
                "version": epoch_ms(mention.fetched),
                "version_type": "external_gte",
                "_source": _encode(document(mention)),
            }

    def upsert(self, mentions: Sequence[Mention]) -> list[Rejected]:
        if not mentions:
            return []
        # Keep the latest fetch of each id: Elasticsearch would refuse an older version anyway.
        latest: dict[str, Mention] = {}
        for mention in mentions:
            kept = latest.get(mention.id)
            if kept is None or mention.fetched >= kept.fetched:
                latest[mention.id] = mention
        # Deleted on its platform: a copy that comes after the deletion stays deleted.
        for mention_id in self.indices.tombstoned(list(latest)):
            del latest[mention_id]
        if not latest:
            return []
        rejected: list[Rejected] = []
        retry: list[str] = []
        mapping: list[str] = []

        def write() -> None:
            results = helpers.streaming_bulk(
                self.client,
                self._actions(latest.values(), self.alias),
                chunk_size=self.indices.chunk_size,
                raise_on_error=False,
                max_retries=self.indices.bulk_retries,
                initial_backoff=self.indices.initial_backoff,
                max_backoff=30,
                retry_on_status=RETRY_STATUS,
                require_alias=True,
            )
            for ok, item in results:
                if ok:
                    continue
                result = item.get("index", {})
                outcome = item_outcome(result)
                if outcome == "conflict":  # a newer copy is stored already: nothing to do
                    continue
                if outcome == "record":
                    rejected.append(Rejected(str(result.get("_id")), item_reason(result)))
                elif outcome == "mapping":
                    mapping.append(item_reason(result))
                else:
                    retry.append(f"HTTP {result.get('status', 0)}: {item_reason(result)}")

        self.indices.call("write mentions", write)
        self.indices.wrote(self.alias)
        if mapping:
            raise mapping_broken(self.indices.display, self.alias, mapping[0])
        if retry:
            raise StoreUnavailable(
                f"{self.indices.display}: {len(retry)} of {len(latest)} mentions not written "
                f"({retry[0]}); the batch will be written again"
            )
        # A deletion applied while this batch was written (it tombstones, then deletes): what
        # it may have missed is deleted here. Tombstones are read in real time, so one of the
        # two always sees the other's write.
        late = self.indices.tombstoned(list(latest))
        if late:
            self.indices.delete_ids("delete mentions", self.alias, late)
        return rejected

    def delete(self, mention_ids: Sequence[str], at: datetime) -> int:
        if not mention_ids:
            return 0
        ids = list(dict.fromkeys(mention_ids))
        # The tombstones first: an upsert racing with this reads them after its write.
        self.indices.bulk(
            "record deletions",
            self.indices.deleted_index,
            (
                {
                    "_op_type": "index",
                    "_index": self.indices.deleted_index,
                    "_id": i,
                    "_source": {"at": epoch_ms(at)},
                }
                for i in ids
            ),
        )
        deleted = self.indices.delete_ids("delete mentions", self.alias, ids)
        self.author_index.forget(ids)
        return deleted

    # -- reads ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Make every write acknowledged so far, by any process, visible to reads now."""
        self.indices.wrote(self.alias)
        self.indices.fresh(self.alias)

    def get(self, mention_id: str) -> Mention | None:
        self.indices.fresh(self.alias)

        def read() -> dict[str, Any] | None:
            try:
                return dict(self.client.get(index=self.alias, id=mention_id)["_source"])
            except NotFoundError:
                return None

        source = self.indices.call("read a mention", read)
        return from_document(source) if source is not None else None

    def count(self, filters: Filters, *, distinct: Distinct = None) -> int:
        if distinct == "cluster":
            return int(self._aggregate(filters, _clusters())["clusters"]["value"])
        self.indices.fresh(self.alias)
        query = filters_query(filters)
        found = self.indices.call(
            "count mentions", lambda: self.client.count(index=self.alias, query=query)
        )
        return int(found["count"])

    def search(
        self, filters: Filters, *, sort: SortOrder = "date", page: int = 1, size: int = 20
    ) -> SearchPage:
        self.indices.fresh(self.alias)
        start = (max(1, page) - 1) * size
        if start + size > MAX_WINDOW:
            raise VeilleError(
                f"Elasticsearch pages stop at {MAX_WINDOW:,} results; narrow the search "
                f"(--since, --brand...) or read it all with --all"
            )
        query = filters_query(filters)
        order: list[Any] = [{"published": "desc"}, {"id": "asc"}]
        if sort == "relevance" and filters.query is not None:
            ranking = ranking_query(filters.query, self.capabilities.language_analyzers)
            query = {"bool": {"filter": [query], "should": ranking}}
            order = ["_score", *order]
        hits = self.indices.search(
            "search",
            index=self.alias,
            query=query,
            sort=order,
            from_=start,
            size=size,
            track_total_hits=True,
        )["hits"]
        return SearchPage(
            total=int(hits["total"]["value"]),
            hits=[from_document(dict(h["_source"])) for h in hits["hits"]],
            page=page,
            size=size,
        )

    def scan(self, filters: Filters, *, batch: int = 500) -> Iterator[list[Mention]]:
        for sources in self.fields(filters, batch=batch):
            yield [from_document(source) for source in sources]

    def fields(self, filters: Filters, *, batch: int = 500) -> Iterator[list[dict[str, Any]]]:
        """`MentionStore.fields`: the ``_source`` of every mention ``filters`` select (the
        fields of the `Mention` it was written from), without ``search``, oldest first (then by
        id), ``batch`` at a time; `BaseStore.export` writes each out as it is. Read `SCAN_PAGE`
        at a time with ``search_after`` in one point in time (`ElasticIndices.pages`), so memory
        stays flat however many."""
        self.indices.fresh(self.alias)
        pages = self.indices.pages(
            "read mentions",
            self.alias,
            point_in_time=True,
            query=filters_query(filters),
            sort=[{"published": "asc"}, {"id": "asc"}],
            size=min(MAX_WINDOW, max(batch, SCAN_PAGE)),
            track_total_hits=False,
            source_excludes=SEARCH_UNREAD,  # as long as the mention again: never read back here
            filter_path=["hits.hits._source"],
        )
        with closing(pages):  # closes the point in time if the caller stops early
            held: list[dict[str, Any]] = []
            for hits in pages:
                held += [stored_fields(hit["_source"]) for hit in hits]
                full = len(held) - len(held) % batch
                for start in range(0, full, batch):
                    yield held[start : start + batch]
                held = held[full:]
            if held:
                yield held

    def _aggregate(
        self, filters: Filters, aggs: dict[str, Any], *also: Query, total: bool = False
    ) -> dict[str, Any]:
        """Run ``aggs`` over the mentions ``filters`` (and the queries ``also``) select; with
        ``total``, their exact count too, as ``total``."""
        self.indices.fresh(self.alias)
        query = filters_query(filters)
        if also:
            query = {"bool": {"filter": [query, *also]}}
        found = self.indices.search(
            "aggregate",
            index=self.alias,
            query=query,
            aggs=aggs,
            size=0,
            track_total_hits=total,
            filter_path=["aggregations", "hits.total"],
        )
        aggregations = dict(found.get("aggregations", {}))
        if total:
            aggregations["total"] = int(found["hits"]["total"]["value"])
        return aggregations

    def timeline(
        self,
        filters: Filters,
        interval: timedelta,
        *,
        distinct: Distinct = None,
        zone: ZoneInfo | None = None,
    ) -> list[Bucket]:
        days = local_days(interval, zone)
        zone = zone if days else None
        found = self._aggregate(filters, {"time": _timeline_agg(interval, distinct, zone)})
        return self._local(filters, _timeline(found["time"], distinct, zone, days), distinct, days)

    def _local(
        self, filters: Filters, buckets: list[Bucket], distinct: Distinct, days: int
    ) -> list[Bucket]:
        """``buckets`` of ``days`` local days, their distinct counts read again by bucket when
        local days could not be added up (a second request, for neither a day nor a week)."""
        if not distinct or days in (0, 1, 7) or not buckets:
            return buckets
        found = self._aggregate(filters, {"time": _ranges_agg(buckets, distinct, days)})
        return [
            Bucket(b.start, {s["key"]: _counted(s, distinct) for s in r["sentiment"]["buckets"]})
            for b, r in zip(buckets, found["time"]["buckets"], strict=True)
        ]

    def top(
        self, filters: Filters, facet: Facet, limit: int = 10, *, distinct: Distinct = None
    ) -> list[TermCount]:
        """See `MentionStore.top`. Like any ``terms`` aggregation over several shards, counts
        near the end of a long list may be a little low (``store.elastic.shards`` > 1)."""
        found = self._aggregate(filters, {"top": _top_agg(facet, limit, distinct)})
        return self._top(filters, facet, found["top"], distinct)

    def figures(
        self,
        filters: Filters,
        *,
        interval: timedelta | None = None,
        facets: Sequence[Facet] = (),
        limit: int = 10,
        distinct: Distinct = None,
        zone: ZoneInfo | None = None,
    ) -> Figures:
        """See `MentionStore.figures`: one search whose aggregations are those of `count`,
        `timeline` and `top`, side by side, so the numbers are theirs. (Entities take a second
        request, as in `top`, for the names they are shown by.)"""
        aggs: dict[str, Any] = _clusters(distinct)
        days = local_days(interval, zone) if interval else 0
        zone = zone if days else None
        if interval:
            aggs["time"] = _timeline_agg(interval, distinct, zone)
        for facet in facets:
            aggs[f"top-{facet}"] = _top_agg(facet, limit, distinct)
        found = self._aggregate(filters, aggs, total=distinct is None)
        return Figures(
            total=_counted(found, distinct) if distinct else found["total"],
            timeline=self._local(
                filters, _timeline(found["time"], distinct, zone, days), distinct, days
            )
            if interval
            else [],
            tops={f: self._top(filters, f, found[f"top-{f}"], distinct) for f in facets},
        )

    def _top(
        self, filters: Filters, facet: Facet, agg: dict[str, Any], distinct: Distinct
    ) -> list[TermCount]:
        """The values of a `_top_agg`'s answer, entities under the names they are shown by."""
        found = [TermCount(b["key"], _counted(b, distinct)) for b in agg["buckets"]]
        if facet == "entity" and found:
            names = self._entity_names(filters, [t.key for t in found])
            found = [TermCount(names.get(t.key, t.key), t.count) for t in found]
        return found

    def _entity_names(self, filters: Filters, keys: Sequence[str]) -> dict[str, str]:
        """The name each entity key is shown by: the smallest of the names it was found
        under (``Velora City``, not its key ``velora city``), among the selected mentions."""
        pattern = "|".join(_regex_literal(k) for k in keys)
        aggs = {
            "names": {
                "terms": {
                    "field": "search.entity_names",
                    "include": f"({pattern}){_regex_literal(NAME_SEP)}.*",
                    "size": min(MAX_WINDOW, 100 * len(keys)),
                    "order": {"_key": "asc"},
                }
            }
        }
        also = {"terms": {"search.entities": list(keys)}}
        names: dict[str, str] = {}
        for bucket in self._aggregate(filters, aggs, also)["names"]["buckets"]:
            key, name = bucket["key"].split(NAME_SEP, 1)
            names[key] = min(name, names.get(key, name))
        return names

    def significant_terms(
        self, filters: Filters, background: Filters | None = None, limit: int = 10
    ) -> list[SignificantTerm]:
        words: dict[str, Any] = {
            "field": "search.text",
            "source_fields": ["search.title", "search.text"],
            "size": limit,
            "min_doc_count": SIGNIFICANT_MIN_COUNT,
            "chi_square": {"include_negatives": False, "background_is_superset": True},
        }
        if background is not None:
            words["background_filter"] = filters_query(background)
        aggs = {
            "sample": {
                "sampler": {"shard_size": SIGNIFICANT_SAMPLE},
                "aggs": {"words": {"significant_text": words}},
            }
        }
        buckets = self._aggregate(filters, aggs)["sample"]["words"]["buckets"]
        return [
            SignificantTerm(b["key"], b["doc_count"], b["bg_count"], float(b["score"]))
            for b in buckets
            if math.isfinite(float(b["score"])) and float(b["score"]) > 0
        ]

    def close(self) -> None:
        self.client.close()


if TYPE_CHECKING:  # ElasticStore implements the whole protocol
    _store: type[Store] = ElasticStore
