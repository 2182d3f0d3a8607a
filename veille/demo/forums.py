"""Forums of the sample web, rendered the way each engine renders them: phpBB 3.3 (prosilver),
vBulletin 4, XenForo 2, Simple Machines 2.1 (read by the generic spider) and Discourse's JSON API.

One model (`Forum` > `Board` > `Thread` > `Post`) renders to the routes of a `veille.demo.web.Web`.
The markup follows each engine's templates, with what real pages carry besides posts: menus,
profiles, signatures, quotes of earlier posts, sort links, print views and session ids. Tests
render a forum, crawl it, add a post, render it again and crawl again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from veille.demo.web import Response, Routes

SID = "3f2a9c0d5b7e41a6b8c9d0e1f2a3b4c5"
"""A phpBB session id, as phpBB appends it to links for visitors without cookies."""

FR_MONTHS = (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
)
_FR_DAYS = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]
_FR_MONTHS = [
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
]


@dataclass
class Post:
    id: int
    author: str
    when: datetime
    text: str
    quote: tuple[str, str] | None = None
    """(author, text) of an earlier post quoted at the top of this one."""
    signature: str | None = None
    likes: int = 0


@dataclass
class Thread:
    id: int
    slug: str
    title: str
    posts: list[Post] = field(default_factory=list)

    @property
    def last(self) -> Post:
        return self.posts[-1]


@dataclass
class Board:
    id: int
    slug: str
    title: str
    description: str = ""
    threads: list[Thread] = field(default_factory=list)


@dataclass
class Forum:
    host: str
    title: str
    lang: str = "fr"
    tz: str = "Europe/Paris"
    boards: list[Board] = field(default_factory=list)
    posts_per_page: int = 10
    threads_per_page: int = 20
    robots: str = "User-agent: *\nDisallow: /ucp.php\nDisallow: /posting.php\n"

    def threads(self) -> list[Thread]:
        return [t for b in self.boards for t in b.threads]

    def add_post(self, thread_id: int, post: Post) -> None:
        for thread in self.threads():
            if thread.id == thread_id:
                thread.posts.append(post)
                return
        raise KeyError(thread_id)


def _local(forum: Forum, when: datetime) -> datetime:
    return when.astimezone(ZoneInfo(forum.tz))


def french_date(when: datetime) -> str:
    """phpBB's French format: ``sam. 14 nov. 2026 10:03``."""
    return (
        f"{_FR_DAYS[when.weekday()]} {when.day} {_FR_MONTHS[when.month - 1]} {when.year} "
        f"{when:%H:%M}"
    )


def _pages(items: int, per_page: int) -> int:
    return max(1, math.ceil(items / per_page))


def _by_last_post(board: Board) -> list[Thread]:
    return sorted(board.threads, key=lambda t: t.last.when, reverse=True)


def _html(lang: str, title: str, body: str, head: str = "", html_attrs: str = "") -> str:
    return (
        f'<!DOCTYPE html>\n<html dir="ltr" lang="{lang}"{html_attrs}><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>{head}"
        "<script>window.dataLayer=window.dataLayer||[];function gtag(){}</script></head>"
        f"{body}</html>"
    )


def _paragraphs(text: str) -> str:
    return "<br>\n".join(escape(line) for line in text.split("\n"))


# -- phpBB 3.3 -----------------------------------------------------------------------------------


def _phpbb_header(forum: Forum) -> str:
    return (
        '<div id="wrap" class="wrap"><a id="top" class="top-anchor" accesskey="t"></a>'
        '<div id="page-header"><div class="headerbar" role="banner"><div class="inner">'
        f'<div id="site-description"><a id="logo" class="logo" href="./index.php?sid={SID}">'
        f'<span class="site_logo"></span></a><h1>{escape(forum.title)}</h1></div>'
        '<div id="search-box" class="search-box search-header" role="search">'
        '<form action="./search.php" method="get" id="search"><fieldset>'
        '<input name="keywords" id="keywords" type="search" maxlength="128" class="inputbox search'
        ' tiny" size="20" value="" placeholder="Rechercher…"></fieldset></form></div></div></div>'
        '<div class="navbar" role="navigation"><ul id="nav-main" class="nav-main linklist">'
        f'<li><a href="./faq.php?sid={SID}" rel="help">FAQ</a></li>'
        f'<li><a href="./search.php?search_id=active_topics&amp;sid={SID}">Sujets actifs</a></li>'
        f'<li><a href="./ucp.php?mode=login&amp;sid={SID}">Connexion</a></li>'
        f'<li><a href="./ucp.php?mode=register&amp;sid={SID}">S’enregistrer</a></li>'
        f'<li><a href="./memberlist.php?sid={SID}">Membres</a></li></ul>'
        '<ul id="nav-breadcrumbs" class="nav-breadcrumbs linklist navlinks" role="menubar">'
        f'<li class="breadcrumbs"><span class="crumb"><a href="./index.php?sid={SID}" '
        'accesskey="h">Index du forum</a></span></li></ul></div></div>'
        '<div id="page-body" class="page-body" role="main">'
    )


_PHPBB_FOOTER = (
    '</div><div id="page-footer" class="page-footer" role="contentinfo"><div class="copyright">'
    'Développé par <a href="https://www.phpbb.com/">phpBB</a>® Forum Software © phpBB Limited'
    "<br>Traduit par phpBB-fr.com</div></div></div>"
)


def _phpbb_page(forum: Forum, title: str, content: str, head: str = "") -> str:
    feed = (
        '<link rel="alternate" type="application/atom+xml" title="Flux - '
        f'{escape(forum.title)}" href="http://{forum.host}/feed.php">'
    )
    body = (
        '<body id="phpbb" class="nojs notouch section-index ltr ">'
        f"{_phpbb_header(forum)}{content}{_PHPBB_FOOTER}</body>"
    )
    return _html(forum.lang, title, body, head + feed)


def _phpbb_time(forum: Forum, when: datetime) -> str:
    return (
        f'<time datetime="{when.isoformat(timespec="seconds")}">'
        f"{french_date(_local(forum, when))}</time>"
    )


