"""What a forum of the sample web holds, whatever engine renders it: a `Forum` of `Board`s of
`Thread`s of `ForumPost`s."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from veille.demo.rendering import Site


@dataclass
class ForumPost:
    """One message in a thread."""

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
    posts: list[ForumPost] = field(default_factory=list)

    @property
    def last(self) -> ForumPost:
        return self.posts[-1]


@dataclass
class Board:
    id: int
    slug: str
    title: str
    description: str = ""
    threads: list[Thread] = field(default_factory=list)


@dataclass
class Forum(Site):
    boards: list[Board] = field(default_factory=list)
    posts_per_page: int = 10
    threads_per_page: int = 20
    robots: str = "User-agent: *\nDisallow: /ucp.php\nDisallow: /posting.php\n"

    def threads(self) -> list[Thread]:
        return [t for b in self.boards for t in b.threads]

    def add_post(self, thread_id: int, post: ForumPost) -> None:
        for thread in self.threads():
            if thread.id == thread_id:
                thread.posts.append(post)
                return
        raise KeyError(thread_id)


def latest_first(threads: Iterable[Thread]) -> list[Thread]:
    """Threads as forums list them: the one with the latest post first."""
    return sorted(threads, key=lambda t: t.last.when, reverse=True)
