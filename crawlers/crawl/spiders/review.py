"""The spider for review sites and shops: pages of schema.org reviews, each review one mention.

From each start URL (a company's page on a review site, a product page, or a listing of them)
it reads the reviews the page declares (`crawlers.extract.reviews`), follows the links that
``review_pattern`` names to more pages of reviews, and the link to the next page of each list
of reviews. Review lists show the newest first: once a list was read to its end, a page of it
that brings no review unseen before ends its walk, so a re-crawl reads the first page or two.

Ids are scoped by the list's first page (`crawlers.items.review_native`): a review pushed to page
2 by newer ones keeps its id, and the store keeps it once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from crawlers.crawl.progress import Progress
from crawlers.crawl.spiders.base import CrawlContext, VeilleSpider
from crawlers.crawl.urls import request_url
from crawlers.extract.found import review_items
from crawlers.extract.page import page_lang
from crawlers.extract.reviews import extract_reviews
from crawlers.extract.select import first_link
from crawlers.items import Found
from crawlers.settings import ReviewSite
from ingest.record import SourceKind, mention_id, site_of

_NEXT = "link[rel~=next], a[rel~=next]"


class ReviewSpider(VeilleSpider):
    source_kind = SourceKind.REVIEW

    def __init__(self, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(context, **kwargs)
        assert isinstance(self.site, ReviewSite)
        self.reviews: ReviewSite = self.site
        pattern = self.reviews.review_pattern
        self.pattern = re.compile(pattern) if pattern else None

    async def start(self) -> Any:
        for url in self.reviews.start_urls:
            yield self.request(url, self.parse_page, exempt=True, meta={"root": url})

    def parse_page(self, response: Response) -> Iterator[Any]:
        page = self.text_page(response)
        if page is None:
            return
        sel = page.selector
        root: str = response.meta.get("root") or page.url
        found = extract_reviews(
            sel,
            page.url,
            limit=self.reviews.max_reviews,
            tz=self.site.timezone,
            now=self.now(),
            lang=self.site.lang,
        )
        for kind, n in found.problems.items():
            self.count(f"reviews/{kind}", n)
        if found.examples:
            self.logger.info("%s: %s: %s", self.name, page.url, "; ".join(found.examples))
        self.count("reviews/read", len(found.reviews))
        items = review_items(found, root, page_lang(sel) or self.site.lang)
        yield from items
        if self.pattern is not None:
            for href in sel.css("a::attr(href)").getall():
                url = page.urljoin(href)
                if self.pattern.search(url) and self.on_site(url):
                    yield self.request(url, self.parse_page, base=page, meta={"root": url})
        key = request_url(root)
        next_page = first_link(sel, self.reviews.next_page or _NEXT)
        if not next_page:
            yield Progress(walked=key)
            return
        if items and not self._any_new(items) and self.context.state.walked(self.site.name, key):
            self.count("review_lists_unchanged")
            return
        yield self.request(
            page.urljoin(next_page),
            self.parse_page,
            base=page,
            pagination=True,
            meta={"root": root},
        )

    def _any_new(self, items: list[Found]) -> bool:
        ids = [mention_id(source=site_of(i.url), native_id=i.native) for i in items if i.native]
        return bool(self.context.state.unseen(self.site.name, ids))