def _phpbb_pagination(base: str, page: int, pages: int, per_page: int, label: str) -> str:
    items = []
    for n in range(pages):
        if n == page:
            items.append(f'<li class="active"><span>{n + 1}</span></li>')
        else:
            items.append(
                f'<li><a class="button" href="{base}&amp;start={n * per_page}" '
                f'role="button">{n + 1}</a></li>'
            )
    if page + 1 < pages:
        items.append(
            '<li class="arrow next"><a class="button button-icon-only" '
            f'href="{base}&amp;start={(page + 1) * per_page}" rel="next" role="button">'
            '<i class="icon fa-chevron-right fa-fw" aria-hidden="true"></i>'
            '<span class="sr-only">Suivante</span></a></li>'
        )
    return f'<div class="pagination">{label} • <ul>{"".join(items)}</ul></div>'


def phpbb_routes(forum: Forum) -> Routes:
    """``index.php``, ``viewforum.php?f=`` and ``viewtopic.php?t=`` pages of a phpBB 3.3 board."""
    host = forum.host
    routes: Routes = {(host, "/robots.txt"): Response.text(forum.robots, "text/plain")}
    rows = []
    for board in forum.boards:
        posts = sum(len(t.posts) for t in board.threads)
        last = max((t.last for t in board.threads), key=lambda p: p.when, default=None)
        last_html = (
            f'<span><dfn>Dernier message </dfn>par <a href="./memberlist.php?mode=viewprofile'
            f'&amp;u=7" class="username">{escape(last.author)}</a> <a href="./viewtopic.php?'
            f'p={last.id}#p{last.id}" title="Voir le dernier message"><span class="sr-only">Voir'
            f" le dernier message</span></a><br>{_phpbb_time(forum, last.when)}</span>"
            if last
            else "Aucun message"
        )
        rows.append(
            '<li class="row"><dl class="row-item forum_read"><dt title="Aucun message non lu">'
            f'<div class="list-inner"><a href="./viewforum.php?f={board.id}" class="forumtitle">'
            f"{escape(board.title)}</a><br>{escape(board.description)}</div></dt>"
            f'<dd class="topics">{len(board.threads)} <dfn>Sujets</dfn></dd>'
            f'<dd class="posts">{posts} <dfn>Messages</dfn></dd>'
            f'<dd class="lastpost">{last_html}</dd></dl></li>'
        )
    index = (
        '<div class="forabg"><div class="inner"><ul class="topiclist"><li class="header"><dl '
        'class="row-item"><dt><div class="list-inner">Forums</div></dt></dl></li></ul>'
        f'<ul class="topiclist forums">{"".join(rows)}</ul></div></div>'
        '<div class="stat-block online-list"><h3>Qui est en ligne ?</h3><p>Au total il y a '
        "<strong>12</strong> utilisateurs en ligne</p></div>"
    )
    home = Response.text(_phpbb_page(forum, f"{forum.title} - Index du forum", index))
    routes[(host, "/index.php")] = home
    routes[(host, "/")] = home
    for board in forum.boards:
        threads = _by_last_post(board)
        pages = _pages(len(threads), forum.threads_per_page)
        for page in range(pages):
            chunk = threads[page * forum.threads_per_page : (page + 1) * forum.threads_per_page]
            items = []
            for i, thread in enumerate(chunk):
                first, last = thread.posts[0], thread.last
                thread_pages = _pages(len(thread.posts), forum.posts_per_page)
                mini = "".join(
                    f'<li><a class="button" href="./viewtopic.php?t={thread.id}&amp;start='
                    f'{n * forum.posts_per_page}">{n + 1}</a></li>'
                    for n in range(thread_pages)
                )
                items.append(
                    f'<li class="row bg{1 + i % 2}"><dl class="row-item topic_read"><dt title="'
                    'Aucun message non lu"><div class="list-inner">'
                    f'<a href="./viewtopic.php?t={thread.id}&amp;sid={SID}" class="topictitle">'
                    f'{escape(thread.title)}</a><br><div class="topic-poster responsive-hide '
                    f'left-box">par <a href="./memberlist.php?mode=viewprofile&amp;u=2" class='
                    f'"username">{escape(first.author)}</a> » {_phpbb_time(forum, first.when)}'
                    f'</div><div class="pagination"><ul>{mini if thread_pages > 1 else ""}</ul>'
                    f'</div></div></dt><dd class="posts">{len(thread.posts) - 1} <dfn>Réponses'
                    f'</dfn></dd><dd class="views">{17 * len(thread.posts)} <dfn>Vues</dfn></dd>'
                    '<dd class="lastpost"><span><dfn>Dernier message </dfn>par <a href="./'
                    f'memberlist.php?mode=viewprofile&amp;u=3" class="username">'
                    f'{escape(last.author)}</a> <a href="./viewtopic.php?p={last.id}#p{last.id}"'
                    ' title="Voir le dernier message"><span class="sr-only">Voir le dernier '
                    f"message</span></a><br>{_phpbb_time(forum, last.when)}</span></dd></dl></li>"
                )
            sort = (
                '<form method="post" action="./viewforum.php"><fieldset class="display-options">'
                f'<a href="./viewforum.php?f={board.id}&amp;sk=t&amp;sd=a">Trier par date</a> '
                f'<a href="./viewforum.php?f={board.id}&amp;sk=s&amp;sd=d">Trier par sujet</a>'
                "</fieldset></form>"
            )
            content = (
                f'<h2 class="forum-title"><a href="./viewforum.php?f={board.id}">'
                f'{escape(board.title)}</a></h2><div class="action-bar bar-top">'
                f'<a href="./posting.php?mode=post&amp;f={board.id}" class="button">Nouveau '
                "sujet</a>"
                + _phpbb_pagination(
                    f"./viewforum.php?f={board.id}",
                    page,
                    pages,
                    forum.threads_per_page,
                    f"{len(threads)} sujets",
                )
                + '</div><div class="forumbg"><div class="inner"><ul class="topiclist"><li class'
                '="header"><dl class="row-item"><dt><div class="list-inner">Sujets</div></dt>'
                '<dd class="posts">Réponses</dd><dd class="lastpost"><span>Dernier message</span>'
                f'</dd></dl></li></ul><ul class="topiclist topics">{"".join(items)}</ul></div>'
                f"</div>{sort}"
            )
            path = f"/viewforum.php?f={board.id}" + (
                f"&start={page * forum.threads_per_page}" if page else ""
            )
            routes[(host, path)] = Response.text(
                _phpbb_page(forum, f"{board.title} - {forum.title}", content)
            )
        for thread in board.threads:
            routes.update(_phpbb_thread(forum, thread))
    return routes


