"""Simple Machines 2.1 (in French), which Veille reads with the generic spider and the selectors
in `SMF_MARKUP`: ``index.php``, ``index.php?board=ID.START`` and ``index.php?topic=ID.START``."""

from __future__ import annotations

from datetime import datetime
from html import escape

from veille.demo.forums.base import HtmlEngine, document, paragraphs
from veille.demo.forums.model import Board, ForumPost, Thread
from veille.demo.rendering import FR_MONTHS, Page

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


def _next(query: str, page: Page[object]) -> str:
    """The link to the next page, where there is one."""
    if not page.has_next:
        return ""
    return (
        f'<div class="pagelinks floatleft"><a class="nav_page" href="/index.php?{query}.'
        f'{page.first + page.size}">»</a></div>'
    )


class SimpleMachines(HtmlEngine):
    start_path = "/index.php"

    def _date(self, when: datetime) -> str:
        local = self.forum.local(when)
        return f"{local.day:02d} {FR_MONTHS[local.month - 1]} {local.year} à {local:%H:%M:%S}"

    def _page(self, title: str, content: str) -> str:
        body = (
            '<body id="chrome" class="action_messageindex"><div id="footerfix"><div id="top_'
            f'section"><div class="inner_wrap"><h1 class="forumtitle"><a id="top" href="/index.'
            f'php">{escape(self.forum.title)}</a></h1></div></div><div id="wrapper"><div id="'
            'upper_section"><div id="inner_section"><ul class="dropmenu menu_nav"><li><a href="/'
            'index.php?action=calendar"><span class="textmenu">Calendrier</span></a></li><li><a '
            'href="/index.php?action=login"><span class="textmenu">Connexion</span></a></li></ul>'
            '</div></div><div id="content_section"><div id="main_content_section">'
            f'{content}</div></div></div><div id="footer"><div class="inner_wrap"><ul><li class='
            '"copyright"><a href="https://www.simplemachines.org" title="Simple Machines Forum">'
            "SMF 2.1.4</a> © 2023, Simple Machines</li></ul></div></div></div></body>"
        )
        return document(self.forum.lang, title, body)

    def home(self) -> str:
        boards = "".join(
            f'<div id="board_{b.id}" class="up_contain"><div class="info"><a class="subject '
            f'mobile_subject" href="/index.php?board={b.id}.0" id="b{b.id}">{escape(b.title)}</a>'
            f'<div class="board_description">{escape(b.description)}</div></div></div>'
            for b in self.forum.boards
        )
        return self._page(self.forum.title, f'<div id="boardindex_table">{boards}</div>')

    def board_path(self, board: Board, page: Page[Thread]) -> str:
        return f"/index.php?board={board.id}.{page.first}"

    def board(self, board: Board, page: Page[Thread]) -> str:
        rows = "".join(
            f'<div class="windowbg"><div class="info info_block"><div class="message_index_'
            f'title"><span class="preview" title=""><span id="msg_{t.posts[0].id}"><a href="'
            f'/index.php?topic={t.id}.0">{escape(t.title)}</a></span></span></div><p class="'
            f'floatleft">Démarré par <a href="/index.php?action=profile;u=3">'
            f'{escape(t.posts[0].author)}</a></p></div><div class="board_stats centertext">'
            f"<p>{len(t.posts) - 1} Réponses<br>{9 * len(t.posts)} Vues</p></div><div class="
            f'"lastpost"><p><a href="/index.php?topic={t.id}.msg{t.last.id}#new">'
            f"{self._date(t.last.when)}</a></p></div></div>"
            for t in page.items
        )
        content = (
            f'<div class="cat_bar"><h3 class="catbg">{escape(board.title)}</h3></div>'
            f'{_next(f"board={board.id}", page)}<div id="messageindex"><div id="topic_container">'
            f'{rows}</div></div><a href="/index.php?board={board.id}.0;sort=subject;desc">Trier</a>'
        )
        return self._page(board.title, content)

    def thread_path(self, thread: Thread, page: Page[ForumPost]) -> str:
        return f"/index.php?topic={thread.id}.{page.first}"

    def thread(self, thread: Thread, page: Page[ForumPost]) -> str:
        posts = self.posts(thread, page)
        content = (
            f'<div id="display_head" class="information"><h2 class="display_title"><span '
            f'id="top_subject">{escape(thread.title)}</span></h2></div>'
            f'{_next(f"topic={thread.id}", page)}<div id="forumposts"><form action="/index.php?'
            f'action=quickmod2;topic={thread.id}.0" method="post">{posts}</form></div>'
        )
        return self._page(thread.title, content)

    def quote(self, post: ForumPost, who: str, said: str) -> str:
        return (
            f'<blockquote class="bbc_standard_quote"><cite>Citation de: {escape(who)}</cite>'
            f"{paragraphs(said)}</blockquote>"
        )

    def signature(self, post: ForumPost, signature: str) -> str:
        return f'<div class="signature">{escape(signature)}</div>'

    def post(self, thread: Thread, post: ForumPost, index: int) -> str:
        return (
            f'<div class="windowbg" id="msg{post.id}"><div class="post_wrapper"><div class="'
            f'poster"><h4><a href="/index.php?action=profile;u={len(post.author)}" title="Voir '
            f'le profil de {escape(post.author)}">{escape(post.author)}</a></h4><ul class="user_'
            'info"><li class="membergroup">Membre</li><li class="postcount">Messages: 87</li>'
            '</ul></div><div class="postarea"><div class="keyinfo"><div id="subject_'
            f'{post.id}" class="subject_title subject_hidden"><a href="/index.php?msg={post.id}">'
            f'{escape(thread.title)}</a></div><span class="page_number floatright">#{index + 1}'
            f'</span><div class="postinfo"><a href="/index.php?msg={post.id}" title="Réponse #'
            f'{index} - {escape(thread.title)}" class="smalltext">{self._date(post.when)}</a>'
            f'</div></div><div class="post"><div class="inner" data-msgid="{post.id}" id="msg_'
            f'{post.id}">{self.quoted(post)}{paragraphs(post.text)}</div></div></div><div class="'
            f'moderatorbar">{self.signed(post)}</div></div></div>'
        )
