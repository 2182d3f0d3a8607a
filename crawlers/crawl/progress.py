"""How far the spiders got: what they yield to be remembered (`Progress`, with `PageMark` and
`ThreadMark`), and where it is remembered between crawls, in SQLite (``<state_dir>/crawl.db``):

- ``sites``: each site's schedule and the outcome of its last crawl (for ``veille status``);
- ``pages``: pages fetched, with their validators (ETag, Last-Modified), the sitemap's
  ``lastmod`` and the article's date, so a crawl fetches again only what may have changed;
- ``threads``: for each forum thread, the last post read, the page it is on and what the board
  listing said about the thread then (its marker), so a thread nobody answered is not fetched,
  and one that got replies is read from where the last crawl stopped;
- ``walks``: the lists (boards, a blog's pages) read once to their end; until then a crawl reads
  every page of them, even where nothing changed, so what an interrupted crawl did not reach is
  not forgotten;
- ``seen``: the mentions already published, so a crawl publishes only what is new.

Nothing is recorded before the posts it covers are on the bus (see `crawlers.crawl.pipelines`):
a crawl killed at any moment is redone, never skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from crawlers.statefile import StateFile


@dataclass(frozen=True, slots=True)
class PageMark:
    """A page fetched: its validators and what the sitemap said, for the next crawl."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    lastmod: str | None = None
    published: datetime | None = None


@dataclass(frozen=True, slots=True)
class ThreadMark:
    """How far a thread was read: the last post, the page it is on and where that page starts.
    ``marker`` (what the board listing said) is kept once the thread was read to its end."""

    thread_url: str
    last_position: int | None
    last_page: str
    page_start: int | None
    marker: str | None = None
    complete: bool = False


@dataclass(frozen=True, slots=True)
class Progress:
    pages: tuple[PageMark, ...] = ()
    thread: ThreadMark | None = None
    walked: str | None = None
    """A list (a board, a blog's pages) read to its last page: from now on, a crawl may stop
    at the first of its pages where nothing changed."""


_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS sites (
        name TEXT PRIMARY KEY,
        next_crawl REAL NOT NULL DEFAULT 0,
        last_start REAL,
        last_end REAL,
        last_status TEXT,
        last_error TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        crawls INTEGER NOT NULL DEFAULT 0,
        pages INTEGER NOT NULL DEFAULT 0,
        mentions INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        last_pages INTEGER NOT NULL DEFAULT 0,
        last_mentions INTEGER NOT NULL DEFAULT 0,
        last_errors INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS pages (
        site TEXT NOT NULL, url TEXT NOT NULL, etag TEXT, last_modified TEXT, lastmod TEXT,
        published REAL, crawled REAL NOT NULL,
        PRIMARY KEY (site, url)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS threads (
        site TEXT NOT NULL, thread TEXT NOT NULL, last_position INTEGER, last_page TEXT NOT NULL,
        page_start INTEGER, marker TEXT, updated REAL NOT NULL,
        complete INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (site, thread)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS walks (
        site TEXT NOT NULL, url TEXT NOT NULL, walked REAL NOT NULL,
        PRIMARY KEY (site, url)) WITHOUT ROWID""",
]


@dataclass(frozen=True)
class SiteState:
    name: str
    next_crawl: float = 0.0
    last_start: float | None = None
    last_end: float | None = None
    last_status: str | None = None
    last_error: str | None = None
    failures: int = 0
    crawls: int = 0
    pages: int = 0
    mentions: int = 0
    errors: int = 0
    last_pages: int = 0
    last_mentions: int = 0
    last_errors: int = 0


@dataclass(frozen=True)
class PageState:
    url: str
    etag: str | None
    last_modified: str | None
    lastmod: str | None
    published: float | None
    crawled: float


@dataclass(frozen=True)
class ThreadState:
    thread: str
    last_position: int | None
    last_page: str
    page_start: int | None
    marker: str | None
    updated: float
    complete: bool


class CrawlState(StateFile):
    """The tables above; each site's row is a `SiteState`."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA, seen=("site", "mention"))

    # -- sites ---------------------------------------------------------------------------------

    def site(self, name: str) -> SiteState:
        rows = self.rows(SiteState, "sites", "WHERE name = ?", (name,))
        return rows[0] if rows else SiteState(name)

    def sites(self) -> list[SiteState]:
        return self.rows(SiteState, "sites", "ORDER BY name")

    def save_site(self, state: SiteState) -> None:
        self.replace("sites", state)

    # -- pages and threads ---------------------------------------------------------------------

    def page(self, site: str, url: str) -> PageState | None:
        rows = self.rows(PageState, "pages", "WHERE site = ? AND url = ?", (site, url))
        return rows[0] if rows else None

    def save_pages(self, site: str, marks: Iterable[PageMark], now: float) -> None:
        rows = [
            (
                site,
                m.url,
                m.etag,
                m.last_modified,
                m.lastmod,
                m.published.timestamp() if m.published else None,
                now,
            )
            for m in marks
        ]
        if not rows:
            return
        with self.db.write() as conn:
            # A page fetched again without validators keeps the ones it had (a 304 has none); an
            # article keeps the first date it was known by.
            conn.executemany(
                "INSERT INTO pages VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (site, url) DO UPDATE"
                " SET etag = coalesce(excluded.etag, etag),"
                " last_modified = coalesce(excluded.last_modified, last_modified),"
                " lastmod = coalesce(excluded.lastmod, lastmod),"
                " published = coalesce(published, excluded.published),"
                " crawled = excluded.crawled",
                rows,
            )

    def thread(self, site: str, thread: str) -> ThreadState | None:
        rows = self.rows(ThreadState, "threads", "WHERE site = ? AND thread = ?", (site, thread))
        return rows[0] if rows else None

    def unfinished_threads(self, site: str) -> list[ThreadState]:
        """Threads a crawl began and did not read to their last page (it was stopped, a page
        failed): the next crawl resumes them wherever they are listed."""
        return self.rows(ThreadState, "threads", "WHERE site = ? AND complete = 0", (site,))

    def walked(self, site: str, url: str) -> bool:
        return bool(self.db.read("SELECT 1 FROM walks WHERE site = ? AND url = ?", (site, url)))

    def save_walk(self, site: str, url: str, now: float) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT OR REPLACE INTO walks VALUES (?, ?, ?)", (site, url, now))

    def save_thread(self, site: str, mark: ThreadMark, now: float) -> None:
        with self.db.write() as conn:
            previous = self.thread(site, mark.thread_url)
            last = mark.last_position
            if previous and previous.last_position is not None and last is not None:
                last = max(last, previous.last_position)
            marker = mark.marker if mark.complete else (previous.marker if previous else None)
            conn.execute(
                "INSERT OR REPLACE INTO threads VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    site,
                    mark.thread_url,
                    last,
                    mark.last_page,
                    mark.page_start,
                    marker,
                    now,
                    int(mark.complete),
                ),
            )