def _phpbb_post(forum: Forum, thread: Thread, post: Post, index: int) -> str:
    quote = ""
    if post.quote:
        who, said = post.quote
        quote = (
            f'<blockquote><div><cite><a href="./memberlist.php?mode=viewprofile&amp;u=5">'
            f'{escape(who)}</a> a écrit : <a href="./viewtopic.php?p={post.id - 1}#p'
            f'{post.id - 1}" aria-label="Voir le message cité">↑</a></cite>'
            f"{_paragraphs(said)}</div></blockquote>"
        )
    signature = (
        f'<div id="sig{post.id}" class="signature">{escape(post.signature)}</div>'
        if post.signature
        else ""
    )
    title = thread.title if index == 0 else f"Re: {thread.title}"
    return (
        f'<div id="p{post.id}" class="post has-profile bg{2 - index % 2}"><div class="inner">'
        f'<dl class="postprofile" id="profile{post.id}"><dt class="has-profile-rank no-avatar">'
        f'<a href="./memberlist.php?mode=viewprofile&amp;u={10 + len(post.author)}" '
        f'class="username">{escape(post.author)}</a></dt><dd class="profile-rank">Membre</dd>'
        '<dd class="profile-posts"><strong>Messages :</strong> <a href="./search.php?author_id='
        '2&amp;sr=posts">312</a></dd><dd class="profile-joined"><strong>Inscription :</strong> '
        'mar. 4 févr. 2020 18:22</dd></dl><div class="postbody"><div id="post_content'
        f'{post.id}"><h3 class="first"><a href="./viewtopic.php?p={post.id}#p{post.id}">'
        f'{escape(title)}</a></h3><ul class="post-buttons"><li><a href="./posting.php?mode=quote'
        f'&amp;p={post.id}" title="Répondre en citant le message" class="button button-icon-only'
        '"><span>Citer</span></a></li></ul><p class="author"><a class="unread" href="./viewtopic'
        f'.php?p={post.id}#p{post.id}" title="Message"><span class="sr-only">Message</span></a>'
        '<span class="responsive-hide">par <strong><a href="./memberlist.php?mode=viewprofile'
        f'&amp;u={10 + len(post.author)}" class="username">{escape(post.author)}</a></strong> » '
        f'</span>{_phpbb_time(forum, post.when)}</p><div class="content">{quote}'
        f"{_paragraphs(post.text)}</div>{signature}</div></div>"
        '<div class="back2top"><a href="#top" class="top" title="Haut">Haut</a></div></div></div>'
        '<hr class="divider">'
    )


def _phpbb_thread(forum: Forum, thread: Thread) -> Routes:
    routes: Routes = {}
    per = forum.posts_per_page
    pages = _pages(len(thread.posts), per)
    for page in range(pages):
        chunk = thread.posts[page * per : (page + 1) * per]
        start = f"&start={page * per}" if page else ""
        canonical = f"http://{forum.host}/viewtopic.php?t={thread.id}{start}"
        posts = "".join(_phpbb_post(forum, thread, p, page * per + i) for i, p in enumerate(chunk))
        content = (
            f'<h2 class="topic-title"><a href="./viewtopic.php?t={thread.id}">'
            f'{escape(thread.title)}</a></h2><div class="action-bar bar-top">'
            f'<a href="./posting.php?mode=reply&amp;t={thread.id}" class="button">Répondre</a>'
            f'<a href="./viewtopic.php?t={thread.id}&amp;view=print" title="Imprimer">Imprimer</a>'
            + _phpbb_pagination(
                f"./viewtopic.php?t={thread.id}", page, pages, per, f"{len(thread.posts)} messages"
            )
            + f"</div>{posts}"
        )
        head = f'<link rel="canonical" href="{canonical}">'
        routes[(forum.host, f"/viewtopic.php?t={thread.id}{start}")] = Response.text(
            _phpbb_page(forum, f"{thread.title} - {forum.title}", content, head)
        )
    return routes


# -- vBulletin 4 ---------------------------------------------------------------------------------


def _vb_date(forum: Forum, when: datetime) -> str:
    local = _local(forum, when)
    if forum.lang == "en":
        return f'{local:%m-%d-%Y},&nbsp;<span class="time">{local:%I:%M %p}</span>'
    return f'{local:%d/%m/%Y},&nbsp;<span class="time">{local:%Hh%M}</span>'


def _vb_page(forum: Forum, title: str, content: str, head: str = "") -> str:
    body = (
        '<body><div class="above_body"><div id="header" class="floatcontainer doc_header">'
        f'<div><a name="top" href="forum.php" class="logo-image"><img src="images/misc/vbulletin4'
        f'_logo.png" alt="{escape(forum.title)}"></a></div><div id="toplinks" class="toplinks">'
        '<ul class="nouser"><li><a href="register.php" rel="nofollow">Register</a></li></ul></div>'
        '</div><div id="navbar" class="navbar"><ul id="navtabs" class="navtabs floatcontainer">'
        '<li class="selected"><a class="navtab" href="forum.php">Forum</a></li><li><a class='
        '"navtab" href="calendar.php">Calendar</a></li><li><a href="search.php?do=getdaily">'
        'New posts</a></li></ul></div></div><div class="body_wrapper">'
        f'{content}</div><div id="footer" class="floatcontainer footer"><ul id="footer_links" '
        'class="footer_links"><li><a href="sendmessage.php" rel="nofollow">Contact Us</a></li>'
        '<li><a href="archive/index.php">Archive</a></li></ul></div>'
        '<div id="footer_copyright" class="shade footer_copyright">Powered by vBulletin® '
        "Version 4.2.5</div></body>"
    )
    head = (
        f'<base href="http://{forum.host}/forum/" /><meta name="generator" content="vBulletin '
        f'4.2.5" />{head}'
    )
    return _html(forum.lang, title, body, head, ' id="vbulletin_html"')


