"""The composition root: build backends and stages from the settings, and run them.

Nothing else in Veille reads the settings tree as a whole or picks an implementation; stage
packages receive the objects they need. The pipeline's shape is declared once, in `PIPELINE`:
which stage reads which topic and writes which. Each stage package is imported only when
something of it is built, so a command that only reads the store loads no crawler, no model and
no Kafka client.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

from ingest.clock import Clock, SystemClock
from ingest.closing import Closing
from ingest.topics import TopicName, Topics
from veille.backends import open_bus, open_store
from veille.settings import Settings, secret_values

if TYPE_CHECKING:
    from alerts.channels.base import Notifier
    from alerts.db import AlertsDb
    from alerts.delivery import Dispatcher
    from alerts.engine import AlertEngine
    from alerts.settings import AlertSettings
    from alerts.stage import AlertsStage, AlertsWorker
    from crawlers.crawl.progress import CrawlState
    from crawlers.crawl.runner import CrawlRunner
    from crawlers.feeds.poller import FeedPoller
    from crawlers.feeds.state import FeedStateStore
    from crawlers.fetch import Fetcher
    from crawlers.networks.base import Connector
    from crawlers.networks.poller import NetworkPoller
    from crawlers.networks.state import NetworkStateStore
    from crawlers.settings import FeedSource
    from enrich.entities import EntityExtractor
    from enrich.sentiment import SentimentBackend
    from enrich.stage import EnrichStage
    from index.deletions import DeletionStage
    from index.stage import IndexStage
    from ingest.bus import Bus
    from ingest.counters import SqliteCounters
    from ingest.runner import Stage, StageRunner
    from ingest.store import Store
    from veille.reports.schedule import ReportsWorker
    from veille.workers import Processes

log = logging.getLogger(__name__)


class Loop(Protocol):
    """What runs a stage until stopped, or until its input is drained."""

    def run(self, stop: threading.Event, *, until_idle: bool = False) -> None: ...


@dataclass(frozen=True)
class Step:
    """One stage of the pipeline: the topic it reads, the one it writes (None: it writes to the
    store or sends notifications), and how the `App` builds it and the loop that runs it."""

    name: str
    reads: TopicName
    writes: TopicName | None
    build: Callable[[App], Stage]
    loop: Callable[[App], Loop] | None = None
    """The stage's own loop; None: the shared `ingest.runner.StageRunner`."""


@dataclass
class Worker:
    """A named loop that runs until its stop event is set."""

    name: str
    target: Callable[[threading.Event], None]


