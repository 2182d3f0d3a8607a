"""phpBB 3.3 (prosilver, in French): ``index.php``, ``viewforum.php?f=`` and ``viewtopic.php?t=``,
with the session ids phpBB appends to links for visitors without cookies."""

from __future__ import annotations

from datetime import datetime
from html import escape

from veille.demo.forums.base import HtmlEngine, document, paragraphs
from veille.demo.forums.model import Board, Forum, ForumPost, Thread
from veille.demo.rendering import FR_DAYS_SHORT, FR_MONTHS_SHORT, Page, page_count
from veille.demo.web import Routes

SID = "3f2a9c0d5b7e41a6b8c9d0e1f2a3b4c5"
"""A phpBB session id, as phpBB appends it to links for visitors without cookies."""

_FOOTER = (
    '</div><div id="page-footer" class="page-footer" role="contentinfo"><div class="copyright">'
    'Développé par <a href="https://www.phpbb.com/">phpBB</a>® Forum Software © phpBB Limited'
    "<br>Traduit par phpBB-fr.com</div></div></div>"
)


def french_date(when: datetime) -> str:
    """phpBB's French format: ``sam. 14 nov. 2026 10:03``."""
    return (
        f"{FR_DAYS_SHORT[when.weekday()]} {when.day} {FR_MONTHS_SHORT[when.month - 1]} "
        f"{when.year} {when:%H:%M}"
    )


def _pagination(base: str, page: Page[object], label: str) -> str:
    items = []
    for n in range(page.count):
        if n == page.number:
            items.append(f'<li class="active"><span>{n + 1}</span></li>')
        else:
            items.append(
                f'<li><a class="button" href="{base}&amp;start={n * page.size}" '
                f'role="button">{n + 1}</a></li>'
            )
    if page.has_next:
        items.append(
            '<li class="arrow next"><a class="button button-icon-only" '
            f'href="{base}&amp;start={page.first + page.size}" rel="next" role="button">'
            '<i class="icon fa-chevron-right fa-fw" aria-hidden="true"></i>'
            '<span class="sr-only">Suivante</span></a></li>'
        )
    return f'<div class="pagination">{label} • <ul>{"".join(items)}</ul></div>'


def _start(page: Page[object]) -> str:
    return f"&start={page.first}" if page.number else ""


