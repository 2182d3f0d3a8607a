"""The posts of a thread page found by their structure, with no engine's selectors: the forums,
Q&A sites, social threads and comment sections no one configured.

A post is a block that carries an author (a link to a user profile, an ``itemprop=author``, an
element whose class says author or username, an ``author`` attribute), a date (a ``<time>``, a
``datetime``/``data-time``/``title`` attribute, or short text that reads as a date) and a body
(its largest text block). Posts are repeated: the blocks of one thread share a tag and a class
signature. So:

1. every element that holds an author and a date is a candidate; candidates are grouped by
   signature (tag and first class, digits dropped), and a group counts the members that hold an
   author and a date of their own (not inside another member: nested comments);
2. posts embedded as a JSON:API document (Flarum, `crawlers.extract.jsonapi`), then schema.org
   posts (``DiscussionForumPosting``, ``Comment``, ``Answer``, ``Question``,
   ``SocialMediaPosting``) and microformats (``h-entry``) are taken first where a page declares
   them; else the group with the most members wins, the one with more text on a tie (the block
   around a post beats its header);
3. an opening post of another signature just before the first member (a Q&A page's question, a
   Reddit post above its comments, a XenForo article) comes first.

Each post's text leaves out what is not its own: quotes of earlier posts, signatures (and what
follows a ``____`` or ``--`` line), "edited" notes, buttons and user panels, and the posts nested
in it. Its permalink is a link in it to itself (its id in the href, a fragment naming an element
in it, the ``#12``/permalink/share link, the link around its date), else the thread's URL and the
block's id as a fragment.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urldefrag, urljoin, urlsplit

from lxml import etree
from parsel import Selector

from crawlers.extract.article import ARTICLE_TYPES
from crawlers.extract.dates import parse_date
from crawlers.extract.forum_html import ForumPost, ThreadPage
from crawlers.extract.jsonapi import embedded_posts
from crawlers.extract.page import base_url, canonical_link, ld_nodes, meta, page_lang, walk_ld
from crawlers.extract.text import node_text

Element = etree._Element

POST_TYPES = (
    "DiscussionForumPosting",
    "Comment",
    "Answer",
    "Question",
    "SocialMediaPosting",
)
_PROFILE = re.compile(
    r"(/(users?|members?|u|profiles?|profil|benutzer|membres?|mitglied|author|people|"
    r"utilisateur|~)/[^/?#]+)|^/u\d+([-/?#]|$)|memberlist\.php\?mode=viewprofile|profile\.php\?|member\.php\?|"
    r"showuser=|action=profile|profil|/user-|/member-|userid=|[?&]u=\d",
    re.IGNORECASE,
)
_AUTHOR_CLASS = re.compile(
    r"author|username|user-name|user_name|poster|postername|nickname|membername|"
    r"^name$|^fn$|^p-name$|^nick$|^pseudo$|^user$|^login$|"
    r"(poster|profile|member|user|author|display)[-_]?name|"
    r"^(?!(forum|topic|category|file|site|board|thread|product|item|tag|group|badge|rank|"
    r"title|font|class|page|node|section|blog|list|field|input|form|subreddit|community|"
    r"channel|space|site)[-_])[a-z0-9]+[-_]"
    r"(user|name|nick|pseudo)$",
    re.IGNORECASE,
)
_NOT_AUTHOR_CLASS = re.compile(r"avatar|title|rank|role|badge|info|stats|date|time", re.I)
_DATE_ATTRS = ("datetime", "data-time", "data-timestamp", "data-datetime", "created-timestamp")
_DATE_WORDS = re.compile(
    r"\d|\b(hier|aujourd|yesterday|today|gestern|heute|vorgestern|ago|il y a|vor \d|"
    r"just now|à l'instant|gerade)\b",
    re.IGNORECASE,
)
# User panels print join dates, last visits and counts beside the author: never the post's date.
_PANEL_WORDS = re.compile(
    r"\b(joined|join date|inscrit|inscription|registered|registriert|member since|"
    r"membre depuis|mitglied seit|dabei seit|since|depuis|seit|last (seen|visit|active)|"
    r"dernière (visite|activité|intervention|connexion)|zuletzt|letzte aktivität|local time|"
    r"last (post|activity)|anniversaire|birthday|geburtstag|âge|age)\b",
    re.IGNORECASE,
)
_PANEL_CLASS = re.compile(
    r"join|regist|since|userinfo|user-info|user_info|userdetails|user-details|postprofile|"
    r"profile|usertitle|userstats|user-stats|userextra|user-extra|extra|poster-info|"
    r"postdetails-user|member-info|author-?info|author__info|userblock|user-block|miniprofile|"
    r"birthday|stats",
    re.IGNORECASE,
)
_QUOTE_CLASS = re.compile(r"quote|citation|bbcode_container|bbCodeBlock--quote", re.IGNORECASE)
_FURNITURE_CLASS = re.compile(
    r"signature|^sig$|edit(ed|note|-note|_note|ed-by|-reason)|last-?edit|lastEdit|"
    r"button|btn|actions?$|post-?controls|post-?buttons|reactions?|likes?-?bar|share|"
    r"vote|report|reply-?link|menu|toolbar|footer|badges?|rank|avatar|user-?panel",
    re.IGNORECASE,
)
_BODY_HINT = re.compile(
    r"^(content|post-?content|post_content|postbody|post-?body|post_body|message|"
    r"message-?body|messageText|message-content|post-?message|postmessage|post-?text|"
    r"entry-content|comment-?content|comment-?body|comment-?text|md|bbWrapper|cooked|"
    r"s-prose|js-post-body|usertext-body|text|body|e-content|post-entry|postcontent|"
    r"blockpost|post_message|entry|content-body|post|inner|messageContent|postmsg|post-?msg|"
    r"msgbody|msg-body|messagebody|message-text|comment-message)$",
    re.IGNORECASE,
)
_BODY_PROPS = ("text", "articleBody", "commentText", "description")
_EDIT_LINE = re.compile(
    r"^(last edited by|edited by|dernière (édition|modification) par|édité par|modifié par|"
    r"zuletzt (bearbeitet|geändert) von|bearbeitet von|geändert von|"
    r"(edited|modifié|édité|bearbeitet|geändert)\b.{0,60}\b(by|par|von)\b|"
    r"(this|cette|ce|dieser|diese|dieses) \w+ (was|has been|a été|wurde)\b.{0,80}"
    r"(edit|modifi|bearbeit|geändert)).*$",
    re.IGNORECASE | re.MULTILINE,
)
_SIG_LINE = re.compile(r"\n(?:_{4,}|-{2,}\s*|—{2,})\n.*\Z", re.DOTALL)
_PERMA_TEXT = re.compile(r"^(#\s*\d+|permalink|permalien|lien|link|share|partager|teilen)$", re.I)
_PERMA_CLASS = re.compile(
    r"permalink|postlink|post-link|postnumber|post-number|share|bookmark", re.IGNORECASE
)
# "Posté par Ginette, lundi 24 septembre 2018 à 22:03": an author and a date in one text.
_BYLINE = re.compile(
    r"^(?:posté|publié|écrit|posted|written|submitted|geschrieben|verfasst)?\s*"
    r"(?:par|by|von)\s+(?P<name>[^\s,|»·(][^,|»·\n]{0,38}?)\s*(?:,|\||»|·|\s-\s|\s(?:on|le|am|at|à)\s)"
    r"(?P<rest>.*)$",
    re.IGNORECASE,
)
# "Le mardi 25 septembre 2018, 07:48 par Benoît": the date, then the author.
_BYLINE_AFTER = re.compile(
    r"^(?P<rest>.*?\d.*?),?\s+(?:par|by|von)\s+(?P<name>[^\s,|»·(][^,|»·\n]{0,38})$",
    re.IGNORECASE,
)
_REPLY_PREFIX = re.compile(r"^(re|aw|sv|rép|antw|odp)\s*:\s*", re.IGNORECASE)
_POST_NUMBER = re.compile(r"^#\s?\d+$")
_MARKS = str.maketrans("", "", "\u200e\u200f\u200b")  # direction marks around dates
_TIME = re.compile(r"\d{1,2}\s*[:h]\s*\d{2}")
_GAP = re.compile(r"[\s\u00a0]{2,}")
_LABEL = re.compile(r"^[^\d:]{2,40}:\s+")
_DIGITS = re.compile(r"\d+")
_ROW_NUMBER = re.compile(r"^([A-Za-z]+)\d+$")
_SIGNATURE_DROP = re.compile(r"\d|^(odd|even|alt|first|last|new|unread|highlight|is-.*|js-.*)$")
MIN_POSTS = 2


def _classes(el: Element) -> list[str]:
    value = el.get("class")
    return value.split() if isinstance(value, str) else []


def _tag(el: Element) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def signature(el: Element) -> str:
    """What the blocks of one list share: tag and first class, without what changes per row."""
    # "windowbg2" and "windowbg", "row1" and "row2" alternate in one list: one signature.
    classes = [_ROW_NUMBER.sub(r"\1", c) for c in _classes(el)]
    kept = [c for c in classes if not _SIGNATURE_DROP.search(c)]
    if kept:
        return f"{_tag(el)}.{kept[0]}"
    ident = el.get("id")
    if isinstance(ident, str) and ident:
        return f"{_tag(el)}#{_DIGITS.sub('', ident)}"
    return _tag(el)


def _elements(el: Element, path: str) -> list[Element]:
    found = el.xpath(path)
    return [e for e in found if isinstance(e, etree._Element)] if isinstance(found, list) else []


def _text(el: Element) -> str:
    return " ".join(" ".join(str(t) for t in el.itertext()).split())


def _roles(el: Element) -> list[str]:
    """Classes and the roles templates name in data attributes (IPB's ``data-role``); of a
    BEM class (``reaction__body--reply``), its element: what the block is (``body``)."""
    role = el.get("data-role")
    classes = [
        c.rsplit("__", 1)[1].split("--", 1)[0] or c if "__" in c else c
        for c in _classes(el)
        if not c.startswith("js-")  # hooks for scripts ("js-selectToQuote"), not what it is
    ]
    return classes + ([role] if isinstance(role, str) and role else [])


def _has_class(el: Element, pattern: re.Pattern[str]) -> bool:
    return any(pattern.search(c) for c in _roles(el))


def _is_quote(el: Element) -> bool:
    return _tag(el) == "blockquote" or _has_class(el, _QUOTE_CLASS)


def _in(el: Element, ancestor: Element) -> bool:
    node: Element | None = el
    while node is not None:
        if node is ancestor:
            return True
        node = node.getparent()
    return False


def _ancestors(el: Element, stop: Element | None = None) -> Iterator[Element]:
    node = el.getparent()
    while node is not None and node is not stop:
        yield node
        node = node.getparent()


def _in_quote(el: Element, block: Element) -> bool:
    return _is_quote(el) or any(_is_quote(a) for a in _ancestors(el, block))


# -- authors and dates anywhere in the page --------------------------------------------------


def _text_parts(el: Element) -> list[str]:
    parts = [el.text, *(c.tail for c in el)]
    return [" ".join(p.split()) for p in parts if p and p.strip()]


def _byline(el: Element) -> re.Match[str] | None:
    for part in _text_parts(el):
        for pattern in (_BYLINE, _BYLINE_AFTER):
            match = pattern.search(part)
            if match and _DATE_WORDS.search(match.group("rest")):
                return match
    return None


_BY_END = re.compile(r"\b(?:par|by|von)\s*$", re.IGNORECASE)


def _after_by(el: Element) -> bool:
    """``Le 24 septembre 2018, 20:15 par <a>Mireille</a>``: the name after "par"."""
    previous = el.getprevious()
    parent = el.getparent()
    text = previous.tail if previous is not None else (parent.text if parent is not None else "")
    return bool(_BY_END.search(text or ""))


def _author_name(el: Element) -> str | None:
    for attr in ("author", "data-author", "data-username"):
        value = el.get(attr)
        if isinstance(value, str) and value.strip() and _tag(el) not in ("a", "meta", "link"):
            return value.strip()
    if el.get("itemprop") == "author":
        for name in _elements(el, ".//*[@itemprop='name']"):
            value = name.get("content") or _text(name)
            if value:
                return str(value)
        value = el.get("content")
        if isinstance(value, str) and value.strip():
            return value.strip()
    byline = _byline(el)
    if byline is not None:
        return byline.group("name").strip()
    text = _text(el)
    if text and (len(text) > 40 or len(text.split()) > 4):
        # "par <strong>Invité</strong> » Mer 11 Nov 2026": the name is the emphasised part.
        strong = next((c for c in el.iter("strong", "b", "a", "span") if c is not el), None)
        text = _text(strong) if strong is not None else ""
    if not text or len(text) > 60 or len(text.split()) > 6:
        return None
    return text


def _is_author(el: Element) -> bool:
    tag = _tag(el)
    if tag in ("script", "style", "meta", "link", "img"):
        return False
    if el.get("itemprop") == "author" or "author" in (el.get("rel") or "").split():
        return True
    if tag in ("shreddit-post", "shreddit-comment") or (
        el.get("author") and tag not in ("a", "div", "span", "p")
    ):
        return bool(el.get("author"))
    if el.get("data-author") or el.get("data-username"):
        return True
    if tag == "a" and _PROFILE.search(el.get("href") or ""):
        return True
    if _byline(el) is not None or (tag in ("a", "b", "strong", "span", "cite") and _after_by(el)):
        return True
    classes = _classes(el)
    return any(_AUTHOR_CLASS.search(c) for c in classes) and not any(
        _NOT_AUTHOR_CLASS.search(c) for c in classes
    )


@dataclass
class _Date:
    el: Element
    values: list[str]


def _date_values(el: Element) -> list[str]:
    tag = _tag(el)
    values: list[str] = []
    for attr in (*_DATE_ATTRS, "content" if el.get("itemprop") else "", "ts"):
        value = el.get(attr) if attr else None
        if isinstance(value, str) and value.strip():
            values.append(value.strip())
    for attr in ("title", "data-tippy-content", "data-tooltip", "data-original-title"):
        tip = el.get(attr)  # "3 days ago" with the full date as its tooltip
        if isinstance(tip, str) and _DATE_WORDS.search(tip) and len(tip) < 80:
            values.append(tip.strip())
    if tag == "time" or (not len(el) or all(_tag(c) in ("b", "i", "strong", "br") for c in el)):
        text = _text(el)
        if text and len(text) < 80 and _DATE_WORDS.search(text):
            values.append(text)
            values.append(_LABEL.sub("", text))
    # Text nodes of a mixed element: "Posté le: 03/03/2011 14:17 Sujet: ..."
    for part in (el.text, *(c.tail for c in el)):
        if (
            part
            and part.strip()
            and len(part.strip()) < 80
            and _DATE_WORDS.search(part)
            and not _PANEL_WORDS.search(part)
        ):
            values.append(_BY_END.sub("", _LABEL.sub("", " ".join(part.split()))).strip(" ,-"))
            byline = _BYLINE.search(" ".join(part.split())) or _BYLINE_AFTER.search(
                " ".join(part.split())
            )
            if byline and byline.group("rest").strip(" |"):
                values.append(byline.group("rest").split("|")[0].strip())
            # "Sujet: Re: Cafetière&nbsp; &nbsp;Hier à 08:15": the date after a wide gap.
            pieces = [p.strip() for p in _GAP.split(part) if p.strip()]
            if len(pieces) > 1:
                values += [_LABEL.sub("", p) for p in pieces if _DATE_WORDS.search(p)]
    return list(dict.fromkeys(v.translate(_MARKS).strip() for v in values if v))


class _Reader:
    """Parses dates once per distinct text."""

    def __init__(self, tz: str, now: datetime | None, lang: str | None) -> None:
        self.tz, self.now, self.lang = tz, now, lang
        self.cache: dict[str, datetime | None] = {}

    def date(self, values: Iterable[str]) -> datetime | None:
        for value in values:
            if value not in self.cache:
                self.cache[value] = parse_date(value, tz=self.tz, now=self.now, lang=self.lang)
            if self.cache[value] is not None:
                return self.cache[value]
        return None


PANEL_DEPTH = 5
"""How far up from a date a user panel is looked for (a panel is small; a post is not one)."""


_EDIT_WORDS = re.compile(
    r"\b(modifi\w*|édit\w*|edited|edit|bearbeitet|geändert|editiert|letzte änderung)\b",
    re.IGNORECASE,
)


def _edited(el: Element) -> bool:
    """Whether a date is when the post was edited ("Cette réponse a été modifiée il y a...")."""
    text = _text(el)
    return len(text) < 160 and _EDIT_WORDS.search(text) is not None


def _is_panel(el: Element, block: Element | None = None) -> bool:
    for node in [el, *_ancestors(el, block)][:PANEL_DEPTH]:
        # "has-profile" on a post says it shows a profile beside it, not that it is one.
        if any(
            _PANEL_CLASS.search(c) and not c.startswith(("has-", "is-", "with-", "no-"))
            for c in _roles(node)
        ):
            return True
    parent = el.getparent()
    context = _text(parent) if parent is not None else ""
    own = _text(el)
    return bool(_PANEL_WORDS.search(own) or (len(context) < 90 and _PANEL_WORDS.search(context)))


def _scan(root: Element, reader: _Reader) -> tuple[list[Element], list[_Date]]:
    authors: list[Element] = []
    dates: list[_Date] = []
    skip = {"script", "style", "head", "noscript", "template", "nav", "select"}
    for el in root.iter():
        tag = _tag(el)
        if not tag or tag in skip or any(_tag(a) in skip for a in _ancestors(el)):
            continue
        if _is_author(el) and _author_name(el):
            authors.append(el)
        values = _date_values(el)
        if values and not _is_panel(el) and not _edited(el) and reader.date(values) is not None:
            dates.append(_Date(el, values))
    return authors, dates


# -- choosing the blocks ---------------------------------------------------------------------


@dataclass
class _Group:
    members: list[Element]
    score: int
    """Members with an author and a date of their own."""
    text: int
    named: int = 0
    """Of those, members with a numbered id (``p123``, ``comment-412``): posts have one, the
    layout blocks that happen to hold an author and a date seldom do."""


def _numbered(el: Element) -> bool:
    ident = el.get("id") or el.get("data-id") or el.get("thingid") or ""
    if not ident:
        previous = el.getprevious()
        if previous is not None and _tag(previous) == "a":
            ident = previous.get("name") or previous.get("id") or ""
    return bool(_DIGITS.search(str(ident)))


def _own(el: Element, members: set[Element], marks: Iterable[Element]) -> list[Element]:
    """The marks inside ``el`` that are not inside another member nested in it."""
    out = []
    for mark in marks:
        owner = next((a for a in (mark, *_ancestors(mark)) if a in members), None)
        if owner is el:
            out.append(mark)
    return out


MIN_BODY = 10
"""Characters of a block's text beyond its author and date: a post has a body, its header not."""
MIN_BODY_SHARE = 0.25


def _has_body(length: int, meta: int) -> bool:
    return length - meta >= max(MIN_BODY, MIN_BODY_SHARE * length)


def _groups(authors: list[Element], dates: list[_Date]) -> list[_Group]:
    holders: dict[Element, list[int]] = defaultdict(lambda: [0, 0, 0])
    for author in authors:
        for a in (author, *_ancestors(author)):
            holders[a][0] += 1
            holders[a][2] += len(_author_name(author) or "")
    for date in dates:
        # A block that carries its date as an attribute (<shreddit-comment created-timestamp>)
        # is not all date.
        block_attr = (
            len(date.el) and _tag(date.el) != "time" and any(date.el.get(a) for a in _DATE_ATTRS)
        )
        length = 0 if block_attr else min(len(_text(date.el)), 80)
        for a in (date.el, *_ancestors(date.el)):
            holders[a][1] += 1
            holders[a][2] += length
    by_signature: dict[str, list[Element]] = defaultdict(list)
    for el in holders:
        if _tag(el) not in ("html", "body"):
            by_signature[signature(el)].append(el)
    date_els = [d.el for d in dates]
    groups = []
    for members in by_signature.values():
        # Members with a body of their own: a post, not its header. One nested in another
        # counts apart when it has an author (nested comments); a header row inside a post's
        # row is part of that post.
        inside = set(members)
        owners = [
            m
            for m in members
            if _has_body(len(_text(m)), holders[m][2])
            and (holders[m][0] or not any(a in inside for a in _ancestors(m)))
        ]
        owner_set = set(owners)
        score, text, named = 0, 0, 0
        kept = []
        for member in owners:
            own_dates = bool(_own(member, owner_set, date_els))
            own_authors = bool(_own(member, owner_set, authors))
            if _links_only(member):
                continue  # navigation that happens to hold a date and a profile link
            if own_dates and own_authors:
                score += 1
                named += _numbered(member)
            elif not (own_dates or own_authors):
                continue
            # A guest's post has a date but no profile link, and some posts show no date: still
            # posts of the list.
            kept.append(member)
            text += len(_text(member))
        if score:
            # A member with only one of author and date is a post only beside full ones.
            full = {m.getparent() for m in kept if _own(m, owner_set, date_els)}
            kept = [m for m in kept if m.getparent() in full or _own(m, owner_set, date_els)]
            groups.append(_Group(kept, score, text, named))
    return groups


MAX_LINK_SHARE = 0.6


def _links_only(el: Element) -> bool:
    """Whether most of an element's text is the text of its links (menus, breadcrumbs)."""
    total = len(_text(el))
    linked = sum(len(_text(a)) for a in el.iter("a"))
    return total > 0 and linked > MAX_LINK_SHARE * total


def _schema_blocks(root: Element) -> list[Element]:
    blocks = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        itemtype = el.get("itemtype") or ""
        if (
            el.get("itemscope") is not None
            and any(itemtype.rstrip("/").endswith(f"schema.org/{t}") for t in POST_TYPES)
        ) or "h-entry" in _classes(el):
            blocks.append(el)
    return blocks


def _best(groups: list[_Group]) -> _Group | None:
    if not groups:
        return None
    return max(groups, key=lambda g: (g.score + g.named, g.score, g.text))


# -- one post --------------------------------------------------------------------------------


def _cleaned(block: Element, nested: set[Element]) -> Element:
    """A copy of ``block`` without the posts nested in it."""
    marks = [el for el in block.iter() if el in nested and el is not block]
    for el in marks:
        el.set("data-veille-nested", "1")
    clone = copy.deepcopy(block)
    for el in marks:
        del el.attrib["data-veille-nested"]
    for el in _elements(clone, ".//*[@data-veille-nested]"):
        parent = el.getparent()
        if parent is not None:
            tail = el.tail
            parent.remove(el)
            if tail and tail.strip():
                parent.text = (parent.text or "") + tail
    return clone


def _author(block: Element) -> Element | None:
    candidates = [el for el in block.iter() if isinstance(el.tag, str) and not _in_quote(el, block)]
    for rank in (0, 1, 2):
        for el in candidates:
            if rank == 0 and not (
                el.get("itemprop") == "author" or (el is block and el.get("author"))
            ):
                continue
            if rank == 1 and not (
                _tag(el) == "a" and _PROFILE.search(el.get("href") or "") and _text(el)
            ):
                continue
            if rank == 2 and (el is block or not _is_author(el)):
                continue
            if _author_name(el):
                return _innermost_author(el) if rank == 2 else el
    return None


def _innermost_author(el: Element) -> Element:
    """``<div class=author><b class=fn>Ann</b> says:</div>``: the name inside."""
    while True:
        inner = (c for c in el.iter() if c is not el and isinstance(c.tag, str))
        found = next((c for c in inner if _is_author(c) and _author_name(c)), None)
        if found is None:
            return el
        el = found


def _date_of(
    block: Element, body: Element | None, author: Element | None, reader: _Reader
) -> tuple[Element | None, datetime | None]:
    found: list[tuple[int, Element, datetime]] = []
    for el in block.iter():
        if not isinstance(el.tag, str) or _in_quote(el, block):
            continue
        inside = body is not None and _in(el, body)
        values = _date_values(el)
        if not values or _is_panel(el, block) or _edited(el):
            continue
        parsed = reader.date(values)
        if parsed is None:
            continue
        machine = any(el.get(a) for a in (*_DATE_ATTRS, "ts")) or _tag(el) == "time"
        structured = el.get("itemprop") in ("datePublished", "dateCreated") or _has_class(
            el, re.compile("dt-published")
        )
        rank = (0 if structured else (1 if machine else 2)) + (3 if inside else 0)
        found.append((rank, el, parsed))
    if not found:
        return None, None
    # Of equal rank, the date nearest the author (a Q&A post shows "edited" before "asked").
    rank, el, parsed = min(found, key=lambda f: (f[0], _distance(f[1], author)))
    if rank % 3 == 2 and not any(_TIME.search(v) for v in _date_values(el)):
        # A day without its time, the time in an element of its own: <span class=date>
        # 11-13-2026, <span class=time>09:04 PM</span></span>, or the time beside the day.
        # Or the time right after it: <span title="11-20-2026">Today</span>, 09:31 AM.
        parent = el.getparent()
        arounds = [(el, f"{_text(el)} {el.tail or ''}"), (el, _text(el))]
        if parent is not None:
            arounds.append((parent, _text(parent)))
        for around, raw in arounds:
            whole = " ".join(raw.translate(_MARKS).split())
            if len(whole) < 80 and _TIME.search(whole) and not _PANEL_WORDS.search(whole):
                both = reader.date([whole])
                if both is not None and abs((both - parsed).total_seconds()) < 86400:
                    return around, both
    return el, parsed


def _distance(el: Element, other: Element | None) -> int:
    if other is None:
        return 0
    mine = [el, *_ancestors(el)]
    theirs = {a: i for i, a in enumerate([other, *_ancestors(other)])}
    for steps, ancestor in enumerate(mine):
        if ancestor in theirs:
            return steps + theirs[ancestor]
    return len(mine) + len(theirs)


def _hinted_body(block: Element, author: Element | None) -> Element | None:
    return _body(block, [author] if author is not None else [], hinted_only=True)


def _body(block: Element, avoid: list[Element], *, hinted_only: bool = False) -> Element | None:
    def allowed(el: Element) -> bool:
        return not any(_in(a, el) for a in avoid) and not _in_quote(el, block)

    hinted = [
        el
        for el in block.iter()
        if isinstance(el.tag, str)
        and el is not block
        and (
            el.get("itemprop") in _BODY_PROPS
            or el.get("slot") in ("text-body", "comment")
            or any(_BODY_HINT.search(c) for c in _roles(el))
            or bool(_BODY_HINT.search(_DIGITS.sub("", str(el.get("id") or "")).strip("_-")))
        )
        and allowed(el)
    ]
    hinted = [el for el in hinted if _text(el)]
    if hinted:
        return max(hinted, key=lambda el: len(_text(el)))
    if hinted_only:
        return None
    best: Element | None = None
    for el in block.iter():
        if not isinstance(el.tag, str) or el is block or not allowed(el):
            continue
        if _tag(el) in ("a", "img", "time", "script", "style", "form", "button"):
            continue
        if _has_class(el, _FURNITURE_CLASS) or _has_class(el, _PANEL_CLASS):
            continue
        if best is None or len(_text(el)) > len(_text(best)):
            best = el
    if best is not None and _tag(best) in ("p", "ul", "ol", "pre", "blockquote"):
        parent = best.getparent()
        if parent is not None and parent is not block and allowed(parent):
            return parent
    return best


def _strip(body: Element, meta: list[Element]) -> str:
    """The text of ``body`` without what is not the post's own words; ``meta`` (its author and
    date elements, when the body could not be told apart from them) goes too."""
    for el in meta:
        el.set("data-veille-meta", "1")
    clone = copy.deepcopy(body)
    for el in meta:
        del el.attrib["data-veille-meta"]
    whole = len(_text(clone))  # a class that says "reaction" around all of it is the post
    doomed = [
        el
        for el in clone.iter()
        if isinstance(el.tag, str)
        and el is not clone
        and (
            el.get("data-veille-meta") is not None
            or _POST_NUMBER.match(_text(el)) is not None
            or _is_quote(el)
            or _tag(el) in ("button", "form", "script", "style", "nav", "menu")
            or (_has_class(el, _FURNITURE_CLASS) and len(_text(el)) < min(300, whole / 2))
            or (_has_class(el, re.compile("signature", re.I)))
        )
    ]
    for el in doomed:
        parent = el.getparent()
        if parent is not None and all(not _in(el, d) or d is el for d in doomed):
            tail = el.tail
            previous = el.getprevious()
            parent.remove(el)
            if tail and tail.strip():
                if previous is not None:
                    previous.tail = (previous.tail or "") + tail
                else:
                    parent.text = (parent.text or "") + tail
    text = node_text(Selector(root=clone))
    text = _EDIT_LINE.sub("", _SIG_LINE.sub("", text))
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()


def _ids(block: Element) -> list[str]:
    out = []
    for el in block.iter():
        if isinstance(el.tag, str):
            for attr in ("id", "name"):
                value = el.get(attr)
                if isinstance(value, str) and value.strip():
                    out.append(value.strip())
    return out


def _anchor_before(block: Element) -> str | None:
    previous = block.getprevious()
    if (
        previous is not None
        and _tag(previous) == "a"
        and (previous.get("name") or previous.get("id"))
    ):
        return str(previous.get("name") or previous.get("id"))
    return None


def _permalink(
    block: Element, original: Element, date_el: Element | None, base: str, thread: str
) -> tuple[str, str | None]:
    ids = _ids(block)
    # An empty anchor (<a name="21877"></a>) is there to be linked to; else the block's id.
    anchors = [
        str(a.get("name") or a.get("id"))
        for a in block.iter("a")
        if (a.get("name") or a.get("id")) and not a.get("href") and not _text(a)
    ]
    own_id = (
        (anchors[0] if anchors else None)
        or original.get("id")
        or (ids[0] if ids else None)
        or _anchor_before(original)
    )
    numbers = set(_DIGITS.findall(own_id or ""))
    for attr in ("permalink", "data-permalink", "content-href"):
        value = block.get(attr)
        if isinstance(value, str) and value.strip():
            return urljoin(base, value.strip()), own_id
    for field in block.iter("input"):
        # Flarum: <input class="PostMeta-permalink" value="https://.../d/512-slug/2">
        value = field.get("value") or ""
        if _has_class(field, _PERMA_CLASS) and value.startswith(("http://", "https://", "/")):
            return urljoin(base, value.strip()), own_id
    links = [
        a
        for a in block.iter("a")
        if a.get("href") and not _in_quote(a, block) and not _PROFILE.search(a.get("href") or "")
    ]
    thread_page = urldefrag(thread).url
    for a in links:
        href = str(a.get("href")).strip()
        url = urljoin(base, href)
        fragment = urlsplit(url).fragment
        if fragment and fragment in ids and urlsplit(url).netloc == urlsplit(thread_page).netloc:
            return url, own_id
    for a in links:
        href = str(a.get("href")).strip()
        if (
            _PERMA_TEXT.match(_text(a))
            or "bookmark" in (a.get("rel") or "")
            or _has_class(a, _PERMA_CLASS)
            or (date_el is not None and (_in(date_el, a) or _in(a, date_el)))
        ):
            return urljoin(base, href), own_id
    for a in links:
        href = str(a.get("href")).strip()
        if (
            numbers
            and any(re.search(rf"(?<!\d){n}(?!\d)", href) for n in numbers if len(n) >= 2)
            and not re.search(r"(reply|quote|edit|report|delete|like|vote|share\.php)", href, re.I)
        ):
            return urljoin(base, href), own_id
    if own_id:
        return f"{thread_page}#{own_id}", own_id
    return thread_page, None


@dataclass(frozen=True)
class Structure:
    """What `find_posts` made of a page."""

    posts: list[ForumPost]
    via: str
    """How the blocks were found: ``schema.org``, ``structure`` or ``none``."""
    opening: bool = False
    """Whether the first post is an opening post of another kind than the rest."""
    article_like: bool = False
    """Whether the opening post is marked up as an article (``<article>``, ``hentry``,
    ``entry-content``, ``articleBody``...)."""
    members: int = 0
    """Posts of the repeated kind (all but an opening post of another kind)."""
    areas: tuple[str, ...] = ()
    """XPath selectors of where the repeated posts are (by id), to cut from an article's text."""
    in_comment_area: int = 0
    """Of those, posts inside an element whose id or class says comments (a blog's comment
    section)."""


_COMMENT_AREA = re.compile(
    r"(^|[-_])comments?([-_]|$)|^commentlist$|^respond$|^disqus_thread$", re.IGNORECASE
)


def _is_comment_area(el: Element) -> bool:
    if _tag(el) in ("html", "body", "main"):  # <body class="comments-page">: the whole page
        return False
    ident = el.get("id")
    return bool(isinstance(ident, str) and _COMMENT_AREA.match(ident)) or _has_class(
        el, _COMMENT_AREA
    )


_ARTICLE_CLASS = re.compile(
    r"^(hentry|h-entry|entry-content|post-content|article-content|article-body|entry-body|"
    r"post-body|blog-post|single-post|type-post|gh-content|article)$",
    re.IGNORECASE,
)


def _profile_kind(url: str | None) -> tuple[str, str] | None:
    if not url:
        return None
    parts = urlsplit(url)
    first = parts.path.strip("/").split("/", 1)[0]
    return (parts.netloc, first) if first else None


def _same_profiles(opening: str | None, others: list[str | None]) -> bool:
    kind = _profile_kind(opening)
    return kind is not None and any(_profile_kind(o) == kind for o in others)


def _article_like(block: Element) -> bool:
    """Whether a block is marked up as an article, it or the element around it."""
    for el in (*block.iter(), *_ancestors(block)):
        if not isinstance(el.tag, str):
            continue
        if _tag(el) == "article" or el.get("itemprop") == "articleBody":
            return True
        if _has_class(el, _ARTICLE_CLASS):
            return True
    return False


def _blocks(
    root: Element, reader: _Reader, *, schema: bool = True
) -> tuple[list[Element], str, Element | None]:
    """The post blocks in page order, how they were found, and the opening post if it is of
    another kind than the rest."""
    declared = _schema_blocks(root) if schema else []
    if len(declared) >= 1:
        return declared, "schema.org", None
    authors, dates = _scan(root, reader)
    _pair_up(root, dates)
    group = _best(_groups(authors, dates))
    if group is None or group.score < MIN_POSTS:
        return [], "none", None
    members = group.members
    opening = _opening(members, authors, dates)
    return ([opening] if opening is not None else []) + members, "structure", opening


PAIR = "veille-post"
"""The class of the element that `_pair_up` wraps a header and its body in."""


def _pair_up(root: Element, dates: list[_Date]) -> None:
    """Posts printed as two siblings, a header with the date and then the body (``<dt>`` and
    ``<dd>``, bbPress's reply header and reply), each wrapped in one element: a post block."""
    dated = {a for d in dates for a in (d.el, *_ancestors(d.el))}
    for parent in list(root.iter()):
        kids = [c for c in parent if isinstance(c.tag, str)]
        if len(kids) < 4:
            continue
        # Headers by signature (bbPress's div.bbp-reply-header among divs), else by tag
        # (<dt class="odd me">).
        pairs = max(
            _pairs(kids, [signature(k) for k in kids], dated),
            _pairs(kids, [_tag(k) for k in kids], dated),
            key=len,
        )
        for head, body in pairs:
            wrapper = etree.Element("div", {"class": PAIR})
            head.addprevious(wrapper)
            wrapper.tail, body.tail = body.tail, None
            wrapper.append(head)
            wrapper.append(body)


def _pairs(
    kids: list[Element], signatures: list[str], dated: set[Element]
) -> list[tuple[Element, Element]]:
    for header in {sig for sig in signatures if signatures.count(sig) >= MIN_POSTS}:
        pairs = [
            (kid, kids[i + 1])
            for i, kid in enumerate(kids[:-1])
            if signatures[i] == header
            and signatures[i + 1] != header
            and kid in dated
            and kids[i + 1] not in dated
            and len(_text(kids[i + 1])) >= MIN_BODY
        ]
        if len(pairs) >= MIN_POSTS and len(pairs) >= signatures.count(header) - 1:
            return pairs
    return []


def _headings(el: Element) -> list[Element]:
    return [h for h in el.iter("h1", "h2", "h3", "h4", "h5", "h6")]


def _opening(members: list[Element], authors: list[Element], dates: list[_Date]) -> Element | None:
    """A post of another kind just before the first member (a question, a Reddit post)."""
    first = members[0]
    order = {el: i for i, el in enumerate(first.getroottree().getroot().iter())}
    before = [a for a in authors if order.get(a, 0) < order[first]]
    if not before:
        return None
    author = before[-1]
    # The highest block around that author that holds none of the members.
    block: Element | None = None
    for ancestor in (author, *_ancestors(author)):
        if any(_in(m, ancestor) for m in members):
            break
        block = ancestor
    if block is None or _tag(block) in ("header", "nav", "aside", "footer") or _links_only(block):
        return None
    if any(i.get("type") in ("text", "search") for i in block.iter("input")):
        return None  # a search box or a sidebar widget, not a post
    date_els = [d.el for d in dates if _in(d.el, block)]
    if not date_els:
        return None
    body = _body(block, [author, *date_els])
    if body is None or len(_text(body)) - sum(len(_text(h)) for h in _headings(body)) < 40:
        return None  # a thread's title and starter, not a post
    if any(
        _has_class(a, re.compile("sidebar|widget|header|breadcrumb"))
        for a in (block, *_ancestors(block))
    ):
        return None
    return block


def find_posts(
    sel: Selector,
    url: str,
    *,
    tz: str = "UTC",
    now: datetime | None = None,
    lang: str | None = None,
) -> Structure:
    """The posts of a thread page, in page order; an empty list if it shows no repeated posts."""
    if not isinstance(sel.root, etree._Element):
        return Structure([], "none")
    thread = canonical_link(sel, url) or url
    embedded = embedded_posts(sel, thread, tz=tz, now=now)
    if len(embedded) >= 1:
        return Structure(embedded, "json:api", members=len(embedded))
    root = copy.deepcopy(sel.root)  # `_pair_up` regroups elements: never the caller's page
    reader = _Reader(tz, now, lang)
    base = base_url(sel, url)
    if urlsplit(base).scheme == "file" and thread.startswith(("http://", "https://")):
        base = thread  # a page saved to disk: its links lead to the site it was saved from
    page = _Page(
        reader=reader,
        base=base,
        thread=thread,
        titles={
            " ".join(t.split())
            for t in (meta(sel, "og:title"), sel.xpath("normalize-space(//h1)").get())
            if t and t.strip()
        },
        # A permalink that is one of these plus a fragment does not name its post alone.
        pages={urldefrag(u).url for u in (thread, url, base)},
    )
    found = _read(*_blocks(root, reader), page)
    if found.via == "schema.org" and len(found.posts) < MIN_POSTS:
        # Declared posts that give nothing to read (a wrapper scope): the structure then.
        structure = _read(*_blocks(root, reader, schema=False), page)
        if len(structure.posts) > len(found.posts):
            return structure
    return found


@dataclass(frozen=True)
class _Page:
    reader: _Reader
    base: str
    thread: str
    titles: set[str]
    pages: set[str]


def _read(blocks: list[Element], via: str, opening: Element | None, page: _Page) -> Structure:
    """The posts of ``blocks``, and what they say about the page."""
    reader, base, thread, titles, pages = (
        page.reader,
        page.base,
        page.thread,
        page.titles,
        page.pages,
    )
    block_set = set(blocks)
    lowered = {t.lower() for t in titles}
    posts: list[ForumPost] = []
    in_area = members = 0
    for original in blocks:
        block = _cleaned(original, block_set)
        author_el = _author(block)
        date_el, published = _date_of(block, _hinted_body(block, author_el), author_el, reader)
        body_guess = _body(block, [author_el] if author_el is not None else [])
        avoid = [e for e in (author_el, date_el) if e is not None]
        body = _body(block, avoid) if avoid else body_guess
        inside = [e for e in avoid if body is not None and _in(e, body) and e is not body]
        text = _strip(body, inside) if body is not None else ""
        if not text or " ".join(text.split()) in titles:
            continue  # a thread's wrapper whose own text is its title
        first, _, rest = text.partition("\n")
        if rest.strip() and _REPLY_PREFIX.sub("", " ".join(first.split())).lower() in lowered:
            text = rest.strip()  # "Re: <the thread's title>" heading each post
        link, native = _permalink(block, original, date_el, base, thread)
        author_url = None
        if author_el is not None and _tag(author_el) == "a" and author_el.get("href"):
            author_url = urljoin(base, str(author_el.get("href")))
        if original is not opening:
            members += 1
            in_area += any(_is_comment_area(a) for a in _ancestors(original))
        number = _DIGITS.search(native) if native else None
        posts.append(
            ForumPost(
                native_id=number.group() if number else native,
                url=link,
                text=text,
                author=_author_name(author_el) if author_el is not None else None,
                author_url=author_url,
                published=published,
                position=len(posts) + 1,
                unique=urldefrag(link).url not in pages,
            )
        )
    has_opening = bool(posts) and opening is not None and members < len(posts)
    # A thread's opening post is signed like its replies (the same kind of profile link); a
    # blog's article by its author page, its comments by the commenters' own sites or nothing.
    article_like = (
        opening is not None
        and _article_like(opening)
        and not _same_profiles(posts[0].author_url, [p.author_url for p in posts[1:]])
    )
    areas = (
        tuple(
            f"//*[@id='{b.get('id')}']"
            for b in blocks
            if b is not opening and b.get("id") and "'" not in str(b.get("id"))
        )
        if members >= MIN_POSTS
        else ()
    )  # one block may be the article itself
    return Structure(posts, via, has_opening, article_like, members, areas, in_area)


def structural_thread(
    sel: Selector,
    url: str,
    *,
    tz: str = "UTC",
    now: datetime | None = None,
    lang: str | None = None,
) -> tuple[ThreadPage, Structure]:
    """A thread page read by structure alone (see the module docstring), and how it was read."""
    declared = page_lang(sel) or lang
    short = declared.replace("_", "-").split("-")[0].lower() if declared else None
    found = find_posts(sel, url, tz=tz, now=now, lang=short)
    title = (
        meta(sel, "og:title")
        or sel.xpath("normalize-space(//h1)").get()
        or sel.xpath("normalize-space(//title)").get()
    )
    page = ThreadPage(
        url=url,
        thread_url=canonical_link(sel, url) or url,
        title=title or None,
        posts=found.posts,
        lang=declared,
    )
    return page, found


THREAD_TYPES = frozenset({"DiscussionForumPosting", "QAPage", "Question", "SocialMediaPosting"})


def declared_types(sel: Selector) -> set[str]:
    """The schema.org types a page declares, in JSON-LD or microdata."""
    found: set[str] = set()
    for item in ld_nodes(sel):
        kinds = item.get("@type")
        for kind in kinds if isinstance(kinds, list) else [kinds]:
            if isinstance(kind, str):
                found.add(kind.rsplit("/", 1)[-1])
        for value in item.values():
            if isinstance(value, dict | list):
                for inner in walk_ld(value):
                    kind = inner.get("@type")
                    if isinstance(kind, str):
                        found.add(kind.rsplit("/", 1)[-1])
    for itemtype in sel.xpath("//*[@itemscope]/@itemtype").getall():
        for kind in itemtype.split():
            found.add(kind.rstrip("/").rsplit("/", 1)[-1])
    return found


def page_is_thread(sel: Selector, structure: Structure) -> bool:
    """Whether a page is a thread (posts) rather than an article (and its comments): by the
    schema.org types it declares, then by where its repeated posts are."""
    if len(structure.posts) < 1:
        return False
    types = declared_types(sel)
    if types & THREAD_TYPES:
        return True
    if types & ARTICLE_TYPES:
        return False
    # Open Graph's type is left out: forums print "article" for their threads too.
    if len(structure.posts) < MIN_POSTS:
        return False
    # A blog's comments sit in its comment section, its article outside and written like an
    # article; a thread's posts, its first included, are the page itself.
    if structure.in_comment_area < structure.members:
        return True
    return structure.opening and not structure.article_like