def vbulletin_routes(forum: Forum) -> Routes:
    """``forum.php``, ``forumdisplay.php?f=`` and ``showthread.php?t=`` of a vBulletin 4 board,
    under ``/forum/``."""
    host = forum.host
    routes: Routes = {(host, "/robots.txt"): Response.text(forum.robots, "text/plain")}
    rows = "".join(
        f'<li id="forum{b.id}" class="forumbit_post old L2"><div class="forumrow table">'
        '<div class="foruminfo td"><div class="forumdata"><div class="datacontainer"><div '
        f'class="titleline"><h2 class="forumtitle"><a href="forumdisplay.php?f={b.id}">'
        f'{escape(b.title)}</a></h2></div><p class="forumdescription">{escape(b.description)}'
        "</p></div></div></div></div></li>"
        for b in forum.boards
    )
    home = (
        '<ol id="forums" class="floatcontainer"><li id="cat1" class="forumbit_nopost L1">'
        '<div class="forumhead foruminfo L1 collapse"><h2><span class="forumtitle">General</span>'
        f'</h2></div><ol id="c_cat1" class="childforum">{rows}</ol></li></ol>'
    )
    routes[(host, "/forum/forum.php")] = Response.text(_vb_page(forum, forum.title, home))
    for board in forum.boards:
        threads = _by_last_post(board)
        pages = _pages(len(threads), forum.threads_per_page)
        for page in range(pages):
            chunk = threads[page * forum.threads_per_page : (page + 1) * forum.threads_per_page]
            items = "".join(
                f'<li class="threadbit hot" id="thread_{t.id}"><div class="rating0 nonsticky">'
                '<div class="threadinfo"><div class="inner"><h3 class="threadtitle">'
                f'<a class="title" href="showthread.php?t={t.id}" id="thread_title_{t.id}">'
                f'{escape(t.title)}</a></h3><div class="threadmeta"><div class="author"><span '
                f'class="label">Started by <a href="member.php?u=5" class="username understate">'
                f"{escape(t.posts[0].author)}</a>,&nbsp;{_vb_date(forum, t.posts[0].when)}</span>"
                '</div></div></div></div></div><ul class="threadstats td alt"><li>Replies: <a '
                f'href="misc.php?do=whoposted&amp;t={t.id}" class="understate">{len(t.posts) - 1}'
                f'</a></li><li>Views: {31 * len(t.posts)}</li></ul><dl class="threadlastpost '
                'td"><dt class="lastpostby hidden">Last Post By</dt><dd><a class="username" '
                f'href="member.php?u=9"><strong>{escape(t.last.author)}</strong></a></dd><dd>'
                f'{_vb_date(forum, t.last.when)}<a href="showthread.php?t={t.id}&amp;p='
                f'{t.last.id}#post{t.last.id}" class="lastpostdate understate" title="Go to last '
                'post"><img src="images/buttons/lastpost-right.png" alt="Go to last post"></a>'
                "</dd></dl></div></li>"
                for t in chunk
            )
            nav = ""
            if page + 1 < pages:
                nav = (
                    '<div class="pagination_top"><span class="prev_next"><a rel="next" href="'
                    f'forumdisplay.php?f={board.id}&amp;page={page + 2}" title="Next Page">'
                    '<img src="images/pagination/next-right.png" alt="Next"></a></span></div>'
                )
            content = (
                f'<div id="pagetitle"><h1>Forum: <span class="forumtitle">{escape(board.title)}'
                f'</span></h1></div>{nav}<div id="threadlist" class="threadlist"><form id="thread'
                f'_inlinemod_form" action="inlinemod.php?forumid={board.id}" method="post"><ol '
                f'id="threads" class="threads">{items}</ol></form></div><div id="forum_info_'
                'options"><a href="forumdisplay.php?f=' + str(board.id) + "&amp;sort=title&amp;"
                'order=asc">Sort by title</a></div>'
            )
            path = f"/forum/forumdisplay.php?f={board.id}" + (f"&page={page + 1}" if page else "")
            routes[(host, path)] = Response.text(_vb_page(forum, board.title, content))
        for thread in board.threads:
            per = forum.posts_per_page
            tpages = _pages(len(thread.posts), per)
            for page in range(tpages):
                shown = thread.posts[page * per : (page + 1) * per]
                posts = "".join(
                    _vb_post(forum, thread, p, page * per + i) for i, p in enumerate(shown)
                )
                nav = ""
                if page + 1 < tpages:
                    nav = (
                        '<div class="pagination_top"><span class="prev_next"><a rel="next" '
                        f'href="showthread.php?t={thread.id}&amp;page={page + 2}" title="Next '
                        'Page">Next</a></span></div>'
                    )
                suffix = f"&page={page + 1}" if page else ""
                content = (
                    f'<div id="pagetitle" class="pagetitle"><h1>Thread: <span class="threadtitle"'
                    f'><a href="showthread.php?t={thread.id}" title="Reload this Page">'
                    f"{escape(thread.title)}</a></span></h1></div>{nav}"
                    f'<div id="postlist" class="postlist restrain"><ol id="posts" class="posts" '
                    f'start="1">{posts}</ol></div>'
                )
                head = f'<link rel="canonical" href="showthread.php?t={thread.id}{suffix}" />'
                routes[(host, f"/forum/showthread.php?t={thread.id}{suffix}")] = Response.text(
                    _vb_page(forum, thread.title, content, head)
                )
    return routes