class App(Closing):
    """The running installation: its backends, state files and stages, built on first use from
    the settings and closed together."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.topics = Topics(settings.bus.topic_prefix)

    # -- backends and state files --------------------------------------------------------------

    @cached_property
    def bus(self) -> Bus:
        # Topics are created when first published to or consumed: a command that only reads
        # creates nothing, and a worker started while Kafka is down waits for it in its loop.
        return open_bus(self.settings.bus_url, self.settings.bus)

    @cached_property
    def store(self) -> Store:
        return open_store(self.settings.store_url, self.settings.store)

    @cached_property
    def counters(self) -> SqliteCounters:
        from ingest.counters import SqliteCounters

        return SqliteCounters(self.settings.state_dir / "counters.db")

    @cached_property
    def feed_state(self) -> FeedStateStore:
        from crawlers.feeds.state import FeedStateStore

        return FeedStateStore(self.settings.state_dir / "feeds.db")

    @cached_property
    def crawl_state(self) -> CrawlState:
        from crawlers.crawl.progress import CrawlState

        return CrawlState(self.settings.state_dir / "crawl.db")

    @cached_property
    def network_state(self) -> NetworkStateStore:
        from crawlers.networks.state import NetworkStateStore

        return NetworkStateStore(self.settings.state_dir / "networks.db")

    @cached_property
    def alerts_db(self) -> AlertsDb:
        from alerts.db import AlertsDb

        return AlertsDb(self.settings.state_dir / "alerts.db")

    @cached_property
    def fetcher(self) -> Fetcher:
        from crawlers.fetch import Fetcher

        return Fetcher(self.settings.sources.http)

    # -- enrich ----------------------------------------------------------------------------------

    @cached_property
    def sentiment(self) -> SentimentBackend:
        from enrich.sentiment import open_sentiment

        return open_sentiment(self.settings.enrich.sentiment)

    @cached_property
    def entities(self) -> EntityExtractor | None:
        """Loaded once per process: spaCy models take seconds to load."""
        from enrich.entities import EntityExtractor

        settings = self.settings.enrich.entities
        if not settings.enabled:
            return None
        return EntityExtractor(
            self.settings.brands,
            settings.models,
            batch_size=settings.batch_size,
            max_chars=settings.max_chars,
            labels=settings.labels,
        )

    def warm_up(self) -> None:
        """Load the enrichment models now rather than on the first batch (spaCy's French model
        takes seconds), e.g. in a background thread while sources are being read."""
        _ = self.sentiment
        if self.entities is not None:
            self.entities.warm_up()

    def enrich_stage(self) -> EnrichStage:
        from enrich.brands import BrandMatcher
        from enrich.duplicates import DuplicateDetector
        from enrich.influence import InfluenceTracker
        from enrich.language import LanguageDetectorService
        from enrich.stage import EnrichStage

        enrich = self.settings.enrich
        return EnrichStage(
            brands=BrandMatcher(self.settings.brands),
            languages=LanguageDetectorService(
                enrich.language.languages,
                min_confidence=enrich.language.min_confidence,
                short_min_confidence=enrich.language.short_min_confidence,
            ),
            sentiment=self.sentiment,
            clock=self.clock,
            entities=self.entities,
            duplicates=DuplicateDetector(self.store, min_tokens=enrich.duplicates.min_tokens)
            if enrich.duplicates.enabled
            else None,
            influence=InfluenceTracker(self.store, enrich.influence)
            if enrich.influence.enabled
            else None,
        )

    # -- index -----------------------------------------------------------------------------------

    def index_stage(self) -> IndexStage:
        from index.stage import IndexStage

        return IndexStage(self.store)

    def deletion_stage(self) -> DeletionStage:
        from index.deletions import DeletionStage

        return DeletionStage(self.store)

    # -- alerts ----------------------------------------------------------------------------------

    def alerts_settings(self) -> AlertSettings:
        """The alerts settings, linking alerts to the Kibana that ``veille kibana setup``
        installed when ``alerts.kibana`` does not name another."""
        from alerts.settings import KibanaLink

        alerts, store = self.settings.alerts, self.settings.store
        if alerts.kibana is not None or not store.kibana.url:
            return alerts
        url = store.kibana.url.rstrip("/") + (
            f"/s/{store.kibana.space}" if store.kibana.space else ""
        )
        view = f"{store.elastic.index_prefix}-mentions"
        return alerts.model_copy(update={"kibana": KibanaLink(url=url, data_view=view)})

    @cached_property
    def alerts_engine(self) -> AlertEngine:
        from alerts.engine import AlertEngine

        brands = [b.name for b in self.settings.brands]
        return AlertEngine(self.alerts_settings(), brands, self.alerts_db, self.clock)

    def alerts_stage(self) -> AlertsStage:
        from alerts.stage import AlertsStage

        return AlertsStage(self.alerts_engine)

    def notifiers(self) -> dict[str, Notifier]:
        from alerts.channels import build

        secrets = secret_values(self.settings)
        return {name: build(name, c, secrets) for name, c in self.settings.alerts.channels.items()}

    def dispatcher(self) -> Dispatcher:
        from alerts.delivery import Dispatcher
        from alerts.history import History

        return Dispatcher(
            History(self.alerts_db), self.notifiers(), self.settings.alerts.delivery, self.clock
        )

    def alerts_worker(self) -> AlertsWorker:
        """The alerts stage's loop: it also evaluates the rules on its clock and sends what is
        due, between batches."""
        from alerts.stage import AlertsWorker

        return AlertsWorker(
            self.runner("alerts"),
            self.alerts_engine,
            self.dispatcher(),
            evaluate_every=self.settings.alerts.evaluate_every.total_seconds(),
            clock=self.clock,
        )

    def reports_worker(self) -> ReportsWorker:
        """The loop that produces and delivers the scheduled reports (``reports:``)."""
        from veille.reports.schedule import ReportsWorker

        return ReportsWorker(self, self.clock)

    # -- the pipeline ----------------------------------------------------------------------------

    def steps(self) -> tuple[Step, ...]:
        """The stages this configuration runs, in order (alerts can be switched off)."""
        return tuple(s for s in PIPELINE if s.name != "alerts" or self.settings.alerts.enabled)

    def runner(self, name: str) -> StageRunner:
        """The shared runner of stage ``name``, on its topics and consumer group (the deletions
        stage's reads tombstones: `index.deletions.DeletionRunner`)."""
        from index.deletions import DeletionRunner
        from ingest.runner import Backoff, LazyStage, StageRunner

        step = step_named(name)
        settings = self.settings.runner
        kind = DeletionRunner if step.reads == "deleted" else StageRunner
        return kind(
            # Built by the runner, which waits while the store it opens is down.
            LazyStage(name, lambda: step.build(self)),
            self.bus,
            source_topic=self.topics.named(step.reads),
            sink_topic=self.topics.named(step.writes) if step.writes else None,
            dead_topic=self.topics.dead,
            group=self.topics.group(name),
            batch_size=settings.batch_size,
            poll_timeout=settings.poll_timeout.total_seconds(),
            backoff=Backoff(maximum=settings.retry_max.total_seconds()),
            clock=self.clock,
            counters=self.counters,
        )

    def loop(self, name: str) -> Loop:
        """What runs stage ``name``: its own loop, or the shared runner."""
        step = step_named(name)
        return step.loop(self) if step.loop else self.runner(name)

    # -- sources -------------------------------------------------------------------------------

    def feed_sources(self) -> list[FeedSource]:
        """The configured feeds, plus one Google News search feed per configured search."""
        from crawlers.feeds.google import google_news_rss_url
        from crawlers.settings import FeedSource
        from ingest.record import SourceKind

        feeds = list(self.settings.sources.feeds)
        for search in self.settings.sources.google_news:
            brand = self.settings.brand(search.brand)
            feeds.append(
                FeedSource(
                    name=f"google-news-{brand.name}-{search.lang}".lower().replace(" ", "-"),
                    url=google_news_rss_url(brand.tree, lang=search.lang, country=search.country),
                    kind=SourceKind.NEWS,
                    lang=search.lang,
                    interval=search.interval,
                )
            )
        return feeds

    def feed_poller(self) -> FeedPoller:
        from crawlers.feeds.poller import FeedPoller
        from crawlers.robots import RobotsCache

        sources = self.settings.sources
        return FeedPoller(
            self.feed_sources(),
            bus=self.bus,
            topic=self.topics.raw,
            state=self.feed_state,
            fetcher=self.fetcher,
            robots=RobotsCache(
                self.fetcher,
                ttl_seconds=sources.http.robots_cache.total_seconds(),
                user_agent=sources.http.user_agent,
            ),
            settings=sources.poller,
            http=sources.http,
            clock=self.clock,
            counters=self.counters,
        )

    def crawl_runner(self) -> CrawlRunner:
        """The blog and forum spiders; ``{brand}`` in search URLs becomes each brand's name."""
        from crawlers.crawl.runner import CrawlRunner  # Scrapy and Twisted load only to crawl

        sources = self.settings.sources
        return CrawlRunner(
            sources.sites,
            bus=self.bus,
            topic=self.topics.raw,
            state=self.crawl_state,
            http=sources.http,
            crawl=sources.crawl,
            search_terms=[b.name for b in self.settings.brands],
            clock=self.clock,
            counters=self.counters,
        )

    def connectors(self) -> list[Connector]:
        """One connector per entry of ``sources.networks``."""
        from crawlers.networks.registry import build_connector

        http, brands = self.settings.sources.http, self.settings.brands
        return [
            build_connector(n, http, self.clock, brands) for n in self.settings.sources.networks
        ]

    def network_poller(self) -> NetworkPoller:
        """The ``networks`` worker, on every connector of ``sources.networks``."""
        from crawlers.networks.poller import NetworkPoller

        return NetworkPoller(
            self.connectors(),
            bus=self.bus,
            topic=self.topics.raw,
            deletions_topic=self.topics.deleted,
            state=self.network_state,
            settings=self.settings.sources.poller,
            clock=self.clock,
            counters=self.counters,
        )

    # -- running -------------------------------------------------------------------------------

    def workers(self) -> list[Worker]:
        """Every loop that ``veille run`` runs: the sources, then each stage."""
        workers = [Worker("poll", self.feed_poller().run)]
        if self.settings.sources.sites:
            workers.append(Worker("crawl", self.crawl_runner().run))
        if self.settings.sources.networks:
            workers.append(Worker("networks", self.network_poller().run))
        for step in self.steps():
            loop = self.enrich_loop() if step.name == "enrich" else self.loop(step.name)
            workers.append(Worker(step.name, loop.run))
        if self.settings.reports:
            workers.append(Worker("reports", self.reports_worker().run))
        return workers

    def enrich_loop(self) -> Loop:
        """``veille run``'s enrich: `enrich.workers` processes (one per core by default), each
        a member of the enrich consumer group, supervised from a thread of this process; a
        single one runs in a thread of this process itself."""
        from veille.workers import enrich_process_count

        count, why = enrich_process_count(self.settings)
        log.info("enrich: %d process%s (%s)", count, "es" if count > 1 else "", why)
        if count == 1:
            return self.loop("enrich")
        level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
        return enrich_processes(self.settings, count, level)

    def drain(self, stop: threading.Event | None = None) -> None:
        """Run each stage until its input topic is empty (for the demo and tests); alerts also
        evaluate their rules and send what is due."""
        stop = stop or threading.Event()
        for step in self.steps():
            self.loop(step.name).run(stop, until_idle=True)

    def close(self) -> None:
        """Close what was opened (backends, state files); what was not used was never opened."""
        for name in (
            "bus",
            "store",
            "fetcher",
            "counters",
            "feed_state",
            "crawl_state",
            "network_state",
            "alerts_db",
        ):
            if name in self.__dict__:
                self.__dict__[name].close()


def enrich_processes(settings: Settings, count: int, log_level: str | None = None) -> Processes:
    """``count`` enrich worker processes on ``settings``, each a member of the enrich consumer
    group that loads its models once."""
    from veille.workers import Processes

    return Processes("enrich", count, run_enrich_process, (settings, log_level))


def run_enrich_process(
    stop: threading.Event, until_idle: bool, settings: Settings, log_level: str | None
) -> None:
    """What each enrich process runs (see `enrich_processes`)."""
    from veille.logs import setup_logging

    setup_logging(log_level or settings.log_level, secret_values(settings))
    with App(settings) as app:
        # Models load before the process joins the group: a member that takes seconds over its
        # first batch would keep its partitions waiting meanwhile.
        app.warm_up()
        app.runner("enrich").run(stop, until_idle=until_idle)


PIPELINE = (
    Step("enrich", reads="raw", writes="enriched", build=App.enrich_stage),
    Step("index", reads="enriched", writes=None, build=App.index_stage),
    Step("deletions", reads="deleted", writes=None, build=App.deletion_stage),
    Step("alerts", reads="enriched", writes=None, build=App.alerts_stage, loop=App.alerts_worker),
)
"""The pipeline: each stage, the topic it reads and the one it writes. The sources (feeds,
crawls, networks) write ``raw``; the networks also write ``deleted`` (the tombstones of posts
deleted on their platform); failures for good go to ``dead``."""

STAGES = tuple(step.name for step in PIPELINE)


def step_named(name: str) -> Step:
    for step in PIPELINE:
        if step.name == name:
            return step
    raise ValueError(f"unknown stage '{name}' (stages: {', '.join(STAGES)})")
