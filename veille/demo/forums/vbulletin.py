"""vBulletin 4, under ``/forum/``: ``forum.php``, ``forumdisplay.php?f=`` and ``showthread.php?t=``,
in English or French dates as the board's language says."""

from __future__ import annotations

from datetime import datetime
from html import escape

from veille.demo.forums.base import HtmlEngine, document, paragraphs
from veille.demo.forums.model import Board, ForumPost, Thread
from veille.demo.rendering import Page


def _page_suffix(page: Page[object]) -> str:
    return f"&page={page.number + 1}" if page.number else ""


class VBulletin(HtmlEngine):
    start_path = "/forum/forum.php"

    def _date(self, when: datetime) -> str:
        local = self.forum.local(when)
        if self.forum.lang == "en":
            return f'{local:%m-%d-%Y},&nbsp;<span class="time">{local:%I:%M %p}</span>'
        return f'{local:%d/%m/%Y},&nbsp;<span class="time">{local:%Hh%M}</span>'

    def _page(self, title: str, content: str, head: str = "") -> str:
        forum = self.forum
        body = (
            '<body><div class="above_body"><div id="header" class="floatcontainer doc_header">'
            '<div><a name="top" href="forum.php" class="logo-image"><img src="images/misc/'
            f'vbulletin4_logo.png" alt="{escape(forum.title)}"></a></div><div id="toplinks" '
            'class="toplinks"><ul class="nouser"><li><a href="register.php" rel="nofollow">'
            'Register</a></li></ul></div></div><div id="navbar" class="navbar"><ul id="navtabs" '
            'class="navtabs floatcontainer"><li class="selected"><a class="navtab" href="forum.'
            'php">Forum</a></li><li><a class="navtab" href="calendar.php">Calendar</a></li><li>'
            '<a href="search.php?do=getdaily">New posts</a></li></ul></div></div><div class="'
            f'body_wrapper">{content}</div><div id="footer" class="floatcontainer footer"><ul '
            'id="footer_links" class="footer_links"><li><a href="sendmessage.php" rel="nofollow">'
            'Contact Us</a></li><li><a href="archive/index.php">Archive</a></li></ul></div>'
            '<div id="footer_copyright" class="shade footer_copyright">Powered by vBulletin® '
            "Version 4.2.5</div></body>"
        )
        head = (
            f'<base href="http://{forum.host}/forum/" /><meta name="generator" content="'
            f'vBulletin 4.2.5" />{head}'
        )
        return document(forum.lang, title, body, head, ' id="vbulletin_html"')

    def home(self) -> str:
        rows = "".join(
            f'<li id="forum{b.id}" class="forumbit_post old L2"><div class="forumrow table">'
            '<div class="foruminfo td"><div class="forumdata"><div class="datacontainer"><div '
            f'class="titleline"><h2 class="forumtitle"><a href="forumdisplay.php?f={b.id}">'
            f'{escape(b.title)}</a></h2></div><p class="forumdescription">'
            f"{escape(b.description)}</p></div></div></div></div></li>"
            for b in self.forum.boards
        )
        home = (
            '<ol id="forums" class="floatcontainer"><li id="cat1" class="forumbit_nopost L1">'
            '<div class="forumhead foruminfo L1 collapse"><h2><span class="forumtitle">General'
            f'</span></h2></div><ol id="c_cat1" class="childforum">{rows}</ol></li></ol>'
        )
        return self._page(self.forum.title, home)

    def board_path(self, board: Board, page: Page[Thread]) -> str:
        return f"/forum/forumdisplay.php?f={board.id}{_page_suffix(page)}"

    def board(self, board: Board, page: Page[Thread]) -> str:
        items = "".join(
            f'<li class="threadbit hot" id="thread_{t.id}"><div class="rating0 nonsticky">'
            '<div class="threadinfo"><div class="inner"><h3 class="threadtitle">'
            f'<a class="title" href="showthread.php?t={t.id}" id="thread_title_{t.id}">'
            f'{escape(t.title)}</a></h3><div class="threadmeta"><div class="author"><span '
            f'class="label">Started by <a href="member.php?u=5" class="username understate">'
            f"{escape(t.posts[0].author)}</a>,&nbsp;{self._date(t.posts[0].when)}</span>"
            '</div></div></div></div></div><ul class="threadstats td alt"><li>Replies: <a '
            f'href="misc.php?do=whoposted&amp;t={t.id}" class="understate">{len(t.posts) - 1}'
            f'</a></li><li>Views: {31 * len(t.posts)}</li></ul><dl class="threadlastpost '
            'td"><dt class="lastpostby hidden">Last Post By</dt><dd><a class="username" '
            f'href="member.php?u=9"><strong>{escape(t.last.author)}</strong></a></dd><dd>'
            f'{self._date(t.last.when)}<a href="showthread.php?t={t.id}&amp;p='
            f'{t.last.id}#post{t.last.id}" class="lastpostdate understate" title="Go to last '
            'post"><img src="images/buttons/lastpost-right.png" alt="Go to last post"></a>'
            "</dd></dl></div></li>"
            for t in page.items
        )
        nav = ""
        if page.has_next:
            nav = (
                '<div class="pagination_top"><span class="prev_next"><a rel="next" href="'
                f'forumdisplay.php?f={board.id}&amp;page={page.number + 2}" title="Next Page">'
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
        return self._page(board.title, content)

    def thread_path(self, thread: Thread, page: Page[ForumPost]) -> str:
        return f"/forum/showthread.php?t={thread.id}{_page_suffix(page)}"

    def thread(self, thread: Thread, page: Page[ForumPost]) -> str:
        posts = self.posts(thread, page)
        nav = ""
        if page.has_next:
            nav = (
                '<div class="pagination_top"><span class="prev_next"><a rel="next" '
                f'href="showthread.php?t={thread.id}&amp;page={page.number + 2}" title="Next '
                'Page">Next</a></span></div>'
            )
        content = (
            f'<div id="pagetitle" class="pagetitle"><h1>Thread: <span class="threadtitle"'
            f'><a href="showthread.php?t={thread.id}" title="Reload this Page">'
            f"{escape(thread.title)}</a></span></h1></div>{nav}"
            f'<div id="postlist" class="postlist restrain"><ol id="posts" class="posts" '
            f'start="1">{posts}</ol></div>'
        )
        head = f'<link rel="canonical" href="showthread.php?t={thread.id}{_page_suffix(page)}" />'
        return self._page(thread.title, content, head)

    def quote(self, post: ForumPost, who: str, said: str) -> str:
        return (
            '<div class="bbcode_container"><div class="bbcode_quote"><div class="quote_container">'
            '<div class="bbcode_quote_container"></div><div class="bbcode_postedby"><img src="'
            f'images/misc/quote_icon.png" alt="Quote"> Originally Posted by <strong>{escape(who)}'
            f'</strong> <a href="showthread.php?p={post.id - 1}#post{post.id - 1}" rel="nofollow">'
            '<img class="inlineimg" src="images/buttons/viewpost-right.png" alt="View Post"></a>'
            f'</div><div class="message">{paragraphs(said)}</div></div></div></div>'
        )

    def signature(self, post: ForumPost, signature: str) -> str:
        return (
            '<div class="after_content"><blockquote class="signature restore"><div class="'
            f'signaturecontainer">{escape(signature)}</div></blockquote></div>'
        )

    def post(self, thread: Thread, post: ForumPost, index: int) -> str:
        number = index + 1  # vBulletin counts posts from 1
        return (
            f'<li class="postbitlegacy postbitim postcontainer old" id="post_{post.id}">'
            f'<div class="posthead"><span class="postdate old"><span class="date">'
            f'{self._date(post.when)}</span></span><span class="nodecontrols"><a name="'
            f'{number}" href="showthread.php?t={thread.id}&amp;p={post.id}#post{post.id}" '
            f'class="postcounter">#{number}</a><a id="postcount{post.id}" name="{number}">'
            '</a></span></div><div class="postdetails"><div class="userinfo"><div class="username_'
            'container"><div class="popupmenu memberaction"><a class="username offline popupctrl" '
            f'href="member.php?u={len(post.author)}" title="{escape(post.author)} is offline">'
            f'<strong>{escape(post.author)}</strong></a></div></div><span class="usertitle">'
            'Junior Member</span><dl class="userinfo_extra"><dt>Join Date</dt><dd>Mar 2019</dd>'
            '<dt>Posts</dt><dd>1,024</dd></dl></div><div class="postbody"><div class="postrow">'
            f'<div class="content"><div id="post_message_{post.id}"><blockquote class="'
            f'postcontent restore ">{self.quoted(post)}{paragraphs(post.text)}</blockquote></div>'
            f"</div></div>{self.signed(post)}</div></div>"
            '<div class="postfoot"><div class="textcontrols floatcontainer"><span class="'
            f'postcontrols"><a id="qrwq_{post.id}" class="newreply" href="newreply.php?do='
            f'newreply&amp;p={post.id}" rel="nofollow">Reply With Quote</a></span></div></div>'
            "</li>"
        )
