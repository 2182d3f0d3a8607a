"""Settings the crawlers own: feed sources, Google News searches, blogs, forums and review sites
to crawl, social-network connectors (their models are in `crawlers.networks.settings`), and how
to fetch politely."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from crawlers.networks.settings import ConnectorSettings
from ingest.record import SourceKind
from ingest.settings import Duration, Strict, TimeZone, require_unique

DEFAULT_USER_AGENT = (
    "Veille/0.1 (e-reputation monitoring; +https://github.com/veille-project/veille)"
)


DEFAULT_TIMEZONE = "Europe/Paris"
"""Where dates printed without a zone are read, unless a source says otherwise."""


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"expected an http:// or https:// URL, not '{value}'")
    return value


class FeedSource(Strict):
    """An RSS, Atom or JSON Feed to poll."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    url: str
    kind: SourceKind = SourceKind.BLOG
    lang: str | None = None
    """The feed's language or locale (``fr``, ``en-US``), when it does not declare one."""
    timezone: TimeZone = DEFAULT_TIMEZONE
    """For dates that the feed writes without a time zone."""
    interval: Duration = timedelta(minutes=15)
    respect_robots: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)


class GoogleNewsSource(Strict):
    """A Google News RSS search built from a brand's query (see `crawlers.feeds.google`)."""

    brand: str
    lang: str = "fr"
    country: str = "FR"
    interval: Duration = timedelta(minutes=30)


class HttpSettings(Strict):
    """How Veille fetches: who it says it is, how long it waits, how much it reads."""

    user_agent: str = DEFAULT_USER_AGENT
    proxy: str | None = None
    connect_timeout: Duration = timedelta(seconds=10)
    read_timeout: Duration = timedelta(seconds=30)
    total_timeout: Duration = timedelta(seconds=60)
    max_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    concurrency: Annotated[int, Field(ge=1, le=64)] = 4
    host_delay: Duration = timedelta(seconds=1)
    robots_cache: Duration = timedelta(hours=12)


class FeedPollerSettings(Strict):
    """Feed-poller behaviour: backoff after failures, how long seen ids are remembered."""

    max_backoff: Duration = timedelta(hours=6)
    hard_failure_delay: Duration = timedelta(hours=24)
    forget_after: Duration = timedelta(days=30)


def _selector(value: str) -> str:
    """Check a selector now, so a typo stops the start-up instead of every crawl."""
    from crawlers.extract.select import check_selector

    check_selector(value)
    return value


Selector = Annotated[str, Field(min_length=1), AfterValidator(_selector)]
"""A CSS selector (``div.post``, ``time::attr(datetime)``) or an XPath (``xpath://div[...]``,
or any expression that starts with ``/``, ``./`` or ``(``)."""


class ForumMarkup(Strict):
    """Where a forum engine puts things, as selectors: the generic spider's configuration, and
    the overrides a site can give to an engine's spider."""

    board_links: Selector | None = None
    """On the index and board pages: links to (sub-)boards."""
    thread_links: Selector | None = None
    """On board, listing and search pages: links to threads (or to posts in a thread)."""
    thread_row: Selector | None = None
    """On board pages: one element per thread, to read its reply count and last post."""
    thread_replies: Selector | None = None
    """Inside a thread row: the number of replies (text with digits)."""
    thread_last: Selector | None = None
    """Inside a thread row: what changes when someone replies (the last post's link or date)."""
    next_page: Selector | None = None
    """The link to the next page, on listings and threads."""
    thread_title: Selector | None = None
    """On a thread page: the thread's title."""
    post: Selector | None = None
    """On a thread page: one element per post."""
    post_id: Selector | None = None
    """Inside a post: its id (digits are kept). Default: the post element's ``id``."""
    permalink: Selector | None = None
    """Inside a post: the link to the post itself."""
    position: Selector | None = None
    """Inside a post: its number in the thread (``#12``)."""
    author: Selector | None = None
    author_link: Selector | None = None
    date: Selector | None = None
    """Inside a post: the date (an element with ``datetime``, ``data-time`` or ``title``, or
    text such as ``lun. 2 nov. 2026 10:00`` or ``Aujourd'hui, 14:03``)."""
    content: Selector | None = None
    quote: list[Selector] = []
    """Inside the content: quotes of earlier posts, removed from the post's own text."""
    remove: list[Selector] = []
    """Inside the content: anything else to drop (signatures, "edited by" notes, buttons)."""
    likes: Selector | None = None


class CommentMarkup(Strict):
    """Where a blog puts its comments, when the built-in detection does not find them."""

    comment: Selector
    author: Selector | None = None
    date: Selector | None = None
    content: Selector | None = None
    permalink: Selector | None = None
    remove: list[Selector] = []


