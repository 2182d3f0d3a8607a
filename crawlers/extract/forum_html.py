"""Forum pages to posts and thread lists, for the engines that render HTML: phpBB, vBulletin,
XenForo, and any other through selectors (the generic engine).

An engine is a `ForumMarkup` (where things are) plus a few rules that markup cannot say: how to
build a post's permalink, which URL names a thread, where a page's post numbering starts. A
site's ``markup`` settings override the engine's selectors one by one.

A post's permalink is what its mention id is derived from, so it must name that post alone and be
the same whoever finds the post: phpBB's ``viewtopic.php?p=1007`` (which the forum's feed links
to as well), vBulletin's ``showthread.php?p=456``, XenForo's ``/posts/301/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qsl, urldefrag, urljoin, urlsplit

from parsel import Selector

from crawlers.extract.dates import first_date
from crawlers.extract.page import base_url, canonical_link, page_lang
from crawlers.extract.select import date_texts, first, first_link, first_text, select, text_of
from crawlers.extract.text import node_text
from crawlers.settings import ForumMarkup

_DIGITS = re.compile(r"\d[\d\s.,\u00a0\u202f]*")


def number(text: str | None) -> int | None:
    """The first number in ``text``: ``"1 234 Réponses"`` -> 1234, ``"#12"`` -> 12."""
    if not text:
        return None
    match = _DIGITS.search(text)
    if not match:
        return None
    digits = re.sub(r"\D", "", match.group())
    return int(digits) if digits else None


def _first_id(text: str | None) -> str | None:
    match = re.search(r"\d+", text or "")
    return match.group() if match else None


def query_param(url: str, name: str) -> str | None:
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key == name:
            return value
    return None


@dataclass(frozen=True)
class ForumPost:
    """One post as the page shows it."""

    native_id: str | None
    url: str
    """The permalink; ``unique`` says whether it names this post alone without its fragment."""
    text: str
    author: str | None = None
    author_url: str | None = None
    published: datetime | None = None
    position: int | None = None
    likes: int | None = None
    parent_url: str | None = None
    unique: bool = True


@dataclass(frozen=True)
class ThreadPage:
    url: str
    thread_url: str
    """The thread's own URL (its first page), the same from every page of it."""
    title: str | None
    posts: list[ForumPost]
    next_page: str | None = None
    lang: str | None = None
    skipped: int = 0
    """Post elements that gave no post (empty, deleted, unreadable)."""


@dataclass(frozen=True)
class ThreadLink:
    """A thread as a board lists it; ``marker`` changes whenever someone replies."""

    url: str
    title: str | None = None
    replies: int | None = None
    marker: str | None = None


@dataclass(frozen=True)
class ListingPage:
    url: str
    boards: list[str] = field(default_factory=list)
    threads: list[ThreadLink] = field(default_factory=list)
    next_page: str | None = None


