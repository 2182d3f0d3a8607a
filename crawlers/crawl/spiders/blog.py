"""The blog spider: articles and their comments, found through feeds, sitemaps and listing pages.

From each start URL (a blog's home page) it reads:

- the feeds the site names (or the home page links to), for the latest articles;
- the sitemaps the site names (or robots.txt lists, or ``/sitemap.xml``), for all of them, with
  the date each last changed;
- the home page and the pages after it, for sites with neither; a list page that brings nothing
  new ends the walk.

An article is fetched when it is new, when its sitemap date moved, or while it is younger than
``comments_window`` (for its new comments), then with the ETag and Last-Modified of the last
fetch, so an unchanged page costs a 304. When its comments are paged (WordPress's
``/comment-page-2/``), the other pages are read with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response, TextResponse
from scrapy.utils.sitemap import Sitemap

from crawlers.crawl.progress import PageMark, Progress
from crawlers.crawl.spiders.base import META_OPTIONAL, CrawlContext, VeilleSpider
from crawlers.crawl.urls import request_url
from crawlers.extract.article import comment_pages, discover, extract_article, find_comments
from crawlers.extract.found import article_items, comment_items
from crawlers.feeds.parse import NotAFeed, parse_feed
from crawlers.items import Found
from crawlers.settings import BlogSite
from ingest.record import SourceKind

_MAX_SITEMAPS = 20


class BlogSpider(VeilleSpider):
    source_kind = SourceKind.BLOG

    def __init__(self, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(context, **kwargs)
        assert isinstance(self.site, BlogSite)
        self.blog: BlogSite = self.site
        self.pattern = re.compile(self.blog.article_pattern) if self.blog.article_pattern else None
        self.robots_sitemaps: dict[str, list[str]] = {}
        self.asked: set[str] = set()
        self.parsed: set[str] = set()
        self.dated: set[str] = set()
        self.lastmods: dict[str, str] = {}
        self.revisits: dict[str, str] = {}
        self.sitemaps_asked = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> BlogSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, BlogSpider)
        crawler.signals.connect(spider._robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(spider._revisit, signal=signals.spider_idle)
        return spider

    def _robots_parsed(self, robotparser: Any, request: Any) -> None:
        rp = getattr(robotparser, "rp", None)
        sitemaps = list(rp.sitemaps) if rp is not None else []
        self.robots_sitemaps[urlsplit(request.url).netloc] = sitemaps

    async def start(self) -> Any:
        for url in self.blog.start_urls:
            yield self.request(url, self.parse_home, exempt=True)
        for url in self.blog.feeds:
            yield self.request(url, self.parse_feed, exempt=True)
        for url in self.blog.sitemaps:
            yield self.request(url, self.parse_sitemap, exempt=True)

    # -- what to fetch -------------------------------------------------------------------------

    def _article_request(self, url: str, base: Response, lastmod: str | None = None) -> Any | None:
        """A request for an article, or None if it cannot have changed since the last crawl.

        A known article found without a date of change (in a feed, on a list) may have new
        comments while it is young; whether to fetch it again waits until the sitemaps have
        said whether it changed (`_revisit`, when the crawl has nothing else to do)."""
        if not self.on_site(url):
            return None
        if self.pattern and not self.pattern.search(url):
            return None
        key = request_url(url)
        if lastmod is not None:
            self.dated.add(key)
        if key in self.asked:
            if lastmod is not None:
                if key in self.parsed:
                    return Progress(pages=(PageMark(url=key, lastmod=lastmod),))
                self.lastmods[key] = lastmod
            return None
        known = self.context.state.page(self.site.name, key)
        headers: dict[str, str] = {}
        if known is not None:
            if lastmod is None:
                young = known.published is not None and (
                    self.now().timestamp() - known.published
                    < self.blog.comments_window.total_seconds()
                )
                if young:
                    self.revisits.setdefault(key, url)
                else:
                    self.count("articles_unchanged")
                return None
            if lastmod == known.lastmod:
                self.count("articles_unchanged")
                return None
            if known.etag:
                headers["If-None-Match"] = known.etag
            if known.last_modified:
                headers["If-Modified-Since"] = known.last_modified
        self.asked.add(key)
        return self.request(
            url,
            self.parse_article,
            base=base,
            headers=headers,
            meta={"lastmod": lastmod, "handle_httpstatus_list": [304]},
        )

    def _revisit(self) -> None:
        """When the crawl is idle: fetch again the young articles no sitemap dated."""
        due = {k: u for k, u in self.revisits.items() if k not in self.dated | self.asked}
        self.revisits.clear()
        if not due:
            return
        for key, url in due.items():
            known = self.context.state.page(self.site.name, key)
            headers = {}
            if known is not None and known.etag:
                headers["If-None-Match"] = known.etag
            if known is not None and known.last_modified:
                headers["If-Modified-Since"] = known.last_modified
            self.asked.add(key)
            request = self.request(
                url, self.parse_article, headers=headers, meta={"handle_httpstatus_list": [304]}
            )
            self.crawler.engine.crawl(request)
        raise DontCloseSpider

    # -- home, listings, feeds, sitemaps -------------------------------------------------------

    def parse_home(self, response: Response) -> Iterator[Any]:
        page = self.text_page(response)
        if page is None:
            return
        listing = discover(page.selector, page.url)
        if not self.blog.feeds:
            for feed in listing.feeds[:2]:
                yield self.request(feed, self.parse_feed, base=page, exempt=True)
        if not self.blog.sitemaps:
            netloc = urlsplit(page.url).netloc
            sitemaps = self.robots_sitemaps.get(netloc) or [urljoin(page.url, "/sitemap.xml")]
            for sitemap in sitemaps[:_MAX_SITEMAPS]:
                yield self.request(
                    sitemap, self.parse_sitemap, base=page, exempt=True, meta={META_OPTIONAL: True}
                )
        yield from self.parse_listing(page)

    def parse_listing(self, response: Response) -> Iterator[Any]:
        page = self.text_page(response)
        if page is None:
            return
        listing = discover(page.selector, page.url)
        new = 0
        for url in listing.articles:
            request = self._article_request(url, page)
            if request is not None:
                new += 1
                yield request
        key = response.meta.get("listing") or request_url(page.url)
        if not listing.next_page:
            yield Progress(walked=key)
        elif new or not self.context.state.walked(self.site.name, key):
            yield self.request(
                listing.next_page,
                self.parse_listing,
                base=page,
                pagination=True,
                meta={"listing": key},
            )

    def parse_feed(self, response: Response) -> Iterator[Any]:
        content_type = response.headers.get(b"Content-Type")
        try:
            feed = parse_feed(
                response.body,
                content_type.decode("latin-1") if content_type else None,
                response.url,
                tz=self.site.timezone,
                lang=self.site.lang,
            )
        except NotAFeed as exc:
            self.count("errors")
            self.count("errors/not_a_feed")
            self.last_error = f"{response.url}: {exc}"
            return
        for entry in feed.entries:
            if entry.link:
                request = self._article_request(urljoin(response.url, entry.link), response)
                if request is not None:
                    yield request

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        try:
            sitemap = Sitemap(response.body)
        except Exception:  # lxml raises several kinds on what is not XML
            self.count("errors/not_a_sitemap")
            return
        entries = list(sitemap)
        if sitemap.type == "sitemapindex":
            entries.sort(key=lambda e: e.get("lastmod", ""), reverse=True)
            for entry in entries:
                if self.sitemaps_asked >= _MAX_SITEMAPS:
                    break
                self.sitemaps_asked += 1
                yield self.request(entry["loc"], self.parse_sitemap, base=response, exempt=True)
            return
        for entry in entries:
            loc = entry.get("loc")
            if loc:
                request = self._article_request(loc, response, entry.get("lastmod"))
                if request is not None:
                    yield request

    # -- articles ------------------------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterator[Any]:
        key = request_url(response.url)
        lastmod = response.meta.get("lastmod") or self.lastmods.get(key)
        self.parsed.add(key)
        if response.status == 304:
            self.count("not_modified")
            yield Progress(pages=(PageMark(url=key, lastmod=lastmod),))
            return
        page = self.text_page(response)
        if page is None:
            return
        article = extract_article(
            page.selector,
            page.url,
            comments=self.blog.comments,
            tz=self.site.timezone,
            now=self.now(),
            lang=self.site.lang,
        )
        etag = response.headers.get(b"ETag")
        modified = response.headers.get(b"Last-Modified")
        mark = PageMark(
            url=key,
            etag=etag.decode("latin-1") if etag else None,
            last_modified=modified.decode("latin-1") if modified else None,
            lastmod=lastmod,
            published=(article.published or self.now()) if article.is_article else None,
        )
        if not article.is_article:
            self.count("not_articles")
            yield Progress(pages=(mark,))
            return
        items = article_items(article)
        yield from items
        self.count("comments", len(article.comments))
        yield from self._comment_pages(page, items[0])
        yield Progress(pages=(mark,))

    def _comment_pages(self, page: TextResponse, article: Found) -> Iterator[Any]:
        """Requests for the article's other pages of comments that ``page`` links to (Scrapy
        asks for each once a crawl)."""
        for url in comment_pages(page.selector, page.url):
            yield self.request(
                url, self.parse_comments, base=page, pagination=True, meta={"article": article}
            )

    def parse_comments(self, response: Response) -> Iterator[Any]:
        """A later page of an article's comments (WordPress's ``/comment-page-2/``)."""
        page = self.text_page(response)
        if page is None:
            return
        article: Found = response.meta["article"]
        comments = find_comments(
            page.selector,
            page.url,
            self.blog.comments,
            tz=self.site.timezone,
            now=self.now(),
            lang=article.lang,
        )
        self.count("comment_pages")
        self.count("comments", len(comments))
        yield from comment_items(comments, article, numbered=False)
        yield from self._comment_pages(page, article)
