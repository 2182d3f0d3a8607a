"""The Discourse spider, through Discourse's JSON API (see `crawlers.extract.discourse_json`).

``/latest.json`` lists the most recently bumped topics first, each with its highest post
number: a topic whose number has not moved since the last crawl is skipped, and the listing's
pages stop at the first one where nothing moved. A topic that moved is read from its JSON; the
posts past the first chunk are asked for by id, twenty at a time, starting near the last post
already seen. The topic counts as read (its marker is kept) only when every chunk came back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy.http import Response

from crawlers.crawl.progress import Progress, ThreadMark
from crawlers.crawl.spiders.base import CrawlContext, VeilleSpider
from crawlers.extract import discourse_json
from crawlers.extract.forum_html import ForumPost
from crawlers.extract.found import post_item
from crawlers.items import Found
from ingest.record import SourceKind

# Posts deleted before the last one seen shift the stream; start this many ids earlier.
_SLACK = 20


class DiscourseSpider(VeilleSpider):
    source_kind = SourceKind.FORUM

    def __init__(self, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(context, **kwargs)
        self.pending: dict[int, int] = {}

    async def start(self) -> Any:
        for url in self.site.start_urls:
            root = discourse_json.root_of(url)
            yield self.request(urljoin(root, "/latest.json"), self.parse_latest, exempt=True)
        for search in self.context.searches:
            url = search
            if "/search" in urlsplit(search).path and ".json" not in search:
                url = search.replace("/search", "/search.json", 1)
            yield self.request(url, self.parse_search, exempt=True)
        for thread in self.context.state.unfinished_threads(self.site.name):
            yield self.request(
                thread.last_page,
                self.parse_topic,
                exempt=True,
                meta={"last": thread.last_position},
            )

    def _json(self, response: Response) -> Any:
        try:
            return json.loads(response.body)
        except ValueError:
            self.count("errors")
            self.count("errors/not_json")
            self.last_error = f"not JSON: {response.url}"
            return None

    def _topics(self, topics: list[discourse_json.Topic], response: Response) -> Iterator[Any]:
        root = discourse_json.root_of(response.url)
        for topic in topics:
            key = topic.url(root)
            known = self.context.state.thread(self.site.name, key)
            if known is not None and known.complete and known.marker == topic.marker:
                self.count("threads_unchanged")
                continue
            yield self.request(
                urljoin(root, f"/t/{topic.slug}/{topic.id}.json"),
                self.parse_topic,
                base=response,
                exempt=True,
                meta={"marker": topic.marker, "last": known.last_position if known else None},
            )

    def parse_latest(self, response: Response) -> Iterator[Any]:
        doc = self._json(response)
        if doc is None:
            return
        try:
            topics, next_url = discourse_json.latest(doc, response.url)
        except ValueError as exc:
            self.count("errors/not_a_topic_list")
            self.last_error = str(exc)
            return
        requests = list(self._topics(topics, response))
        yield from requests
        key = response.meta.get("listing") or response.url
        if not next_url:
            yield Progress(walked=key)
        elif requests or not self.context.state.walked(self.site.name, key):
            yield self.request(
                next_url,
                self.parse_latest,
                base=response,
                pagination=True,
                exempt=True,
                meta={"listing": key},
            )

    def parse_search(self, response: Response) -> Iterator[Any]:
        doc = self._json(response)
        if not isinstance(doc, dict):
            return
        topics, _ = discourse_json.latest({"topic_list": {"topics": doc.get("topics") or []}}, "")
        yield from self._topics(topics, response)

    def _found(
        self, posts: list[ForumPost], title: str | None, thread: str, last: int | None
    ) -> Iterator[Found]:
        for post in posts:
            if last is None or post.position is None or post.position > last:
                yield post_item(post, thread, title, self.site.lang)

    def parse_topic(self, response: Response) -> Iterator[Any]:
        doc = self._json(response)
        if doc is None:
            return
        try:
            page = discourse_json.topic(doc, response.url, tz=self.site.timezone)
        except ValueError as exc:
            self.count("errors/not_a_topic")
            self.last_error = str(exc)
            return
        root = discourse_json.root_of(response.url)
        thread = page.topic.url(root)
        last = response.meta.get("last")
        yield from self._found(page.posts, page.topic.title, thread, last)
        loaded = {int(p.native_id) for p in page.posts if p.native_id}
        begin = max(len(page.posts), (last or 0) - _SLACK)
        missing = [i for i in page.stream[begin:] if i not in loaded]
        chunks = [
            missing[i : i + discourse_json.POSTS_PER_REQUEST]
            for i in range(0, len(missing), discourse_json.POSTS_PER_REQUEST)
        ]
        seen = max([p.position or 0 for p in page.posts] + [last or 0]) or None
        yield Progress(
            thread=ThreadMark(
                thread_url=thread,
                last_position=seen,
                last_page=response.url,
                page_start=0,
                marker=response.meta.get("marker"),
                complete=not chunks,
            )
        )
        self.pending[page.topic.id] = len(chunks)
        for ids in chunks:
            yield self.request(
                discourse_json.posts_url(root, page.topic.id, ids),
                self.parse_posts,
                base=response,
                exempt=True,
                meta={
                    "ids": ids,
                    "topic": page.topic,
                    "last": last,
                    "marker": response.meta.get("marker"),
                    "topic_url": response.url,
                },
            )

    def parse_posts(self, response: Response) -> Iterator[Any]:
        doc = self._json(response)
        if doc is None:
            return
        topic: discourse_json.Topic = response.meta["topic"]
        root = discourse_json.root_of(response.url)
        wanted = set(response.meta["ids"])
        try:
            posts = discourse_json.posts(doc, root, topic.slug, topic.id, tz=self.site.timezone)
        except ValueError as exc:
            self.count("errors/not_a_post_stream")
            self.last_error = str(exc)
            return
        posts = [p for p in posts if p.native_id and int(p.native_id) in wanted]
        thread = topic.url(root)
        yield from self._found(posts, topic.title, thread, response.meta.get("last"))
        self.pending[topic.id] -= 1
        highest = max([p.position or 0 for p in posts] + [0]) or None
        yield Progress(
            thread=ThreadMark(
                thread_url=thread,
                last_position=highest,
                last_page=response.meta["topic_url"],
                page_start=0,
                marker=response.meta.get("marker"),
                complete=self.pending[topic.id] == 0,
            )
        )