class HtmlEngine:
    """The generic engine: everything comes from the markup."""

    name = "generic"
    markup = ForumMarkup()

    def __init__(self, overrides: ForumMarkup | None = None) -> None:
        if overrides is not None:
            changes = overrides.model_dump(exclude_unset=True)
            self.markup = self.markup.model_copy(update=changes)

    # -- rules that markup cannot say; engines override them ------------------------------------

    title_link: str | None = None
    """A link to the thread's first page that thread pages carry (in their title)."""

    def thread_of(self, url: str) -> str | None:
        """The thread a URL belongs to, as the thread's own URL, when the URL alone tells."""
        return None

    def is_thread_link(self, url: str) -> bool:
        """Whether a link leads into a thread (on pages without thread-list markup: search
        results)."""
        return self.thread_of(url) is not None

    def thread_url(self, sel: Selector, url: str) -> str:
        canonical = canonical_link(sel, url)
        candidates = [canonical, url]
        if self.title_link:
            link = first_link(sel, self.title_link)
            candidates.append(urljoin(base_url(sel, url), link) if link else None)
        for candidate in candidates:
            thread = self.thread_of(candidate) if candidate else None
            if thread:
                return thread
        return canonical or url

    def page_start(self, sel: Selector, url: str) -> int | None:
        """How many posts come before this page's first, when the page or its URL says."""
        return None

    def permalink(self, post: Selector, native_id: str | None, base: str, thread: str) -> str:
        link = first_link(post, self.markup.permalink)
        if link:
            return urljoin(base, link)
        return f"{thread}#{native_id}" if native_id else thread

    def is_unique(self, permalink: str, thread: str) -> bool:
        return urldefrag(permalink).url != thread

    # -- pages ---------------------------------------------------------------------------------

    def looks_like_thread(self, sel: Selector) -> bool:
        return bool(select(sel, self.markup.post))

    def parse_thread(
        self,
        sel: Selector,
        url: str,
        *,
        tz: str = "UTC",
        now: datetime | None = None,
        lang: str | None = None,
        start: int | None = None,
        thread_url: str | None = None,
    ) -> ThreadPage:
        """The posts of one thread page. ``start`` (posts before this page) numbers the posts
        when neither the page nor its URL does; ``thread_url`` names the thread when the page
        does not (the generic engine cannot tell a thread's second page from its first)."""
        m = self.markup
        base = base_url(sel, url)
        thread = self.thread_url(sel, url)
        if thread_url and (self.name == "generic" or thread == url):
            thread = thread_url
        lang = page_lang(sel) or lang
        known_start = self.page_start(sel, url)
        start = known_start if known_start is not None else start
        posts: list[ForumPost] = []
        skipped = 0
        for index, node in enumerate(select(sel, m.post)):
            native_id = _first_id(first_text(node, m.post_id)) if m.post_id else None
            native_id = native_id or _first_id(node.attrib.get("id"))
            content = first(node, m.content) if m.content else node
            text = node_text(content, [*m.quote, *m.remove]) if content is not None else ""
            if not text:
                skipped += 1
                continue
            position = number(first_text(node, m.position)) if m.position else None
            if position is None and start is not None:
                position = start + index + 1
            author_link = first_link(node, m.author_link) if m.author_link else None
            permalink = self.permalink(node, native_id, base, thread)
            posts.append(
                ForumPost(
                    native_id=native_id,
                    url=permalink,
                    text=text,
                    author=first_text(node, m.author),
                    author_url=urljoin(base, author_link) if author_link else None,
                    published=first_date(date_texts(node, m.date), tz=tz, now=now, lang=lang),
                    position=position,
                    likes=number(first_text(node, m.likes)) if m.likes else None,
                    unique=self.is_unique(permalink, thread),
                )
            )
        next_page = first_link(sel, m.next_page)
        return ThreadPage(
            url=url,
            thread_url=thread,
            title=first_text(sel, m.thread_title),
            posts=posts,
            next_page=urljoin(base, next_page) if next_page else None,
            lang=lang,
            skipped=skipped,
        )

    def parse_listing(self, sel: Selector, url: str) -> ListingPage:
        """The boards and threads a board, index or search page links to."""
        m = self.markup
        base = base_url(sel, url)
        threads: list[ThreadLink] = []
        rows = select(sel, m.thread_row)
        if rows:
            for row in rows:
                href = first_link(row, m.thread_links)
                if not href:
                    continue
                last = first(row, m.thread_last)
                marker = None
                if last is not None:
                    marker = (
                        last.root
                        if isinstance(last.root, str)
                        else last.attrib.get("href")
                        or last.attrib.get("datetime")
                        or last.attrib.get("data-time")
                        or text_of(last)
                    )
                link = first(row, m.thread_links)
                threads.append(
                    ThreadLink(
                        url=urljoin(base, href),
                        title=text_of(link) if link is not None else None,
                        replies=number(first_text(row, m.thread_replies)),
                        marker=marker,
                    )
                )
        else:
            for link in select(sel, m.thread_links):
                href = link.root if isinstance(link.root, str) else link.attrib.get("href")
                if href:
                    threads.append(ThreadLink(url=urljoin(base, href), title=text_of(link)))
        boards = []
        for link in select(sel, m.board_links):
            href = link.root if isinstance(link.root, str) else link.attrib.get("href")
            if href:
                boards.append(urljoin(base, href))
        next_page = first_link(sel, m.next_page)
        return ListingPage(
            url=url,
            boards=list(dict.fromkeys(boards)),
            threads=list({t.url: t for t in threads}.values()),
            next_page=urljoin(base, next_page) if next_page else None,
        )


