"""The composition root: build backends and stages from the settings, and run them.

Nothing else in Veille reads the settings tree as a whole or picks an implementation; stage
packages receive the objects they need.
"""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from typing import TYPE_CHECKING

from alerts.channels import build
from alerts.channels.base import Notifier
from alerts.db import AlertsDb
from alerts.delivery import Dispatcher
from alerts.engine import AlertEngine
from alerts.history import History
from alerts.settings import AlertSettings, KibanaLink
from alerts.stage import AlertsStage, AlertsWorker
from crawlers.crawl.progress import CrawlState
from crawlers.feeds.google import google_news_rss_url
from crawlers.feeds.poller import FeedPoller
from crawlers.feeds.state import FeedStateStore
from crawlers.fetch import Fetcher
from crawlers.robots import RobotsCache
from crawlers.settings import FeedSource
from enrich.brands import BrandMatcher
from enrich.duplicates import DuplicateDetector
from enrich.entities import EntityExtractor
from enrich.influence import InfluenceTracker
from enrich.language import LanguageDetectorService
from enrich.sentiment import SentimentBackend, open_sentiment
from enrich.stage import EnrichStage
from index.stage import IndexStage
from ingest.bus import Bus
from ingest.clock import Clock, SystemClock
from ingest.closing import Closing
from ingest.counters import SqliteCounters
from ingest.record import SourceKind
from ingest.runner import Backoff, Stage, StageRunner
from ingest.store import Store
from ingest.topics import Topics
from veille.backends import open_bus, open_store
from veille.settings import Settings
from veille.workers import Worker

if TYPE_CHECKING:
    from crawlers.crawl.runner import CrawlRunner

log = logging.getLogger(__name__)

STAGES = ("enrich", "index", "alerts")


class App(Closing):
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.topics = Topics(settings.bus.topic_prefix)

    # -- backends ------------------------------------------------------------------------------

    @cached_property
    def bus(self) -> Bus:
        bus = open_bus(self.settings.bus_url, self.settings.bus)
        bus.ensure_topics(self.topics.all())
        return bus

    @cached_property
    def store(self) -> Store:
        return open_store(self.settings.store_url, self.settings.store)

    @cached_property
    def counters(self) -> SqliteCounters:
        return SqliteCounters(self.settings.state_dir / "counters.db")

    @cached_property
    def feed_state(self) -> FeedStateStore:
        return FeedStateStore(self.settings.state_dir / "feeds.db")

    @cached_property
    def fetcher(self) -> Fetcher:
        return Fetcher(self.settings.sources.http)

    @cached_property
    def crawl_state(self) -> CrawlState:
        return CrawlState(self.settings.state_dir / "crawl.db")

    # -- stages --------------------------------------------------------------------------------

    @cached_property
    def sentiment(self) -> SentimentBackend:
        return open_sentiment(self.settings.enrich.sentiment)

    @cached_property
    def entities(self) -> EntityExtractor | None:
        """Loaded once per process: spaCy models take seconds to load."""
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
            for lang in self.entities.models:
                self.entities.pipeline(lang)

    def enrich_stage(self) -> EnrichStage:
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

    def index_stage(self) -> IndexStage:
        return IndexStage(self.store)

    @cached_property
    def alerts_db(self) -> AlertsDb:
        return AlertsDb(self.settings.state_dir / "alerts.db")

    def alerts_settings(self) -> AlertSettings:
        """The alerts settings, linking alerts to the Kibana that ``veille kibana setup``
        installed when ``alerts.kibana`` does not name another."""
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
        brands = [b.name for b in self.settings.brands]
        return AlertEngine(self.alerts_settings(), brands, self.alerts_db, self.clock)

    def notifiers(self) -> dict[str, Notifier]:
        return {name: build(name, c) for name, c in self.settings.alerts.channels.items()}

    def dispatcher(self) -> Dispatcher:
        return Dispatcher(
            History(self.alerts_db), self.notifiers(), self.settings.alerts.delivery, self.clock
        )

    def alerts_worker(self) -> AlertsWorker:
        return AlertsWorker(
            self.runner("alerts"),
            self.alerts_engine,
            self.dispatcher(),
            evaluate_every=self.settings.alerts.evaluate_every.total_seconds(),
            clock=self.clock,
        )

    def stage(self, name: str) -> tuple[Stage, str, str | None]:
        """A stage with its input and output topics."""
        if name == "enrich":
            return self.enrich_stage(), self.topics.raw, self.topics.enriched
        if name == "index":
            return self.index_stage(), self.topics.enriched, None
        if name == "alerts":
            return AlertsStage(self.alerts_engine), self.topics.enriched, None
        raise ValueError(f"unknown stage '{name}' (stages: {', '.join(STAGES)})")

    def runner(self, name: str) -> StageRunner:
        stage, source, sink = self.stage(name)
        runner_settings = self.settings.runner
        return StageRunner(
            stage,
            self.bus,
            source_topic=source,
            sink_topic=sink,
            dead_topic=self.topics.dead,
            group=self.topics.group(name),
            batch_size=runner_settings.batch_size,
            poll_timeout=runner_settings.poll_timeout.total_seconds(),
            backoff=Backoff(maximum=runner_settings.retry_max.total_seconds()),
            clock=self.clock,
            counters=self.counters,
        )

    # -- sources -------------------------------------------------------------------------------

    def feed_sources(self) -> list[FeedSource]:
        """The configured feeds, plus one Google News search feed per configured search."""
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

    # -- running -------------------------------------------------------------------------------

    def workers(self) -> list[Worker]:
        """Every loop that ``veille run`` runs: the sources, then each stage."""
        poller = self.feed_poller()
        workers = [Worker("poll", poller.run)]
        if self.settings.sources.sites:
            workers.append(Worker("crawl", self.crawl_runner().run))
        for name in self.stages():
            run = self.alerts_worker().run if name == "alerts" else self.runner(name).run
            workers.append(Worker(name, run))
        return workers

    def stages(self) -> tuple[str, ...]:
        """The stages this configuration runs (alerts can be switched off)."""
        return tuple(s for s in STAGES if s != "alerts" or self.settings.alerts.enabled)

    def drain(self, stop: threading.Event | None = None) -> None:
        """Run each stage until its input topic is empty (for the demo and tests); alerts also
        evaluate their rules and send what is due."""
        stop = stop or threading.Event()
        for name in self.stages():
            if name == "alerts":
                self.alerts_worker().run(stop, until_idle=True)
            else:
                self.runner(name).run(stop, until_idle=True)

    def close(self) -> None:
        """Close what was opened (backends, state files); what was not used was never opened."""
        for name in (
            "bus",
            "store",
            "fetcher",
            "counters",
            "feed_state",
            "crawl_state",
            "alerts_db",
        ):
            if name in self.__dict__:
                self.__dict__[name].close()
