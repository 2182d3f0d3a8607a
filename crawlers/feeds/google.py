"""Feeds built from a brand's query: Google News RSS searches and Google Alerts.

- `google_news_rss_url` gives the RSS feed of a Google News search, in a language and country.
- Google Alerts feeds cannot be built from a query (each has an opaque user and alert id), so
  `google_alerts_url` gives the page that creates the alert; choose "Deliver to: RSS feed" there
  and add the feed URL it gives to ``sources.feeds``.
- `to_google_query` translates Veille's query language into Google's search syntax, as far as
  Google can follow: NEAR becomes AROUND(n), ``site:`` stays, ``lang:`` becomes the ``hl``
  parameter, ``author:`` and ``source:`` and prefixes have no equivalent and are left out (enrich
  applies the full query to what comes back anyway).
- `unwrap_google_link` turns a Google Alerts redirect link into the article's own URL.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit

from ingest.query.tree import And, Field, Near, Node, Not, Or, Text


def _text(text: Text) -> str:
    words = " ".join(text.tokens)
    return f'"{words}"' if len(text.tokens) > 1 else words


def to_google_query(node: Node) -> str:
    """Google search syntax for ``node`` (a superset of what it matches)."""
    match node:
        case Text():
            return _text(node)
        case Near():
            pairs = [
                f"{_text(a)} AROUND({node.distance}) {_text(b)}"
                for a in node.left
                for b in node.right
            ]
            return pairs[0] if len(pairs) == 1 else "(" + " OR ".join(pairs) + ")"
        case Field(name="site"):
            return f"site:{node.value}"
        case Field():
            return ""
        case And():
            return " ".join(p for p in (to_google_query(c) for c in node.children) if p)
        case Or():
            parts = [p for p in (to_google_query(c) for c in node.children) if p]
            return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
        case Not():
            inner = node.child
            if isinstance(inner, Or):
                return " ".join(to_google_query(Not(c)) for c in inner.children)
            excluded = to_google_query(inner)
            return (
                f"-{excluded}"
                if excluded and " " not in excluded.strip('"')
                else (f"-({excluded})" if excluded else "")
            )
    return ""  # pragma: no cover


def _language(node: Node) -> str | None:
    match node:
        case Field(name="lang"):
            return node.value
        case And():
            return next((lang for c in node.children if (lang := _language(c))), None)
    return None


def google_news_rss_url(query: Node, *, lang: str = "fr", country: str = "FR") -> str:
    """The Google News RSS search feed for ``query`` (its own ``lang:`` wins over ``lang``)."""
    hl = _language(query) or lang
    gl = country.upper()
    params = {"q": to_google_query(query), "hl": hl, "gl": gl, "ceid": f"{gl}:{hl}"}
    return "https://news.google.com/rss/search?" + urlencode(params, quote_via=quote_plus)


def google_alerts_url(query: Node, *, lang: str = "fr") -> str:
    """The Google Alerts page that creates an alert for ``query``."""
    return "https://www.google.com/alerts?" + urlencode(
        {"q": to_google_query(query), "hl": _language(query) or lang}, quote_via=quote_plus
    )


def unwrap_google_link(url: str) -> str:
    """``https://www.google.com/url?...&url=https://site/article&...`` -> the article's URL."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.endswith("google.com") and parts.path == "/url":
        target = parse_qs(parts.query).get("url") or parse_qs(parts.query).get("q")
        if target and target[0].startswith(("http://", "https://")):
            return target[0]
    return url