class PhpBB(HtmlEngine):
    start_path = "/index.php"
    also_home = ("/",)

    def _page(self, title: str, content: str, head: str = "") -> str:
        forum = self.forum
        feed = (
            '<link rel="alternate" type="application/atom+xml" title="Flux - '
            f'{escape(forum.title)}" href="http://{forum.host}/feed.php">'
        )
        body = (
            '<body id="phpbb" class="nojs notouch section-index ltr ">'
            f"{self._header()}{content}{_FOOTER}</body>"
        )
        return document(forum.lang, title, body, head + feed)

    def _header(self) -> str:
        return (
            '<div id="wrap" class="wrap"><a id="top" class="top-anchor" accesskey="t"></a>'
            '<div id="page-header"><div class="headerbar" role="banner"><div class="inner">'
            f'<div id="site-description"><a id="logo" class="logo" href="./index.php?sid={SID}">'
            f'<span class="site_logo"></span></a><h1>{escape(self.forum.title)}</h1></div>'
            '<div id="search-box" class="search-box search-header" role="search">'
            '<form action="./search.php" method="get" id="search"><fieldset>'
            '<input name="keywords" id="keywords" type="search" maxlength="128" class="inputbox '
            'search tiny" size="20" value="" placeholder="Rechercher…"></fieldset></form></div>'
            '</div></div><div class="navbar" role="navigation"><ul id="nav-main" class="nav-main '
            f'linklist"><li><a href="./faq.php?sid={SID}" rel="help">FAQ</a></li>'
            f'<li><a href="./search.php?search_id=active_topics&amp;sid={SID}">Sujets actifs</a>'
            f'</li><li><a href="./ucp.php?mode=login&amp;sid={SID}">Connexion</a></li>'
            f'<li><a href="./ucp.php?mode=register&amp;sid={SID}">S’enregistrer</a></li>'
            f'<li><a href="./memberlist.php?sid={SID}">Membres</a></li></ul>'
            '<ul id="nav-breadcrumbs" class="nav-breadcrumbs linklist navlinks" role="menubar">'
            f'<li class="breadcrumbs"><span class="crumb"><a href="./index.php?sid={SID}" '
            'accesskey="h">Index du forum</a></span></li></ul></div></div>'
            '<div id="page-body" class="page-body" role="main">'
        )

    def _time(self, when: datetime) -> str:
        return (
            f'<time datetime="{when.isoformat(timespec="seconds")}">'
            f"{french_date(self.forum.local(when))}</time>"
        )

    def home(self) -> str:
        forum = self.forum
        rows = []
        for board in forum.boards:
            posts = sum(len(t.posts) for t in board.threads)
            last = max((t.last for t in board.threads), key=lambda p: p.when, default=None)
            last_html = (
                f'<span><dfn>Dernier message </dfn>par <a href="./memberlist.php?mode=viewprofile'
                f'&amp;u=7" class="username">{escape(last.author)}</a> <a href="./viewtopic.php?'
                f'p={last.id}#p{last.id}" title="Voir le dernier message"><span class="sr-only">'
                f"Voir le dernier message</span></a><br>{self._time(last.when)}</span>"
                if last
                else "Aucun message"
            )
            rows.append(
                '<li class="row"><dl class="row-item forum_read"><dt title="Aucun message non lu">'
                f'<div class="list-inner"><a href="./viewforum.php?f={board.id}" class="forumtitle"'
                f">{escape(board.title)}</a><br>{escape(board.description)}</div></dt>"
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
        return self._page(f"{forum.title} - Index du forum", index)

    def board_path(self, board: Board, page: Page[Thread]) -> str:
        return f"/viewforum.php?f={board.id}{_start(page)}"

    def board(self, board: Board, page: Page[Thread]) -> str:
        forum = self.forum
        items = []
        for i, thread in enumerate(page.items):
            first, last = thread.posts[0], thread.last
            thread_pages = page_count(len(thread.posts), forum.posts_per_page)
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
                f'"username">{escape(first.author)}</a> » {self._time(first.when)}'
                f'</div><div class="pagination"><ul>{mini if thread_pages > 1 else ""}</ul>'
                f'</div></div></dt><dd class="posts">{len(thread.posts) - 1} <dfn>Réponses'
                f'</dfn></dd><dd class="views">{17 * len(thread.posts)} <dfn>Vues</dfn></dd>'
                '<dd class="lastpost"><span><dfn>Dernier message </dfn>par <a href="./'
                f'memberlist.php?mode=viewprofile&amp;u=3" class="username">'
                f'{escape(last.author)}</a> <a href="./viewtopic.php?p={last.id}#p{last.id}"'
                ' title="Voir le dernier message"><span class="sr-only">Voir le dernier '
                f"message</span></a><br>{self._time(last.when)}</span></dd></dl></li>"
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
            + _pagination(f"./viewforum.php?f={board.id}", page, f"{len(board.threads)} sujets")
            + '</div><div class="forumbg"><div class="inner"><ul class="topiclist"><li class'
            '="header"><dl class="row-item"><dt><div class="list-inner">Sujets</div></dt>'
            '<dd class="posts">Réponses</dd><dd class="lastpost"><span>Dernier message</span>'
            f'</dd></dl></li></ul><ul class="topiclist topics">{"".join(items)}</ul></div>'
            f"</div>{sort}"
        )
        return self._page(f"{board.title} - {forum.title}", content)

    def thread_path(self, thread: Thread, page: Page[ForumPost]) -> str:
        return f"/viewtopic.php?t={thread.id}{_start(page)}"

    def thread(self, thread: Thread, page: Page[ForumPost]) -> str:
        forum = self.forum
        canonical = f"http://{forum.host}{self.thread_path(thread, page)}"
        posts = self.posts(thread, page)
        content = (
            f'<h2 class="topic-title"><a href="./viewtopic.php?t={thread.id}">'
            f'{escape(thread.title)}</a></h2><div class="action-bar bar-top">'
            f'<a href="./posting.php?mode=reply&amp;t={thread.id}" class="button">Répondre</a>'
            f'<a href="./viewtopic.php?t={thread.id}&amp;view=print" title="Imprimer">Imprimer</a>'
            + _pagination(f"./viewtopic.php?t={thread.id}", page, f"{len(thread.posts)} messages")
            + f"</div>{posts}"
        )
        head = f'<link rel="canonical" href="{canonical}">'
        return self._page(f"{thread.title} - {forum.title}", content, head)

    def quote(self, post: ForumPost, who: str, said: str) -> str:
        return (
            f'<blockquote><div><cite><a href="./memberlist.php?mode=viewprofile&amp;u=5">'
            f'{escape(who)}</a> a écrit : <a href="./viewtopic.php?p={post.id - 1}#p'
            f'{post.id - 1}" aria-label="Voir le message cité">↑</a></cite>'
            f"{paragraphs(said)}</div></blockquote>"
        )

    def signature(self, post: ForumPost, signature: str) -> str:
        return f'<div id="sig{post.id}" class="signature">{escape(signature)}</div>'

    def post(self, thread: Thread, post: ForumPost, index: int) -> str:
        title = thread.title if index == 0 else f"Re: {thread.title}"
        return (
            f'<div id="p{post.id}" class="post has-profile bg{2 - index % 2}"><div class="inner">'
            f'<dl class="postprofile" id="profile{post.id}"><dt class="has-profile-rank no-avatar'
            f'"><a href="./memberlist.php?mode=viewprofile&amp;u={10 + len(post.author)}" '
            f'class="username">{escape(post.author)}</a></dt><dd class="profile-rank">Membre</dd>'
            '<dd class="profile-posts"><strong>Messages :</strong> <a href="./search.php?'
            'author_id=2&amp;sr=posts">312</a></dd><dd class="profile-joined"><strong>'
            'Inscription :</strong> mar. 4 févr. 2020 18:22</dd></dl><div class="postbody">'
            f'<div id="post_content{post.id}"><h3 class="first"><a href="./viewtopic.php?p='
            f'{post.id}#p{post.id}">{escape(title)}</a></h3><ul class="post-buttons"><li><a '
            f'href="./posting.php?mode=quote&amp;p={post.id}" title="Répondre en citant le '
            'message" class="button button-icon-only"><span>Citer</span></a></li></ul><p class="'
            f'author"><a class="unread" href="./viewtopic.php?p={post.id}#p{post.id}" title="'
            'Message"><span class="sr-only">Message</span></a><span class="responsive-hide">par '
            f'<strong><a href="./memberlist.php?mode=viewprofile&amp;u={10 + len(post.author)}" '
            f'class="username">{escape(post.author)}</a></strong> » </span>'
            f'{self._time(post.when)}</p><div class="content">{self.quoted(post)}'
            f"{paragraphs(post.text)}</div>{self.signed(post)}</div></div>"
            '<div class="back2top"><a href="#top" class="top" title="Haut">Haut</a></div></div>'
            '</div><hr class="divider">'
        )


def phpbb_routes(forum: Forum) -> Routes:
    """``index.php``, ``viewforum.php?f=`` and ``viewtopic.php?t=`` pages of a phpBB 3.3 board:
    the demo's forum."""
    return PhpBB.render(forum)