def _vb_post(forum: Forum, thread: Thread, post: Post, index: int) -> str:
    quote = ""
    if post.quote:
        who, said = post.quote
        quote = (
            '<div class="bbcode_container"><div class="bbcode_quote"><div class="quote_container">'
            '<div class="bbcode_quote_container"></div><div class="bbcode_postedby"><img src="'
            f'images/misc/quote_icon.png" alt="Quote"> Originally Posted by <strong>{escape(who)}'
            f'</strong> <a href="showthread.php?p={post.id - 1}#post{post.id - 1}" rel="nofollow">'
            '<img class="inlineimg" src="images/buttons/viewpost-right.png" alt="View Post"></a>'
            f'</div><div class="message">{_paragraphs(said)}</div></div></div></div>'
        )
    signature = (
        '<div class="after_content"><blockquote class="signature restore"><div class="'
        f'signaturecontainer">{escape(post.signature)}</div></blockquote></div>'
        if post.signature
        else ""
    )
    return (
        f'<li class="postbitlegacy postbitim postcontainer old" id="post_{post.id}">'
        f'<div class="posthead"><span class="postdate old"><span class="date">'
        f'{_vb_date(forum, post.when)}</span></span><span class="nodecontrols"><a name="'
        f'{index + 1}" href="showthread.php?t={thread.id}&amp;p={post.id}#post{post.id}" '
        f'class="postcounter">#{index + 1}</a><a id="postcount{post.id}" name="{index + 1}"></a>'
        '</span></div><div class="postdetails"><div class="userinfo"><div class="username_'
        'container"><div class="popupmenu memberaction"><a class="username offline popupctrl" '
        f'href="member.php?u={len(post.author)}" title="{escape(post.author)} is offline"><strong>'
        f'{escape(post.author)}</strong></a></div></div><span class="usertitle">Junior Member'
        '</span><dl class="userinfo_extra"><dt>Join Date</dt><dd>Mar 2019</dd><dt>Posts</dt>'
        '<dd>1,024</dd></dl></div><div class="postbody"><div class="postrow"><div class="content">'
        f'<div id="post_message_{post.id}"><blockquote class="postcontent restore ">{quote}'
        f"{_paragraphs(post.text)}</blockquote></div></div></div>{signature}</div></div>"
        '<div class="postfoot"><div class="textcontrols floatcontainer"><span class="postcontrols">'
        f'<a id="qrwq_{post.id}" class="newreply" href="newreply.php?do=newreply&amp;p={post.id}"'
        ' rel="nofollow">Reply With Quote</a></span></div></div></li>'
    )


# -- XenForo 2 -----------------------------------------------------------------------------------


def _xf_time(forum: Forum, when: datetime, css: str = "u-dt") -> str:
    local = _local(forum, when)
    return (
        f'<time class="{css}" dir="auto" datetime="{local.isoformat(timespec="seconds")}" '
        f'data-time="{int(when.timestamp())}" data-date-string="{local.day} '
        f'{_FR_MONTHS[local.month - 1]} {local.year}" data-time-string="{local:%H:%M}" title="'
        f'{local.day} {_FR_MONTHS[local.month - 1]} {local.year} à {local:%H:%M}">{local.day} '
        f"{_FR_MONTHS[local.month - 1]} {local.year}</time>"
    )


def _xf_page(forum: Forum, title: str, content: str, template: str, head: str = "") -> str:
    body = (
        '<body data-template="' + template + '"><div class="p-pageWrapper" id="top">'
        '<header class="p-header" id="header"><div class="p-header-inner"><div class="p-header-'
        'content"><div class="p-header-logo p-header-logo--image"><a href="/">'
        f"{escape(forum.title)}</a></div></div></div></header>"
        '<div class="p-navSticky p-navSticky--primary"><nav class="p-nav">'
        '<ul class="p-nav-list js-offCanvasNavSource"><li><a href="/" class="p-navEl-link"'
        '>Forums</a></li><li><a href="/whats-new/" class="p-navEl-link">Quoi de neuf</a></li>'
        '<li><a href="/members/" class="p-navEl-link">Membres</a></li></ul></nav></div>'
        f'<div class="p-body"><div class="p-body-inner">{content}</div></div>'
        '<footer class="p-footer" id="footer"><div class="p-footer-copyright">Logiciel de forum '
        "par XenForo® © 2010-2024 XenForo Ltd.</div></footer></div></body>"
    )
    return _html(forum.lang, title, body, head, ' id="XF" data-app="public" data-xf="2.2"')


def xenforo_routes(forum: Forum) -> Routes:
    """``/``, ``/forums/slug.ID/`` and ``/threads/slug.ID/`` of a XenForo 2 forum."""
    host = forum.host
    routes: Routes = {(host, "/robots.txt"): Response.text(forum.robots, "text/plain")}
    nodes = "".join(
        f'<div class="node node--id{b.id} node--depth2 node--forum node--read"><div class="node-'
        'body"><span class="node-icon" aria-hidden="true"></span><div class="node-main js-nodeMain'
        f'"><h3 class="node-title"><a href="/forums/{b.slug}.{b.id}/" data-xf-init="element-'
        f'tooltip">{escape(b.title)}</a></h3><div class="node-description">{escape(b.description)}'
        "</div></div></div></div>"
        for b in forum.boards
    )
    routes[(host, "/")] = Response.text(
        _xf_page(
            forum,
            forum.title,
            f'<div class="block block--category"><div class="block-body">{nodes}</div></div>',
            "forum_list",
        )
    )
    for board in forum.boards:
        threads = _by_last_post(board)
        pages = _pages(len(threads), forum.threads_per_page)
        for page in range(pages):
            chunk = threads[page * forum.threads_per_page : (page + 1) * forum.threads_per_page]
            items = "".join(
                '<div class="structItem structItem--thread js-inlineModContainer js-threadList'
                f'Item-{t.id}" data-author="{escape(t.posts[0].author)}">'
                '<div class="structItem-cell structItem-cell--main" data-xf-init="touch-proxy">'
                '<div class="structItem-title">'
                f'<a href="/forums/{board.slug}.{board.id}/?prefix_id=2" class="labelLink" rel="'
                'nofollow"><span class="label label--blue" dir="auto">Question</span></a> <a href="'
                f'/threads/{t.slug}.{t.id}/" data-tp-primary="on" data-xf-init="preview-tooltip">'
                f'{escape(t.title)}</a></div><div class="structItem-minor"><ul class="structItem-'
                f'parts"><li><a href="/members/x.{len(t.posts[0].author)}/" class="username">'
                f'{escape(t.posts[0].author)}</a></li><li class="structItem-startDate">'
                f"{_xf_time(forum, t.posts[0].when)}</li></ul></div></div>"
                '<div class="structItem-cell structItem-cell--meta">'
                '<dl class="pairs pairs--justified"><dt>Réponses</dt><dd>'
                f'{len(t.posts) - 1}</dd></dl><dl class="pairs pairs--justified structItem-minor">'
                f'<dt>Affichages</dt><dd>{13 * len(t.posts)}</dd></dl></div><div class="structItem'
                f'-cell structItem-cell--latest"><a href="/threads/{t.slug}.{t.id}/latest" rel="'
                f'nofollow">{_xf_time(forum, t.last.when, "structItem-latestDate u-dt")}</a><div '
                f'class="structItem-minor"><a href="/members/y.3/" class="username">'
                f"{escape(t.last.author)}</a></div></div></div>"
                for t in chunk
            )
            nav = (
                f'<div class="pageNav"><a href="/forums/{board.slug}.{board.id}/page-{page + 2}" '
                'class="pageNav-jump pageNav-jump--next">Suivant</a></div>'
                if page + 1 < pages
                else ""
            )
            content = (
                f'<div class="p-title"><h1 class="p-title-value">{escape(board.title)}</h1></div>'
                f'<div class="block-filterBar"><a href="/forums/{board.slug}.{board.id}/?order='
                'reply_count&amp;direction=desc">Trier par réponses</a></div>'
                f'<div class="structItemContainer-group js-threadList">{items}</div>{nav}'
            )
            path = f"/forums/{board.slug}.{board.id}/" + (f"page-{page + 1}" if page else "")
            routes[(host, path)] = Response.text(
                _xf_page(forum, board.title, content, "forum_view")
            )
        for thread in board.threads:
            routes.update(_xf_thread(forum, thread))
    return routes