def _pattern(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression '{value}': {exc}") from None
    return value


Pattern = Annotated[str, AfterValidator(_pattern)]


class CrawlSite(Strict):
    """What blogs and forums share: where to start, how often, how far, and manners."""

    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")]
    start_urls: Annotated[list[str], Field(min_length=1)]
    lang: str | None = None
    timezone: TimeZone = DEFAULT_TIMEZONE
    """For dates that the site prints without a time zone (most forums do)."""
    interval: Duration = timedelta(minutes=30)
    max_pages: Annotated[int, Field(ge=1)] | None = None
    """Pages fetched per crawl at most (default: ``sources.crawl.max_pages``)."""
    max_depth: Annotated[int, Field(ge=0)] | None = None
    delay: Duration | None = None
    """Seconds between two requests to this site (default: ``sources.http.host_delay``)."""
    concurrency: Annotated[int, Field(ge=1, le=16)] | None = None
    allow: list[Pattern] = []
    """If given, only URLs that match one of these regular expressions are followed."""
    deny: list[Pattern] = []
    """URLs that match one of these regular expressions are never followed."""

    @field_validator("start_urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        return [_http_url(u) for u in urls]


class BlogSite(CrawlSite):
    """A blog or news site: articles found through feeds, sitemaps and listing pages."""

    feeds: list[str] = []
    """Feeds that list the articles (default: those the home page links to)."""
    sitemaps: list[str] = []
    """Sitemaps (default: those robots.txt names, else /sitemap.xml)."""
    article_pattern: Pattern | None = None
    """A regular expression that article URLs match; other pages are only followed."""
    comments: CommentMarkup | None = None
    comments_window: Duration = timedelta(days=14)
    """Articles younger than this are fetched again at each crawl, for their new comments."""

    @field_validator("feeds", "sitemaps")
    @classmethod
    def _links(cls, urls: list[str]) -> list[str]:
        return [_http_url(u) for u in urls]


ForumEngine = Literal["phpbb", "vbulletin", "xenforo", "discourse", "generic"]


class ForumSite(CrawlSite):
    """A forum: boards, threads and posts, read through its engine's markup (or Discourse's JSON
    API). ``start_urls`` are the forum's index or boards."""

    engine: ForumEngine
    markup: ForumMarkup | None = None
    """The generic engine's selectors, or overrides of a known engine's."""
    search: list[str] = []
    """Site-search URLs to start from as well. ``{brand}`` is replaced by each brand's name:
    ``https://forum.example/search.php?keywords={brand}``."""

    @field_validator("search")
    @classmethod
    def _search(cls, urls: list[str]) -> list[str]:
        for url in urls:
            _http_url(url)
            rest = url.replace("{brand}", "")
            if "{" in rest or "}" in rest:
                raise ValueError(f"only {{brand}} can be replaced in a search URL: '{url}'")
        return urls

    @model_validator(mode="after")
    def _generic_needs_markup(self) -> ForumSite:
        if self.engine == "generic":
            missing = [
                key
                for key in ("thread_links", "post", "content")
                if self.markup is None or getattr(self.markup, key) is None
            ]
            if missing:
                raise ValueError(
                    f"the generic engine needs markup selectors for: {', '.join(missing)}"
                )
        return self


class ReviewSite(CrawlSite):
    """A review site, or a shop's product pages: pages whose schema.org ``Review`` markup
    (JSON-LD, microdata or RDFa) is read, each review one mention (`crawlers.extract.reviews`).
    ``start_urls`` are pages of reviews (a company's page on a review site, a product page), or
    listings that link to them (see ``review_pattern``)."""

    review_pattern: Pattern | None = None
    """A regular expression that the URLs of pages of reviews match: links to them on the start
    pages are followed (a shop's category page to its products). Default: only the start URLs
    and the pages after them are read."""
    next_page: Selector | None = None
    """The link to the next page of reviews (default: ``rel="next"``)."""
    max_reviews: Annotated[int, Field(ge=1, le=10_000)] = 500
    """Reviews read per page at most; the rest are counted and left."""


Site = BlogSite | ForumSite | ReviewSite
"""Any site the spiders crawl."""


class CrawlSettings(Strict):
    """How the spiders crawl: limits, manners, retries, and when they forget."""

    max_pages: Annotated[int, Field(ge=1)] = 500
    max_depth: Annotated[int, Field(ge=0)] = 6
    """Links followed from a start URL; going to the next page of a list does not count."""
    max_pagination: Annotated[int, Field(ge=1)] = 100
    """Pages followed in one list or thread, per crawl."""
    concurrency: Annotated[int, Field(ge=1, le=256)] = 16
    per_site_concurrency: Annotated[int, Field(ge=1, le=16)] = 2
    autothrottle: bool = True
    autothrottle_target: Annotated[float, Field(gt=0, le=16)] = 1.0
    autothrottle_max_delay: Duration = timedelta(seconds=60)
    retries: Annotated[int, Field(ge=0, le=10)] = 2
    backoff: Duration = timedelta(seconds=2)
    """The wait before the first retry of a failed page; it doubles at each retry."""
    max_retry_after: Duration = timedelta(minutes=10)
    """A site that asks to wait longer than this (``Retry-After``) is left for the next crawl."""
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 200
    """Mentions published to the bus together."""
    forget_after: Duration = timedelta(days=180)
    """Posts not seen again for this long are forgotten (a re-crawl may publish them again; the
    store keeps them once)."""
    trap_params: list[str] = []
    """More query parameters that make a URL a crawler trap (added to the built-in list)."""


class SourcesSettings(Strict):
    feeds: list[FeedSource] = []
    google_news: list[GoogleNewsSource] = []
    blogs: list[BlogSite] = []
    forums: list[ForumSite] = []
    reviews: list[ReviewSite] = []
    """Review sites and shops whose pages carry schema.org reviews."""
    networks: list[ConnectorSettings] = []
    """Social networks, one connector each (`crawlers.networks`)."""
    http: HttpSettings = HttpSettings()
    poller: FeedPollerSettings = FeedPollerSettings()
    crawl: CrawlSettings = CrawlSettings()

    @property
    def sites(self) -> list[Site]:
        """Every site to crawl: blogs, then forums, then review sites."""
        return [*self.blogs, *self.forums, *self.reviews]

    @model_validator(mode="after")
    def _unique_sites(self) -> SourcesSettings:
        require_unique([s.name for s in self.sites], "blog, forum and review site names")
        require_unique([n.name for n in self.networks], "network connector names")
        return self

    @field_validator("feeds")
    @classmethod
    def _unique(cls, feeds: list[FeedSource]) -> list[FeedSource]:
        names = [f.name for f in feeds]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"feed names must be unique; repeated: {', '.join(dupes)}")
        return feeds
