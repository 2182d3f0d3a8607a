"""The spider for forums that render HTML: phpBB, vBulletin, XenForo, and any other engine
described by selectors (the generic engine). A thread page where the engine's selectors find no
post is read by its structure (`crawlers.extract.posts`).

From the start URLs (the forum's index or boards) and the site's search URLs, it walks boards
and their pages, then threads and their pages. Boards list threads with what changes when
someone replies (the last post's link or date, the reply count); a thread whose marker has not
changed since the last crawl is not fetched. One that changed is read from the page where the
last crawl stopped, and only posts after the last one seen are yielded. Boards list the most
recently active threads first, so a board page where nothing changed ends the walk of that
board.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from scrapy import Request
from scrapy.http import Response

from crawlers.crawl.middlewares.urlpolicy import META_EXEMPT
from crawlers.crawl.progress import Progress, ThreadMark
from crawlers.crawl.spiders.base import CrawlContext, VeilleSpider
from crawlers.crawl.urls import request_url
from crawlers.extract.forum_html import ListingPage, ThreadLink, html_engine
from crawlers.extract.found import post_item
from crawlers.extract.posts import structural_thread
from crawlers.settings import ForumSite
from ingest.record import SourceKind


class ForumSpider(VeilleSpider):
    source_kind = SourceKind.FORUM

    def __init__(self, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(context, **kwargs)
        assert isinstance(self.site, ForumSite)
        self.engine = html_engine(self.site.engine, self.site.markup)

    async def start(self) -> Any:
        for url in self.site.start_urls:
            yield self.request(url, self.parse_listing, exempt=True)
        for url in self.context.searches:
            yield self.request(url, self.parse_listing, exempt=True, meta={"search": True})
        for thread in self.context.state.unfinished_threads(self.site.name):
            yield self.request(
                thread.last_page,
                self.parse_thread,
                exempt=True,
                meta={
                    "thread": thread.thread,
                    "start": thread.page_start,
                    "last": thread.last_position,
                },
            )

    # -- boards, indexes, search results -------------------------------------------------------

    def parse_listing(self, response: Response) -> Iterator[Any]:
        page = self.text_page(response)
        if page is None:
            return
        sel = page.selector
        if self.engine.looks_like_thread(sel):  # a start URL that is a thread
            yield from self.parse_thread(page)
            return
        listing = self.engine.parse_listing(sel, page.url)
        if response.meta.get("search") and not listing.threads:
            listing = self._search_results(page, listing)
        for board in listing.boards:
            yield self.request(board, self.parse_listing, base=page)
        key = response.meta.get("listing") or request_url(page.url)
        changed = 0
        for link in listing.threads:
            request = self._thread_request(link, page)
            if request is None:
                self.count("threads_unchanged")
                continue
            changed += 1
            yield request
        if not listing.next_page:
            yield Progress(walked=key)
        elif changed or not listing.threads or not self.context.state.walked(self.site.name, key):
            # Boards list the latest active threads first: past a page where nothing changed,
            # nothing did, once the board was read to its end.
            meta: dict[str, Any] = {"listing": key}
            if response.meta.get("search"):
                meta.update({"search": True, META_EXEMPT: True})
            yield self.request(
                listing.next_page, self.parse_listing, base=page, pagination=True, meta=meta
            )

    def _search_results(self, page: Response, listing: ListingPage) -> ListingPage:
        links = [
            page.urljoin(href)
            for href in page.css("a::attr(href)").getall()
            if self.engine.is_thread_link(page.urljoin(href))
        ]
        threads = [ThreadLink(url=u) for u in dict.fromkeys(links)]
        return ListingPage(url=listing.url, boards=[], threads=threads, next_page=listing.next_page)

    def _thread_request(self, link: ThreadLink, page: Response) -> Request | None:
        key = self.engine.thread_of(link.url) or request_url(link.url)
        known = self.context.state.thread(self.site.name, key)
        unchanged = known is not None and known.complete and known.marker == link.marker
        if unchanged and link.marker is not None:
            return None
        url, start, last = link.url, None, None
        if known is not None:
            url, start, last = known.last_page, known.page_start, known.last_position
        meta = {"thread": key, "marker": link.marker, "start": start, "last": last}
        return self.request(url, self.parse_thread, base=page, meta=meta)

    # -- threads -------------------------------------------------------------------------------

    def parse_thread(self, response: Response) -> Iterator[Any]:
        page = self.text_page(response)
        if page is None:
            return
        meta = page.meta
        start = meta.get("start")
        thread = self.engine.parse_thread(
            page.selector,
            page.url,
            tz=self.site.timezone,
            now=self.now(),
            lang=self.site.lang,
            start=start,
            thread_url=meta.get("thread"),
        )
        if not thread.posts and not thread.skipped:
            # The engine's selectors found no post (a changed theme): read the page's structure.
            found, _ = structural_thread(
                page.selector, page.url, tz=self.site.timezone, now=self.now(), lang=self.site.lang
            )
            if found.posts:
                self.count("threads_read_by_structure")
                offset = start or 0
                posts = [replace(p, position=offset + i + 1) for i, p in enumerate(found.posts)]
                thread = replace(thread, posts=posts, lang=thread.lang or found.lang)
        if thread.skipped:
            self.count("posts_unreadable", thread.skipped)
        if not thread.posts and not thread.skipped:
            self.count("threads_without_posts")
        last = meta.get("last")
        positions = [p.position for p in thread.posts if p.position is not None]
        page_start = self.engine.page_start(page.selector, page.url)
        if page_start is None:
            page_start = start if start is not None else 0
        for post in thread.posts:
            if last is not None and post.position is not None and post.position <= last:
                continue
            yield post_item(post, thread.thread_url, thread.title, thread.lang)
        highest = max([*positions, last or 0]) or None
        yield Progress(
            thread=ThreadMark(
                thread_url=thread.thread_url,
                last_position=highest,
                last_page=request_url(page.url),
                page_start=page_start,
                marker=meta.get("marker"),
                complete=thread.next_page is None,
            )
        )
        if thread.next_page:
            yield self.request(
                thread.next_page,
                self.parse_thread,
                base=page,
                pagination=True,
                meta={
                    "thread": thread.thread_url,
                    "marker": meta.get("marker"),
                    "start": page_start + len(thread.posts) + thread.skipped,
                    "last": last,
                },
            )