def _xf_thread(forum: Forum, thread: Thread) -> Routes:
    routes: Routes = {}
    per = forum.posts_per_page
    pages = _pages(len(thread.posts), per)
    base = f"/threads/{thread.slug}.{thread.id}/"
    for page in range(pages):
        chunk = thread.posts[page * per : (page + 1) * per]
        articles = []
        for i, post in enumerate(chunk):
            quote = ""
            if post.quote:
                who, said = post.quote
                quote = (
                    f'<blockquote data-attributes="member: 4" data-quote="{escape(who)}" '
                    f'data-source="post: {post.id - 1}" class="bbCodeBlock '
                    'bbCodeBlock--expandable bbCodeBlock--quote js-expandWatch">'
                    '<div class="bbCodeBlock-title"><a href="/goto/post?id='
                    f'{post.id - 1}" class="bbCodeBlock-sourceJump" rel="nofollow">{escape(who)} a '
                    'dit :</a></div><div class="bbCodeBlock-content"><div class="bbCodeBlock-expand'
                    f'Content js-expandContent ">{_paragraphs(said)}</div><div class="bbCodeBlock-'
                    'expandLink js-expandLink"><a role="button" tabindex="0">Cliquez pour agrandir'
                    "...</a></div></div></blockquote>"
                )
            signature = (
                f'<aside class="message-signature"><div class="bbWrapper">{escape(post.signature)}'
                "</div></aside>"
                if post.signature
                else ""
            )
            articles.append(
                '<article class="message message--post js-post js-inlineModContainer" data-author'
                f'="{escape(post.author)}" data-content="post-{post.id}" id="js-post-{post.id}" '
                'itemscope itemtype="https://schema.org/Comment"><span class="u-anchorTarget" id="'
                f'post-{post.id}"></span><div class="message-inner"><div class="message-cell '
                'message-cell--user"><section class="message-user"><div class="message-userDetails'
                f'"><h4 class="message-name"><a href="/members/{post.author.lower()}.'
                f'{len(post.author)}/" class="username" dir="auto"><span itemprop="name">'
                f'{escape(post.author)}</span></a></h4><h5 class="userTitle message-userTitle">'
                'Membre</h5></div></section></div><div class="message-cell message-cell--main"><div'
                ' class="message-main js-quickEditTarget"><header class="message-attribution '
                'message-attribution--split"><ul class="message-attribution-main listInline"><li '
                f'class="u-concealed"><a href="{base}post-{post.id}" rel="nofollow">'
                f'{_xf_time(forum, post.when)}</a></li></ul><ul class="message-attribution-opposite'
                f' message-attribution-opposite--list"><li><a href="{base}post-{post.id}" class="'
                'message-attribution-gadget" data-xf-init="share-tooltip">Partager</a></li><li><a '
                f'href="{base}post-{post.id}" rel="nofollow">#{page * per + i + 1}</a></li></ul>'
                '</header><div class="message-content js-messageContent"><div class="message-user'
                'Content lbContainer js-lbContainer"><article class="message-body js-selectTo'
                f'Quote"><div itemprop="text"><div class="bbWrapper">{quote}'
                f"{_paragraphs(post.text)}"
                '</div></div><div class="js-selectToQuoteEnd">&nbsp;</div></article></div>'
                f'{signature}</div><footer class="message-footer"><div class="message-actionBar '
                f'actionBar"><a href="/posts/{post.id}/react?reaction_id=1" class="reaction '
                'actionBar-action">J\'aime</a> <a href="/threads/'
                f'{thread.slug}.{thread.id}/reply?quote={post.id}" class="actionBar-action">'
                "Répondre</a></div></footer></div></div></div></article>"
            )
        nav = (
            f'<nav class="pageNavWrapper"><div class="pageNav"><a href="{base}page-{page + 2}" '
            'class="pageNav-jump pageNav-jump--next">Suivant</a></div></nav>'
            if page + 1 < pages
            else ""
        )
        suffix = f"page-{page + 1}" if page else ""
        content = (
            f'<div class="p-title"><h1 class="p-title-value">{escape(thread.title)}</h1></div>'
            f'<div class="block block--messages"><div class="block-body js-replyNewMessage'
            f'Container">{"".join(articles)}</div></div>{nav}'
        )
        head = f'<link rel="canonical" href="http://{forum.host}{base}{suffix}">'
        routes[(forum.host, f"{base}{suffix}")] = Response.text(
            _xf_page(forum, thread.title, content, "thread_view", head)
        )
    return routes


# -- Simple Machines 2.1, for the generic spider ----------------------------------------------

