"""The spiders: one for blogs, one base for forums that render HTML (phpBB, vBulletin, XenForo
and the generic one, told apart by their engine in `crawlers.extract.forum`), one for Discourse.

`spider_for` picks the spider class of a configured site.
"""

from __future__ import annotations

from crawlers.settings import BlogSite, ForumSite
from crawlers.spiders.base import VeilleSpider


def spider_for(site: BlogSite | ForumSite) -> type[VeilleSpider]:
    if isinstance(site, BlogSite):
        from crawlers.spiders.blog import BlogSpider

        return BlogSpider
    if site.engine == "discourse":
        from crawlers.spiders.discourse import DiscourseSpider

        return DiscourseSpider
    from crawlers.spiders.forum import ForumSpider

    return ForumSpider
