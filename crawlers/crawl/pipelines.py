"""Item pipelines, one per concern, in order:

1. `NormalisePipeline`: a `Found` becomes a `Mention` (id from its permalink, site, source,
   thread, parent, dates in UTC); one that cannot be is dropped and counted;
2. `DeduplicatePipeline`: a mention this site already published (in this crawl or an earlier
   one) is dropped, so a crawl publishes only what is new;
3. `PublishPipeline`: mentions go to ``mentions.raw`` in batches. After each batch is on the
   bus, its mentions are recorded as seen and the `Progress` items that followed them are
   applied to the crawl state, never before: a crawl killed between the two publishes again
   (the store keeps each mention once), it never loses.

The pipelines reach the bus, the state and the clock through the spider's `CrawlContext`.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Self

from pydantic import ValidationError
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro

from crawlers.crawl.progress import Progress
from crawlers.crawl.spiders.base import VeilleSpider
from crawlers.crawl.stats import count
from crawlers.items import Found, to_mention
from ingest.errors import TransientError
from ingest.record import Mention
from ingest.topics import partition_key

log = logging.getLogger(__name__)


class _Stage:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    @property
    def spider(self) -> VeilleSpider:
        spider = self.crawler.spider
        if not isinstance(spider, VeilleSpider):
            raise TypeError("Veille's pipelines serve Veille's spiders only")
        return spider

    def count(self, key: str, n: int = 1) -> None:
        count(self.crawler, key, n)


class NormalisePipeline(_Stage):
    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Found):
            return item
        spider = self.spider
        context = spider.context
        try:
            return to_mention(
                item,
                source=context.site.name,
                kind=spider.source_kind,
                fetched=context.clock.now(),
                lang=context.site.lang,
            )
        except (ValueError, ValidationError) as exc:
            self.count("invalid")
            reason = str(exc).splitlines()[0]
            raise DropItem(f"{item.url}: not a valid mention ({reason})", "WARNING") from None


class DeduplicatePipeline(_Stage):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.taken: set[str] = set()

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Mention):
            return item
        context = self.spider.context
        if item.id in self.taken or not context.state.unseen(context.site.name, [item.id]):
            self.count("already_seen")
            raise DropItem(f"{item.url}: already published", "DEBUG")
        self.taken.add(item.id)
        return item


class PublishPipeline(_Stage):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.buffer: list[Mention | Progress] = []
        self.waiting = 0
        self.batch_size = crawler.settings.getint("VEILLE_BATCH_SIZE", 200)
        self.failed = False

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Mention | Progress):
            self.buffer.append(item)
            self.waiting += isinstance(item, Mention)
            if self.waiting >= self.batch_size:
                self.flush()
        return item

    def close_spider(self) -> None:
        self.flush(final=True)

    def flush(self, *, final: bool = False) -> None:
        if self.failed or not self.buffer:
            return
        context = self.spider.context
        site = context.site.name
        batch, self.buffer, self.waiting = self.buffer, [], 0
        mentions = [m for m in batch if isinstance(m, Mention)]
        records = [(partition_key(m), m.to_json()) for m in mentions]
        for attempt in range(3):
            try:
                if records:
                    context.bus.publish(context.topic, records)
                break
            except TransientError as exc:
                if attempt == 2:
                    self.failed = True
                    self.count("bus_unavailable")
                    log.error("%s: the bus did not take %d mentions: %s", site, len(records), exc)
                    if not final:
                        deferred_from_coro(
                            self.crawler.engine.close_spider_async(reason="bus_unavailable")
                        )
                    return
                time.sleep(0.5 * 2**attempt)
        now = context.clock.now().timestamp()
        context.state.mark_seen(site, [m.id for m in mentions], now)
        for item in batch:
            if isinstance(item, Progress):
                context.state.save_pages(site, item.pages, now)
                if item.thread is not None:
                    context.state.save_thread(site, item.thread, now)
                if item.walked is not None:
                    context.state.save_walk(site, item.walked, now)
        self.count("published", len(mentions))