SMF_MARKUP = {
    "board_links": "a.subject.mobile_subject, .info a.subject",
    "thread_row": "#topic_container > div.windowbg",
    "thread_links": "xpath:.//span[starts-with(@id,'msg_')]/a",
    "thread_replies": ".board_stats p",
    "thread_last": ".lastpost a",
    "next_page": "xpath://div[contains(@class,'pagelinks')]//a[contains(@class,'nav_page')]"
    "[contains(., '»')]",
    "thread_title": "#top_subject",
    "post": "div#forumposts div.windowbg",
    "post_id": "xpath:.//div[starts-with(@id,'msg_')]/@id",
    "permalink": ".postinfo a.smalltext",
    "position": ".page_number",
    "author": ".poster h4 a",
    "author_link": ".poster h4 a",
    "date": ".postinfo a.smalltext",
    "content": "div.inner",
    "quote": ["blockquote.bbc_standard_quote", "cite"],
    "remove": ["div.signature"],
}
"""The generic spider's selectors for Simple Machines 2.1 (as a site's ``markup`` settings)."""


def _smf_date(forum: Forum, when: datetime) -> str:
    local = _local(forum, when)
    return f"{local.day:02d} {FR_MONTHS[local.month - 1]} {local.year} à {local:%H:%M:%S}"


def _smf_page(forum: Forum, title: str, content: str) -> str:
    body = (
        '<body id="chrome" class="action_messageindex"><div id="footerfix"><div id="top_section">'
        f'<div class="inner_wrap"><h1 class="forumtitle"><a id="top" href="/index.php">'
        f'{escape(forum.title)}</a></h1></div></div><div id="wrapper"><div id="upper_section">'
        '<div id="inner_section"><ul class="dropmenu menu_nav"><li><a href="/index.php?action='
        'calendar"><span class="textmenu">Calendrier</span></a></li><li><a href="/index.php?action'
        '=login"><span class="textmenu">Connexion</span></a></li></ul></div></div>'
        f'<div id="content_section"><div id="main_content_section">{content}</div></div></div>'
        '<div id="footer"><div class="inner_wrap"><ul><li class="copyright"><a href="https://www.'
        'simplemachines.org" title="Simple Machines Forum">SMF 2.1.4</a> © 2023, Simple Machines'
        "</li></ul></div></div></div></body>"
    )
    return _html(forum.lang, title, body)


def smf_routes(forum: Forum) -> Routes:
    """``index.php``, ``index.php?board=ID.0`` and ``index.php?topic=ID.0`` of an SMF 2.1 forum."""
    host = forum.host
    routes: Routes = {(host, "/robots.txt"): Response.text(forum.robots, "text/plain")}
    boards = "".join(
        f'<div id="board_{b.id}" class="up_contain"><div class="info"><a class="subject '
        f'mobile_subject" href="/index.php?board={b.id}.0" id="b{b.id}">{escape(b.title)}</a>'
        f'<div class="board_description">{escape(b.description)}</div></div></div>'
        for b in forum.boards
    )
    routes[(host, "/index.php")] = Response.text(
        _smf_page(forum, forum.title, f'<div id="boardindex_table">{boards}</div>')
    )
    per_t = forum.threads_per_page
    for board in forum.boards:
        threads = _by_last_post(board)
        pages = _pages(len(threads), per_t)
        for page in range(pages):
            chunk = threads[page * per_t : (page + 1) * per_t]
            rows = "".join(
                f'<div class="windowbg"><div class="info info_block"><div class="message_index_'
                f'title"><span class="preview" title=""><span id="msg_{t.posts[0].id}"><a href="'
                f'/index.php?topic={t.id}.0">{escape(t.title)}</a></span></span></div><p class="'
                f'floatleft">Démarré par <a href="/index.php?action=profile;u=3">'
                f'{escape(t.posts[0].author)}</a></p></div><div class="board_stats centertext">'
                f"<p>{len(t.posts) - 1} Réponses<br>{9 * len(t.posts)} Vues</p></div><div class="
                f'"lastpost"><p><a href="/index.php?topic={t.id}.msg{t.last.id}#new">'
                f"{_smf_date(forum, t.last.when)}</a></p></div></div>"
                for t in chunk
            )
            nav = (
                '<div class="pagelinks floatleft"><a class="nav_page" href="/index.php?board='
                f'{board.id}.{(page + 1) * per_t}">»</a></div>'
                if page + 1 < pages
                else ""
            )
            content = (
                f'<div class="cat_bar"><h3 class="catbg">{escape(board.title)}</h3></div>'
                f'{nav}<div id="messageindex"><div id="topic_container">{rows}</div></div>'
                f'<a href="/index.php?board={board.id}.0;sort=subject;desc">Trier</a>'
            )
            routes[(host, f"/index.php?board={board.id}.{page * per_t}")] = Response.text(
                _smf_page(forum, board.title, content)
            )
        for thread in board.threads:
            per = forum.posts_per_page
            tpages = _pages(len(thread.posts), per)
            for page in range(tpages):
                shown = thread.posts[page * per : (page + 1) * per]
                posts = "".join(
                    _smf_post(forum, thread, p, page * per + i) for i, p in enumerate(shown)
                )
                nav = (
                    '<div class="pagelinks floatleft"><a class="nav_page" href="/index.php?topic='
                    f'{thread.id}.{(page + 1) * per}">»</a></div>'
                    if page + 1 < tpages
                    else ""
                )
                content = (
                    f'<div id="display_head" class="information"><h2 class="display_title"><span '
                    f'id="top_subject">{escape(thread.title)}</span></h2></div>{nav}'
                    f'<div id="forumposts"><form action="/index.php?action=quickmod2;topic='
                    f'{thread.id}.0" method="post">{posts}</form></div>'
                )
                routes[(host, f"/index.php?topic={thread.id}.{page * per}")] = Response.text(
                    _smf_page(forum, thread.title, content)
                )
    return routes