class _OneScript(HtmlEngine):
    """An engine whose threads and posts are pages of one script: threads ``{script}?t=ID``,
    permalinks ``{script}?p=ID``."""

    script: str

    def _thread(self, url: str, thread_id: str) -> str:
        return urljoin(url, f"{self.script}?t={thread_id}")

    def is_thread_link(self, url: str) -> bool:
        return self.script in urlsplit(url).path

    def permalink(self, post: Selector, native_id: str | None, base: str, thread: str) -> str:
        return urljoin(base, f"{self.script}?p={native_id}") if native_id else thread


class PhpBB(_OneScript):
    """phpBB 3.x (prosilver and its descendants). Permalinks ``viewtopic.php?p=ID``; threads
    ``viewtopic.php?t=ID``; pages numbered by ``start=``."""

    name = "phpbb"
    script = "viewtopic.php"
    markup = ForumMarkup(
        board_links="a.forumtitle",
        thread_row="ul.topiclist.topics > li.row",
        thread_links="a.topictitle",
        thread_replies="dd.posts",
        thread_last="dd.lastpost a[href*='viewtopic']",
        next_page=".pagination li.next a, .pagination a[rel=next]",
        thread_title="h2.topic-title, #page-body > h2",
        post="div.post",
        author="p.author .username, p.author .username-coloured, p.author strong a, "
        "p.author strong, .postprofile .username, .postprofile .username-coloured",
        author_link="p.author a.username, p.author a.username-coloured, p.author strong a",
        date="p.author",
        content="div.content",
        quote=["blockquote"],
        remove=["dl.attachbox", "div.inline-attachment"],
    )

    title_link = "h2.topic-title a, #page-body > h2 a"

    def thread_of(self, url: str) -> str | None:
        topic = query_param(url, "t")
        if self.script in url and topic and topic.isdigit():
            return self._thread(url, topic)
        return None

    def page_start(self, sel: Selector, url: str) -> int | None:
        for candidate in (url, canonical_link(sel, url)):
            if candidate and query_param(candidate, "t"):
                start = query_param(candidate, "start")
                return int(start) if start and start.isdigit() else 0
        return None


class VBulletin(_OneScript):
    """vBulletin 4 and 3.8. Permalinks ``showthread.php?p=ID``; threads ``showthread.php?t=ID``
    (or ``showthread.php?ID-Title``); posts numbered on the page (``#12``)."""

    name = "vbulletin"
    script = "showthread.php"
    markup = ForumMarkup(
        board_links="h2.forumtitle a, a.forumtitle, td[id^=f] > div > a",
        thread_row="li.threadbit, tbody[id^=threadbits_forum] > tr",
        thread_links="a.title, a[id^=thread_title_]",
        thread_replies="ul.threadstats li, td[title]",
        thread_last="dl.threadlastpost a.lastpostdate, dl.threadlastpost a[href*='p='], "
        "a[href*='#post']",
        next_page="span.prev_next a[rel=next], a[rel=next]",
        thread_title="#pagetitle .threadtitle, td.navbar strong",
        post="li.postcontainer, li.postbit, li.postbitlegacy, table[id^=post]",
        position="a.postcounter, a[id^=postcount]",
        author=".username_container .username, .username, a.bigusername",
        author_link=".username_container a.username, a.username, a.bigusername",
        date="span.date, .postdate, td.thead",
        content="div[id^=post_message_]",
        # vBulletin 4 quotes; vBulletin 3's are a bare div with a margin, holding a table.
        quote=["div.bbcode_container", "xpath:.//div[contains(@style, 'margin:20px')][.//table]"],
        remove=["blockquote.signature", "div.signature"],
    )

    title_link = "#pagetitle .threadtitle a, td.navbar a[href*='showthread.php']"

    def thread_of(self, url: str) -> str | None:
        if not self.is_thread_link(url):
            return None
        thread_id = query_param(url, "t")
        if thread_id is None:
            query = urlsplit(url).query.split("&", 1)[0]
            thread_id = query.split("-", 1)[0] if query[:1].isdigit() else None
        return self._thread(url, thread_id) if thread_id else None


