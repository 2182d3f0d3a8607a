"""Forums of the sample web, rendered the way each engine renders them: phpBB 3.3 (prosilver),
vBulletin 4, XenForo 2, Simple Machines 2.1 (read by the generic spider) and Discourse's JSON API.

One model (`Forum` > `Board` > `Thread` > `ForumPost`, in `model`) renders to the routes of a
`veille.demo.web.Web`. `base` routes what every engine serves (robots.txt, a home page, boards
and threads page by page); each engine's module declares only what differs: its paths and its
markup, which follows the engine's templates, with what real pages carry besides posts: menus,
profiles, signatures, quotes of earlier posts, sort links, print views and session ids. Tests
render a forum, crawl it, add a post, render it again and crawl again.
"""

from __future__ import annotations

from collections.abc import Callable

from veille.demo.forums.base import Engine
from veille.demo.forums.discourse import Discourse
from veille.demo.forums.model import Board, Forum, ForumPost, Thread
from veille.demo.forums.phpbb import PhpBB, phpbb_routes
from veille.demo.forums.smf import SMF_MARKUP, SimpleMachines
from veille.demo.forums.vbulletin import VBulletin
from veille.demo.forums.xenforo import XenForo
from veille.demo.web import Routes

__all__ = [
    "ENGINES",
    "RENDERERS",
    "SMF_MARKUP",
    "START_PATHS",
    "Board",
    "Forum",
    "ForumPost",
    "Thread",
    "phpbb_routes",
]

ENGINES: dict[str, type[Engine]] = {
    "phpbb": PhpBB,
    "vbulletin": VBulletin,
    "xenforo": XenForo,
    "generic": SimpleMachines,
    "discourse": Discourse,
}
"""Each engine, by the name a forum site's ``engine`` setting gives its spider."""

RENDERERS: dict[str, Callable[[Forum], Routes]] = {
    name: engine.render for name, engine in ENGINES.items()
}
"""How each engine renders a forum."""

START_PATHS = {name: engine.start_path for name, engine in ENGINES.items()}
"""Where a spider starts on each engine's rendering."""
