"""URLs as the spiders follow them: one form per page, and no crawler traps.

`request_url` puts a URL in the form the spiders request it: lowercased scheme and host, no
default port, no fragment, no session or tracking parameters (``sid``, ``PHPSESSID``, vBulletin's
``s=<32 hex>``, ``;jsessionid=``, ``utm_*``...), and phpBB's ``start=0`` dropped (the first
page has one URL). The rest of the query keeps its order and form: ``index.php?topic=3.0`` and
``showthread.php?123-Title`` are left as the site wrote them.

`trap` says why a URL should not be followed, if it should not: calendars and date pickers that
never end, sort orders and display modes that show the same posts again, print views, reply
and quote forms, log-in, registration and member pages, WordPress's ``?replytocom=``, URLs too
long or with a path that repeats itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote_plus, urlsplit, urlunsplit

_SESSION = frozenset(
    {"sid", "phpsessid", "jsessionid", "sessionid", "session_id", "oscsid", "zenid", "cfid"}
)
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "_hs", "at_", "xtor")
_TRACKING = frozenset({"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "ref_src"})
_HEX32 = re.compile(r"^[0-9a-f]{32}$", re.IGNORECASE)
_PATH_SESSION = re.compile(r";(jsessionid|phpsessid|sid)=[^/?#]*", re.IGNORECASE)

TRAP_PARAMS = frozenset(
    {
        # sort orders and display modes: the same posts in another order
        "sort",
        "sortby",
        "sort_by",
        "order",
        "orderby",
        "direction",
        "dir",
        "sk",
        "sd",
        "st",
        "view",
        "display",
        "layout",
        "mode",
        "highlight",
        "hilit",
        "replytocom",
        "share",
        "print",
        "printable",
        "prefix_id",
        # calendars and date pickers
        "year",
        "month",
        "day",
        "week",
        "date",
        "cal",
        "calendar",
        "ical",
        "ics",
        # forms and accounts
        "do",
        "action",
        "redirect",
        "redirect_to",
        "returnurl",
        "return",
        "login",
        "logout",
        "register",
    }
)
_TRAP_PATH = re.compile(
    r"(^|/)(calendar|calendrier|agenda|events?|evenements?|ical|"
    r"posting\.php|ucp\.php|memberlist\.php|report\.php|mcp\.php|login|logout|register|"
    r"wp-login\.php|wp-admin|wp-json|xmlrpc\.php|member\.php|members|newreply\.php|"
    r"newthread\.php|private\.php|sendmessage\.php|misc\.php|inlinemod\.php|printthread\.php|"
    r"reply|react|reactions|whats-new|goto|attachments?|feed|trackback|cgi-bin)(/|$|[?.;])",
    re.IGNORECASE,
)
_DATE_PATH = re.compile(r"/\d{4}[-/]\d{1,2}([-/]\d{1,2})?/(\d{4}[-/]\d{1,2})")
MAX_URL_LENGTH = 500
MAX_QUERY_PARAMS = 8


def _params(query: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for part in re.split(r"[&;]", query):
        if not part:
            continue
        key, eq, value = part.partition("=")
        out.append((key, value if eq else None))
    return out


def _keep(key: str, value: str | None) -> bool:
    lowered = key.lower()
    if lowered in _SESSION or lowered in _TRACKING or lowered.startswith(_TRACKING_PREFIXES):
        return False
    if lowered == "s" and value and _HEX32.match(value):  # vBulletin's session id
        return False
    return not (lowered == "start" and value == "0")


def request_url(url: str) -> str:
    """The form in which a URL is requested (see the module docstring)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    netloc = host
    if parts.port and not (
        (scheme == "http" and parts.port == 80) or (scheme == "https" and parts.port == 443)
    ):
        netloc = f"{host}:{parts.port}"
    path = _PATH_SESSION.sub("", parts.path) or "/"
    separator = ";" if ";" in parts.query and "&" not in parts.query else "&"
    kept = [
        key if value is None else f"{key}={value}"
        for key, value in _params(parts.query)
        if _keep(key, value)
    ]
    return urlunsplit((scheme, netloc, path, separator.join(kept), ""))


def trap(url: str, extra_params: Iterable[str] = ()) -> str | None:
    """Why ``url`` is a crawler trap, or None if it is not one."""
    if len(url) > MAX_URL_LENGTH:
        return "url too long"
    parts = urlsplit(url)
    params = _params(parts.query)
    if len(params) > MAX_QUERY_PARAMS:
        return "too many query parameters"
    trap_params = TRAP_PARAMS.union(p.lower() for p in extra_params)
    for key, _value in params:
        if key.lower() in trap_params:
            return f"query parameter '{key}'"
    if _TRAP_PATH.search(parts.path):
        return "calendar, form or account page"
    if _DATE_PATH.search(parts.path):
        return "nested date archive"
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) > 12:
        return "path too deep"
    if any(segments.count(s) >= 3 for s in set(segments)):
        return "path repeats itself"
    return None


def search_urls(templates: Iterable[str], terms: Iterable[str]) -> list[str]:
    """Site-search URLs: each template with ``{brand}`` replaced by each term (URL-encoded)."""
    out: list[str] = []
    for template in templates:
        if "{brand}" not in template:
            out.append(template)
            continue
        out.extend(template.replace("{brand}", quote_plus(term)) for term in terms)
    return list(dict.fromkeys(out))
