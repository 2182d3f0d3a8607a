"""XenForo 2 (in French): ``/``, ``/forums/slug.ID/`` and ``/threads/slug.ID/``, each page after
the first at ``page-N``."""

from __future__ import annotations

from datetime import datetime
from html import escape

from veille.demo.forums.base import HtmlEngine, document, paragraphs
from veille.demo.forums.model import Board, ForumPost, Thread
from veille.demo.rendering import FR_MONTHS_SHORT, Page


def _page_suffix(page: Page[object]) -> str:
    return f"page-{page.number + 1}" if page.number else ""


def _thread_base(thread: Thread) -> str:
    return f"/threads/{thread.slug}.{thread.id}/"


class XenForo(HtmlEngine):
    start_path = "/"

    def _time(self, when: datetime, css: str = "u-dt") -> str:
        local = self.forum.local(when)
        month = FR_MONTHS_SHORT[local.month - 1]
        return (
            f'<time class="{css}" dir="auto" datetime="{local.isoformat(timespec="seconds")}" '
            f'data-time="{int(when.timestamp())}" data-date-string="{local.day} '
            f'{month} {local.year}" data-time-string="{local:%H:%M}" title="'
            f'{local.day} {month} {local.year} à {local:%H:%M}">{local.day} '
            f"{month} {local.year}</time>"
        )

    def _page(self, title: str, content: str, template: str, head: str = "") -> str:
        forum = self.forum
        body = (
            '<body data-template="' + template + '"><div class="p-pageWrapper" id="top">'
            '<header class="p-header" id="header"><div class="p-header-inner"><div class="p-'
            'header-content"><div class="p-header-logo p-header-logo--image"><a href="/">'
            f"{escape(forum.title)}</a></div></div></div></header>"
            '<div class="p-navSticky p-navSticky--primary"><nav class="p-nav">'
            '<ul class="p-nav-list js-offCanvasNavSource"><li><a href="/" class="p-navEl-link"'
            '>Forums</a></li><li><a href="/whats-new/" class="p-navEl-link">Quoi de neuf</a></li>'
            '<li><a href="/members/" class="p-navEl-link">Membres</a></li></ul></nav></div>'
            f'<div class="p-body"><div class="p-body-inner">{content}</div></div>'
            '<footer class="p-footer" id="footer"><div class="p-footer-copyright">Logiciel de '
            "forum par XenForo® © 2010-2024 XenForo Ltd.</div></footer></div></body>"
        )
        return document(forum.lang, title, body, head, ' id="XF" data-app="public" data-xf="2.2"')

    def home(self) -> str:
        nodes = "".join(
            f'<div class="node node--id{b.id} node--depth2 node--forum node--read"><div class="'
            'node-body"><span class="node-icon" aria-hidden="true"></span><div class="node-main '
            f'js-nodeMain"><h3 class="node-title"><a href="/forums/{b.slug}.{b.id}/" data-xf-init'
            f'="element-tooltip">{escape(b.title)}</a></h3><div class="node-description">'
            f"{escape(b.description)}</div></div></div></div>"
            for b in self.forum.boards
        )
        return self._page(
            self.forum.title,
            f'<div class="block block--category"><div class="block-body">{nodes}</div></div>',
            "forum_list",
        )

    def board_path(self, board: Board, page: Page[Thread]) -> str:
        return f"/forums/{board.slug}.{board.id}/{_page_suffix(page)}"

    def board(self, board: Board, page: Page[Thread]) -> str:
        items = "".join(
            '<div class="structItem structItem--thread js-inlineModContainer js-threadList'
            f'Item-{t.id}" data-author="{escape(t.posts[0].author)}">'
            '<div class="structItem-cell structItem-cell--main" data-xf-init="touch-proxy">'
            '<div class="structItem-title">'
            f'<a href="/forums/{board.slug}.{board.id}/?prefix_id=2" class="labelLink" rel="'
            'nofollow"><span class="label label--blue" dir="auto">Question</span></a> <a href="'
            f'{_thread_base(t)}" data-tp-primary="on" data-xf-init="preview-tooltip">'
            f'{escape(t.title)}</a></div><div class="structItem-minor"><ul class="structItem-'
            f'parts"><li><a href="/members/x.{len(t.posts[0].author)}/" class="username">'
            f'{escape(t.posts[0].author)}</a></li><li class="structItem-startDate">'
            f"{self._time(t.posts[0].when)}</li></ul></div></div>"
            '<div class="structItem-cell structItem-cell--meta">'
            '<dl class="pairs pairs--justified"><dt>Réponses</dt><dd>'
            f'{len(t.posts) - 1}</dd></dl><dl class="pairs pairs--justified structItem-minor">'
            f'<dt>Affichages</dt><dd>{13 * len(t.posts)}</dd></dl></div><div class="structItem'
            f'-cell structItem-cell--latest"><a href="{_thread_base(t)}latest" rel="'
            f'nofollow">{self._time(t.last.when, "structItem-latestDate u-dt")}</a><div '
            f'class="structItem-minor"><a href="/members/y.3/" class="username">'
            f"{escape(t.last.author)}</a></div></div></div>"
            for t in page.items
        )
        nav = (
            f'<div class="pageNav"><a href="/forums/{board.slug}.{board.id}/page-'
            f'{page.number + 2}" class="pageNav-jump pageNav-jump--next">Suivant</a></div>'
            if page.has_next
            else ""
        )
        content = (
            f'<div class="p-title"><h1 class="p-title-value">{escape(board.title)}</h1></div>'
            f'<div class="block-filterBar"><a href="/forums/{board.slug}.{board.id}/?order='
            'reply_count&amp;direction=desc">Trier par réponses</a></div>'
            f'<div class="structItemContainer-group js-threadList">{items}</div>{nav}'
        )
        return self._page(board.title, content, "forum_view")

    def thread_path(self, thread: Thread, page: Page[ForumPost]) -> str:
        return f"{_thread_base(thread)}{_page_suffix(page)}"

    def thread(self, thread: Thread, page: Page[ForumPost]) -> str:
        base = _thread_base(thread)
        articles = self.posts(thread, page)
        nav = (
            f'<nav class="pageNavWrapper"><div class="pageNav"><a href="{base}page-'
            f'{page.number + 2}" class="pageNav-jump pageNav-jump--next">Suivant</a></div></nav>'
            if page.has_next
            else ""
        )
        content = (
            f'<div class="p-title"><h1 class="p-title-value">{escape(thread.title)}</h1></div>'
            f'<div class="block block--messages"><div class="block-body js-replyNewMessage'
            f'Container">{articles}</div></div>{nav}'
        )
        path = self.thread_path(thread, page)
        head = f'<link rel="canonical" href="http://{self.forum.host}{path}">'
        return self._page(thread.title, content, "thread_view", head)

    def quote(self, post: ForumPost, who: str, said: str) -> str:
        return (
            f'<blockquote data-attributes="member: 4" data-quote="{escape(who)}" '
            f'data-source="post: {post.id - 1}" class="bbCodeBlock '
            'bbCodeBlock--expandable bbCodeBlock--quote js-expandWatch">'
            '<div class="bbCodeBlock-title"><a href="/goto/post?id='
            f'{post.id - 1}" class="bbCodeBlock-sourceJump" rel="nofollow">{escape(who)} a '
            'dit :</a></div><div class="bbCodeBlock-content"><div class="bbCodeBlock-expand'
            f'Content js-expandContent ">{paragraphs(said)}</div><div class="bbCodeBlock-'
            'expandLink js-expandLink"><a role="button" tabindex="0">Cliquez pour agrandir'
            "...</a></div></div></blockquote>"
        )

    def signature(self, post: ForumPost, signature: str) -> str:
        return (
            f'<aside class="message-signature"><div class="bbWrapper">{escape(signature)}'
            "</div></aside>"
        )

    def post(self, thread: Thread, post: ForumPost, index: int) -> str:
        link = f"{_thread_base(thread)}post-{post.id}"
        return (
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
            f'class="u-concealed"><a href="{link}" rel="nofollow">'
            f'{self._time(post.when)}</a></li></ul><ul class="message-attribution-opposite'
            f' message-attribution-opposite--list"><li><a href="{link}" class="'
            'message-attribution-gadget" data-xf-init="share-tooltip">Partager</a></li><li><a '
            f'href="{link}" rel="nofollow">#{index + 1}</a></li></ul>'
            '</header><div class="message-content js-messageContent"><div class="message-user'
            'Content lbContainer js-lbContainer"><article class="message-body js-selectTo'
            f'Quote"><div itemprop="text"><div class="bbWrapper">{self.quoted(post)}'
            f"{paragraphs(post.text)}"
            '</div></div><div class="js-selectToQuoteEnd">&nbsp;</div></article></div>'
            f'{self.signed(post)}</div><footer class="message-footer"><div class="message-'
            f'actionBar actionBar"><a href="/posts/{post.id}/react?reaction_id=1" class="reaction '
            'actionBar-action">J\'aime</a> <a href="/threads/'
            f'{thread.slug}.{thread.id}/reply?quote={post.id}" class="actionBar-action">'
            "Répondre</a></div></footer></div></div></div></article>"
        )
