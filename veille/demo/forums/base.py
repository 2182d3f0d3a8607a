"""What every engine's rendering of a forum shares: robots.txt, the HTML document around a page,
post text as paragraphs, and, for the engines that serve HTML, the routing of a home page, each
board's pages of threads and each thread's pages of posts.

An engine subclasses `Engine` (or `HtmlEngine`) and declares only what differs: its paths, its
markup, how it writes dates, quotes and signatures.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from html import escape
from typing import ClassVar

from veille.demo.forums.model import Board, Forum, ForumPost, Thread, latest_first
from veille.demo.rendering import Page, paged
from veille.demo.web import Response, Route, Routes


def document(lang: str, title: str, body: str, head: str = "", html_attrs: str = "") -> str:
    """The HTML document around an engine's page, with the tracking script real forums carry."""
    return (
        f'<!DOCTYPE html>\n<html dir="ltr" lang="{lang}"{html_attrs}><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>{head}"
        "<script>window.dataLayer=window.dataLayer||[];function gtag(){}</script></head>"
        f"{body}</html>"
    )


def paragraphs(text: str) -> str:
    """A post's text, one line a line, as BBCode engines render it."""
    return "<br>\n".join(escape(line) for line in text.split("\n"))


class Engine(ABC):
    """How one engine renders a forum: `routes` serves its robots.txt and its `pages`."""

    start_path: ClassVar[str]
    """Where a spider starts."""
    robots: ClassVar[str | None] = None
    """The engine's own robots.txt; None serves the forum's."""

    def __init__(self, forum: Forum) -> None:
        self.forum = forum

    @classmethod
    def render(cls, forum: Forum) -> Routes:
        """Every route of ``forum`` as this engine serves it."""
        return cls(forum).routes()

    def routes(self) -> Routes:
        host = self.forum.host
        robots = self.robots if self.robots is not None else self.forum.robots
        routes: Routes = {(host, "/robots.txt"): Response.text(robots, "text/plain")}
        routes.update(((host, path), route) for path, route in self.pages())
        return routes

    @abstractmethod
    def pages(self) -> Iterator[tuple[str, Route]]:
        """(path, route) of every page."""


class HtmlEngine(Engine):
    """An engine that serves HTML pages: a home page that lists the boards (at `start_path` and
    any `also_home`), each board's threads latest first, page by page, and each thread's posts,
    page by page, with their quotes and signatures."""

    also_home: ClassVar[tuple[str, ...]] = ()

    def pages(self) -> Iterator[tuple[str, Route]]:
        forum = self.forum
        home = Response.text(self.home())
        for path in (self.start_path, *self.also_home):
            yield path, home
        for board in forum.boards:
            for page in paged(latest_first(board.threads), forum.threads_per_page):
                yield self.board_path(board, page), Response.text(self.board(board, page))
            for thread in board.threads:
                for posts in paged(thread.posts, forum.posts_per_page):
                    yield self.thread_path(thread, posts), Response.text(self.thread(thread, posts))

    @abstractmethod
    def home(self) -> str:
        """The page that lists the boards."""

    @abstractmethod
    def board_path(self, board: Board, page: Page[Thread]) -> str: ...

    @abstractmethod
    def board(self, board: Board, page: Page[Thread]) -> str:
        """One page of a board's threads."""

    @abstractmethod
    def thread_path(self, thread: Thread, page: Page[ForumPost]) -> str: ...

    @abstractmethod
    def thread(self, thread: Thread, page: Page[ForumPost]) -> str:
        """One page of a thread's posts."""

    @abstractmethod
    def post(self, thread: Thread, post: ForumPost, index: int) -> str:
        """One post, the ``index``-th of its thread (from 0)."""

    def posts(self, thread: Thread, page: Page[ForumPost]) -> str:
        return "".join(self.post(thread, post, n) for n, post in page.numbered())

    @abstractmethod
    def quote(self, post: ForumPost, who: str, said: str) -> str:
        """The markup of what ``post`` quotes: ``said``, by ``who``."""

    @abstractmethod
    def signature(self, post: ForumPost, signature: str) -> str:
        """The markup of ``post``'s signature."""

    def quoted(self, post: ForumPost) -> str:
        """What ``post`` quotes, if anything, as the engine marks quotes up."""
        return self.quote(post, *post.quote) if post.quote else ""

    def signed(self, post: ForumPost) -> str:
        """``post``'s signature, if any, as the engine marks signatures up."""
        return self.signature(post, post.signature) if post.signature else ""
