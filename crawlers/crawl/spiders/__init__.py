"""The spiders: one for blogs, one base for forums that render HTML (phpBB, vBulletin, XenForo
and the generic one, told apart by their engine in `crawlers.extract.forum_html`), one for
Discourse, one for review sites.

`spider_for` picks the spider class of a configured site.
"""

from __future__ import annotations

from crawlers.crawl.spiders.base import VeilleSpider
from crawlers.settings import BlogSite, ReviewSite, Site


def spider_for(site: Site) -> type[VeilleSpider]:
    if isinstance(site, BlogSite):
        from crawlers.crawl.spiders.blog import BlogSpider

        return BlogSpider
    if isinstance(site, ReviewSite):
        from crawlers.crawl.spiders.review import ReviewSpider

        return ReviewSpider
    if site.engine == "discourse":
        from crawlers.crawl.spiders.discourse import DiscourseSpider

        return DiscourseSpider
    from crawlers.crawl.spiders.forum import ForumSpider

    return ForumSpider