def _smf_post(forum: Forum, thread: Thread, post: Post, index: int) -> str:
    quote = ""
    if post.quote:
        who, said = post.quote
        quote = (
            f'<blockquote class="bbc_standard_quote"><cite>Citation de: {escape(who)}</cite>'
            f"{_paragraphs(said)}</blockquote>"
        )
    signature = f'<div class="signature">{escape(post.signature)}</div>' if post.signature else ""
    return (
        f'<div class="windowbg" id="msg{post.id}"><div class="post_wrapper"><div class="poster">'
        f'<h4><a href="/index.php?action=profile;u={len(post.author)}" title="Voir le profil de '
        f'{escape(post.author)}">{escape(post.author)}</a></h4><ul class="user_info"><li class="'
        'membergroup">Membre</li><li class="postcount">Messages: 87</li></ul></div><div class="'
        'postarea"><div class="keyinfo"><div id="subject_'
        f'{post.id}" class="subject_title subject_hidden"><a href="/index.php?msg={post.id}">'
        f'{escape(thread.title)}</a></div><span class="page_number floatright">#{index + 1}</span>'
        f'<div class="postinfo"><a href="/index.php?msg={post.id}" title="Réponse #{index} - '
        f'{escape(thread.title)}" class="smalltext">{_smf_date(forum, post.when)}</a></div></div>'
        f'<div class="post"><div class="inner" data-msgid="{post.id}" id="msg_{post.id}">{quote}'
        f'{_paragraphs(post.text)}</div></div></div><div class="moderatorbar">{signature}</div>'
        "</div></div>"
    )


# -- Discourse -----------------------------------------------------------------------------------


def _discourse_post(
    topic: Thread, post: Post, number: int, reply_to: int | None
) -> dict[str, object]:
    quote = ""
    if post.quote:
        who, said = post.quote
        quote = (
            f'<aside class="quote no-group" data-username="{escape(who)}" data-post="{number - 1}" '
            f'data-topic="{topic.id}"><div class="title"><div class="quote-controls"></div>'
            f"{escape(who)}:</div><blockquote><p>{_paragraphs(said)}</p></blockquote></aside>"
        )
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in post.text.split("\n"))
    username = post.author.lower().replace(" ", "_")
    return {
        "id": post.id,
        "name": post.author,
        "username": username,
        "avatar_template": f"/user_avatar/forum/{username}/{{size}}/1_2.png",
        "created_at": post.when.isoformat().replace("+00:00", "Z"),
        "cooked": quote + paragraphs,
        "post_number": number,
        "post_type": 1,
        "updated_at": post.when.isoformat().replace("+00:00", "Z"),
        "reply_count": 0,
        "reply_to_post_number": reply_to,
        "quote_count": 1 if post.quote else 0,
        "reads": 12,
        "score": 3.2,
        "topic_id": topic.id,
        "topic_slug": topic.slug,
        "display_username": post.author,
        "actions_summary": [{"id": 2, "count": post.likes}] if post.likes else [],
        "moderator": False,
        "hidden": False,
        "deleted_at": None,
        "user_id": len(post.author),
        "trust_level": 1,
    }


def discourse_routes(forum: Forum, chunk_size: int = 20) -> Routes:
    """``/latest.json`` (paged), ``/t/{slug}/{id}.json`` and ``/t/{id}/posts.json`` of a
    Discourse forum. Replies that quote the post before them answer it (``reply_to``)."""
    host = forum.host
    robots = "User-agent: *\nDisallow: /admin/\nDisallow: /auth/\nDisallow: /u/\n"
    routes: Routes = {(host, "/robots.txt"): Response.text(robots, "text/plain")}
    topics = sorted(forum.threads(), key=lambda t: t.last.when, reverse=True)
    per = forum.threads_per_page
    pages = _pages(len(topics), per)
    for page in range(pages):
        chunk = topics[page * per : (page + 1) * per]
        doc: dict[str, Any] = {
            "users": [],
            "topic_list": {
                "can_create_topic": False,
                "per_page": per,
                "topics": [
                    {
                        "id": t.id,
                        "title": t.title,
                        "fancy_title": escape(t.title),
                        "slug": t.slug,
                        "posts_count": len(t.posts),
                        "reply_count": len(t.posts) - 1,
                        "highest_post_number": len(t.posts),
                        "created_at": t.posts[0].when.isoformat(),
                        "last_posted_at": t.last.when.isoformat(),
                        "bumped": True,
                        "bumped_at": t.last.when.isoformat(),
                        "archetype": "regular",
                        "pinned": False,
                        "visible": True,
                        "closed": False,
                        "views": 40,
                        "like_count": 2,
                        "category_id": 5,
                    }
                    for t in chunk
                ],
            },
        }
        if page + 1 < pages:
            doc["topic_list"]["more_topics_url"] = f"/latest?no_definitions=true&page={page + 1}"
        path = "/latest.json" + (f"?no_definitions=true&page={page}" if page else "")
        routes[(host, path)] = Response.text(json.dumps(doc), "application/json; charset=utf-8")
    for topic in forum.threads():
        numbered = [
            _discourse_post(topic, p, n + 1, n if p.quote else None)
            for n, p in enumerate(topic.posts)
        ]
        topic_doc: dict[str, Any] = {
            "post_stream": {"posts": numbered[:chunk_size], "stream": [p.id for p in topic.posts]},
            "id": topic.id,
            "title": topic.title,
            "fancy_title": escape(topic.title),
            "posts_count": len(topic.posts),
            "created_at": topic.posts[0].when.isoformat(),
            "views": 40,
            "reply_count": len(topic.posts) - 1,
            "highest_post_number": len(topic.posts),
            "last_posted_at": topic.last.when.isoformat(),
            "archetype": "regular",
            "slug": topic.slug,
            "category_id": 5,
            "chunk_size": chunk_size,
        }
        routes[(host, f"/t/{topic.slug}/{topic.id}.json")] = Response.text(
            json.dumps(topic_doc), "application/json; charset=utf-8"
        )
        by_id = {p["id"]: p for p in numbered}

        def posts_json(_etag: str, by_id: dict[object, dict[str, object]] = by_id) -> Response:
            return Response.text(json.dumps({"post_stream": {"posts": list(by_id.values())}}))

        routes[(host, f"/t/{topic.id}/posts.json")] = posts_json
    return routes


RENDERERS: dict[str, Callable[[Forum], Routes]] = {
    "phpbb": phpbb_routes,
    "vbulletin": vbulletin_routes,
    "xenforo": xenforo_routes,
    "generic": smf_routes,
    "discourse": discourse_routes,
}
"""How each engine renders a forum."""

START_PATHS = {
    "phpbb": "/index.php",
    "vbulletin": "/forum/forum.php",
    "xenforo": "/",
    "generic": "/index.php",
    "discourse": "/latest.json",
}
"""Where a spider starts on each engine's rendering."""
