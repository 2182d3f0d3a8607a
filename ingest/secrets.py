"""Secrets: which strings of a settings tree are secret, and masking them in any text.

`secrets_in` walks a settings tree (any pydantic model) and finds, without a list to keep up to
date, so that a new secret field is masked as soon as it is typed `SecretStr`:

- every `SecretStr` value: passwords, tokens, API and routing keys, signing keys, webhook URLs,
  HTTP header values;
- for a secret that is a URL (a webhook's URL is its key): also its path and query (a server's
  404 page echoes "The requested URL /hooks/TOKEN was not found"), each path segment and query
  value that looks like a token, and any password in it;
- in any URL, secret or not (a store, a bus, a proxy, a feed): the password of its user info,
  with ``user:password`` and its Base64 form (what HTTP Basic authentication sends), and the
  values of query parameters named like a key or a token;
- next to a ``username``, a ``password`` as SMTP ``AUTH PLAIN`` and ``AUTH LOGIN`` and HTTP Basic
  send it (Base64): a server that echoes what it was sent echoes that.

`Masker` replaces them in a text in every form a server may echo them in: as given, percent
encoded or decoded, HTML or JSON escaped, in any letter case; and any password inside a URL,
known or not. The alert channels mask what they report with it (`alerts.channels.base`), and so
does the logging filter (`veille.logs`).
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, unquote_plus, urlsplit

if TYPE_CHECKING:
    from pydantic import BaseModel

MASK = "***"
MIN_LENGTH = 4
"""Shorter values are not masked: masking "1" or "abc" would shred every message."""

_URL_PASSWORD = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]+):(?P<pw>[^@/\s]+)@", re.IGNORECASE
)
_SECRET_PARAM = re.compile(
    r"(?:^|[_.-])(?:key|apikey|token|secret|sig|signature|password|passwd|pwd|auth|code"
    r"|credential)s?(?:$|[_.-])",
    re.IGNORECASE,
)
"""Query parameters whose value is a credential: ``api_key``, ``access_token``, ``sig``..."""
_TOKENISH = re.compile(r"(?=.*\d)(?=.*[A-Za-z])")


def _tokenish(part: str) -> bool:
    """Whether a path segment or query value looks like a token rather than a word of the API
    (``services``, ``hooks``, ``2016-06-01``): long, or letters and digits together."""
    return len(part) >= 16 or (len(part) >= 8 and bool(_TOKENISH.match(part)))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def url_secrets(text: str, *, secret: bool) -> set[str]:
    """What is secret in ``text`` if it is a URL: its credentials and token-named query values;
    when the whole URL is ``secret``, also its path and query and their token-like parts."""
    if "://" not in text:
        return set()
    try:
        parts = urlsplit(text.strip())
        password, username = parts.password, parts.username
    except ValueError:  # not a URL after all (a bad IPv6 host, a bad port)
        return set()
    found: set[str] = set()
    if password:
        found |= {password, unquote(password), f"{username}:{password}"}
        found.add(_b64(f"{unquote(username or '')}:{unquote(password)}"))
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if (secret and _tokenish(value)) or _SECRET_PARAM.search(name):
            found.add(value)
    if secret:
        found.add(text)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        found |= {path, parts.path, parts.query}
        found |= {p for p in parts.path.split("/") if _tokenish(unquote(p))}
    return {f for f in found if len(f) >= MIN_LENGTH and f != "/"}


KeyPath = tuple[str | int, ...]
"""Where a value is in a settings tree: ``("alerts", "channels", "team", "url")``."""


def leaves(value: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, Any]]:
    """Every value of a settings tree that is not a model, a list or a mapping (a `SecretStr`
    included), with the path of keys that leads to it."""
    from pydantic import BaseModel  # here: logging masks with this module before pydantic loads

    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from leaves(getattr(value, name), (*path, name))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from leaves(item, (*path, i))
    elif isinstance(value, dict):  # named things ({name: channel}), header values
        for key, item in value.items():
            yield from leaves(item, (*path, str(key)))
    else:
        yield path, value


def url_password(text: str) -> str | None:
    """The password in the user info of ``text`` if it is a URL that has one."""
    if "://" not in text:
        return None
    try:
        return urlsplit(text.strip()).password or None
    except ValueError:
        return None


def secrets_in(model: BaseModel) -> set[str]:
    """Every secret in a settings tree (see the module's docstring), so that logs, errors and
    outputs can mask them wherever they appear."""
    from pydantic import SecretStr

    found: set[str] = set()
    for _path, value in leaves(model):
        if isinstance(value, SecretStr):
            secret = value.get_secret_value()
            if len(secret) >= MIN_LENGTH:
                found.add(secret)
            found |= url_secrets(secret, secret=True)
        elif isinstance(value, str):
            found |= url_secrets(value, secret=False)
    found |= _logins(model)
    return found


def _logins(model: BaseModel) -> set[str]:
    """A ``username`` with its ``password``, as authentication protocols encode them."""
    from pydantic import SecretStr

    found: set[str] = set()
    for value in _models(model):
        user, password = getattr(value, "username", None), getattr(value, "password", None)
        if isinstance(user, str) and isinstance(password, SecretStr):
            secret = password.get_secret_value()
            if len(secret) >= MIN_LENGTH:
                found |= {
                    _b64(f"{user}:{secret}"),  # HTTP Basic
                    _b64(f"\0{user}\0{secret}"),  # SMTP AUTH PLAIN
                    _b64(secret),  # SMTP AUTH LOGIN
                }
    return found


def _models(value: Any) -> Iterator[BaseModel]:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        yield value
        for name in type(value).model_fields:
            yield from _models(getattr(value, name))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _models(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _models(item)


def forms(secret: str) -> set[str]:
    """The ways a server may echo ``secret``: as given, percent encoded or decoded, HTML or
    JSON escaped (slashes too, as some JSON encoders write them)."""
    variants = {
        secret,
        unquote(secret),
        unquote_plus(secret),
        quote(secret, safe=""),
        quote(secret, safe="/"),
        quote_plus(secret),
        quote(unquote(secret), safe=""),
        html.escape(secret),
        html.escape(unquote(secret)),
        json.dumps(secret)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
    }
    return {v for v in variants if len(v) >= MIN_LENGTH}


class Masker:
    """Masks a set of secrets, in every form of `forms`, and any password inside a URL."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = frozenset(s for s in secrets if len(s) >= MIN_LENGTH)
        variants = sorted({f for s in self.secrets for f in forms(s)}, key=len, reverse=True)
        # Longest first: a secret that contains another is masked whole.
        self._pattern = (
            re.compile("|".join(re.escape(v) for v in variants), re.IGNORECASE)
            if variants
            else None
        )

    def __call__(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)

    def __or__(self, other: Iterable[str]) -> Masker:
        return Masker(self.secrets | set(other))