_XF_THREAD = re.compile(r"^(?P<root>.*?/)threads/(?P<slug>[^/]*?\.?(?P<id>\d+))/")


class XenForo(HtmlEngine):
    """XenForo 2 and 1.5. Permalinks ``/posts/ID/``; threads ``/threads/slug.ID/``; posts
    numbered on the page (``#12``)."""

    name = "xenforo"
    markup = ForumMarkup(
        board_links=".node-title a, h3.nodeTitle a",
        thread_row=".structItem--thread, li.discussionListItem",
        thread_links=".structItem-title a[href*='/threads/'], h3.title a[href*='threads/']",
        thread_replies=".structItem-cell--meta dl dd, dl.major dd",
        thread_last="time.structItem-latestDate, .structItem-cell--latest time, "
        ".lastPost .DateTime",
        next_page="a.pageNav-jump--next, xpath://div[contains(@class, 'PageNav')]//"
        "a[contains(@class, 'text')][contains(., '>')]",
        # XenForo 2 puts thread prefixes in the title's element: keep the title's own text.
        thread_title="xpath://h1[contains(@class,'p-title-value')]/text()[normalize-space()], "
        ".titleBar h1",
        # Article threads (XenForo 2.1+) open with the article, then replies as posts.
        post="article.message--post, article.message--article, li.message[id^=post-]",
        position=".message-attribution-opposite li:last-child a, a.postNumber",
        author=".message-name .username, .message-userDetails .username, "
        ".messageUserBlock a.username, .message-attribution-user .username",
        author_link=".message-name a.username, .messageUserBlock a.username",
        date=".message-attribution-main time, .message-attribution time, .messageMeta .DateTime",
        content=".message-body .bbWrapper, blockquote.messageText",
        quote=["blockquote.bbCodeBlock--quote", "div.bbCodeQuote"],
        remove=[".message-signature", "div.messageTextEndMarker"],
    )

    def thread_of(self, url: str) -> str | None:
        match = _XF_THREAD.match(url)
        return match.group(0) if match else None

    def permalink(self, post: Selector, native_id: str | None, base: str, thread: str) -> str:
        match = _XF_THREAD.match(thread)
        root = match.group("root") if match else urljoin(base, "/")
        return f"{root}posts/{native_id}/" if native_id else thread


ENGINES: dict[str, type[HtmlEngine]] = {
    "phpbb": PhpBB,
    "vbulletin": VBulletin,
    "xenforo": XenForo,
    "generic": HtmlEngine,
}


def html_engine(name: str, overrides: ForumMarkup | None = None) -> HtmlEngine:
    try:
        return ENGINES[name](overrides)
    except KeyError:
        raise ValueError(f"no HTML engine named '{name}' ({', '.join(ENGINES)})") from None


def detect_engine(sel: Selector) -> str | None:
    """Which engine made this page, from the marks each one leaves."""
    generator = " ".join(sel.xpath("//meta[@name='generator']/@content").getall()).lower()
    if "discourse" in generator:
        return "discourse"
    if "vbulletin" in generator or sel.xpath("/html[@id='vbulletin_html']"):
        return "vbulletin"
    if sel.xpath("/html[@id='XF' or @id='XenForo']") or sel.css("[data-xf-init]"):
        return "xenforo"
    if sel.xpath("//body[@id='phpbb']") or "phpbb" in generator:
        return "phpbb"
    return None
