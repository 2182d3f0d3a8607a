"""Bluesky's AppView, signed in with an app password: post search and authors' profiles.

What it calls (https://docs.bsky.app/docs/api/, "HTTP Reference"), all through the account's
PDS (``service``), which serves the AppView's ``app.bsky.*`` methods to its signed-in accounts:

- ``POST /xrpc/com.atproto.server.createSession`` ``{"identifier", "password"}``: an access
  JWT (short-lived, about two hours) and a refresh JWT. Bluesky allows 30 sessions per 5
  minutes and 300 a day per account, so the session is made once and kept, in memory only:
  neither JWT is ever written to the state, a log or an error;
- ``POST /xrpc/com.atproto.server.refreshSession`` (the refresh JWT as bearer): a new pair,
  when a call answers ``ExpiredToken`` (401 or 400 ``{"error": "ExpiredToken"}``); if the
  refresh is refused too, a new session is made; then the call is made once more;
- ``GET /xrpc/app.bsky.feed.searchPosts`` (``q``, ``sort=latest``, ``since`` inclusive and
  ``until`` exclusive on the posts' ``sortAt``, ``limit`` 1 to 100, ``cursor``):
  ``{"posts": [postView...], "cursor"}``;
- ``GET /xrpc/app.bsky.actor.getProfiles`` (``actors``, 25 at most): ``{"profiles": [...]}``
  with each ``followersCount``; unknown accounts are left out.

Errors are ``{"error": "Name", "message": "..."}``; rate limits come as ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset`` (epoch seconds): at ``Remaining: 0`` no call is
made before the reset, and a 429 is `RateLimited` until it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crawlers.networks.base import AuthFailed, ConnectorError, PlatformError, RateLimit, RateLimited
from crawlers.networks.http import JsonClient, JsonReply, RateGate
from crawlers.settings import HttpSettings
from ingest.clock import Clock

MAX_SEARCH_LIMIT = 100
MAX_ACTORS = 25
_EXPIRED = "ExpiredToken"
_SERVICE = "service"
"""The one key of the rate-limit gate: the PDS answers every call on one limit."""


class AppView:
    """One account's session on its PDS, and the AppView methods the connector uses."""

    def __init__(
        self, service: str, handle: str, password: str, http: HttpSettings, clock: Clock
    ) -> None:
        self.service = service
        self.handle = handle
        self._password = password
        self.clock = clock
        self._client = JsonClient(http)
        self._client.hide(password)
        self._access: str | None = None
        self._refresh: str | None = None
        self.did: str | None = None
        self.requests = 0
        self._gate = RateGate("RateLimit-Remaining")

    def close(self) -> None:
        self._client.close()

    def _url(self, method: str) -> str:
        return f"{self.service}/xrpc/{method}"

    def _send(
        self,
        method: str,
        nsid: str,
        params: Mapping[str, str | int | list[str]] | None = None,
        *,
        bearer: str | None = None,
        body: Any = None,
    ) -> JsonReply:
        self._gate.check(_SERVICE, self.clock.now().timestamp())
        self.requests += 1
        try:
            reply = self._client.send(method, self._url(nsid), params, bearer=bearer, body=body)
        except RateLimited as exc:
            self._gate.note(_SERVICE, RateLimit(remaining=0, reset=exc.reset))
            raise
        self._gate.note(_SERVICE, reply.rate_limit)
        return reply

    @property
    def rate_limit(self) -> RateLimit | None:
        """What the service said of its rate limit last."""
        return self._gate.last

    def _take(self, reply: JsonReply) -> None:
        data = reply.data if isinstance(reply.data, dict) else {}
        access, refresh = data.get("accessJwt"), data.get("refreshJwt")
        if not isinstance(access, str) or not isinstance(refresh, str) or not access:
            raise PlatformError("the session answer holds no accessJwt and refreshJwt")
        self._client.hide(access)
        self._client.hide(refresh)
        self._access, self._refresh = access, refresh
        did = data.get("did")
        self.did = did if isinstance(did, str) else self.did

    def sign_in(self) -> None:
        """A new session (`AuthFailed` when the handle or app password is refused)."""
        self._access = self._refresh = None
        body = {"identifier": self.handle, "password": self._password}
        self._take(self._send("POST", "com.atproto.server.createSession", body=body))

    def signed_in(self) -> None:
        """Sign in, unless a session is open."""
        if self._access is None:
            self.sign_in()

    def _renew(self) -> None:
        """A new access JWT from the refresh JWT, else from a new session."""
        if self._refresh is not None:
            try:
                self._take(
                    self._send("POST", "com.atproto.server.refreshSession", bearer=self._refresh)
                )
                return
            except (AuthFailed, PlatformError) as exc:
                if exc.http_status is None or exc.http_status >= 500:
                    raise
        self.sign_in()

    def call(self, nsid: str, params: Mapping[str, str | int | list[str]]) -> Any:
        """GET ``nsid`` signed in: its JSON answer."""
        self.signed_in()
        try:
            return self._send("GET", nsid, params, bearer=self._access).data
        except ConnectorError as exc:
            if _EXPIRED not in exc.reasons:
                raise
        self._renew()
        return self._send("GET", nsid, params, bearer=self._access).data

    def search(
        self, q: str, *, since: str, until: str, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of ``searchPosts``, newest first: its posts and the next page's cursor."""
        params: dict[str, str | int | list[str]] = {
            "q": q,
            "sort": "latest",
            "since": since,
            "until": until,
            "limit": MAX_SEARCH_LIMIT,
        }
        if cursor:
            params["cursor"] = cursor
        data = self.call("app.bsky.feed.searchPosts", params)
        posts = data.get("posts") if isinstance(data, dict) else None
        if not isinstance(posts, list):
            raise PlatformError("searchPosts: the answer holds no list of posts")
        following = data.get("cursor")
        return [p for p in posts if isinstance(p, dict)], (
            following if isinstance(following, str) and following else None
        )

    def profiles(self, dids: list[str]) -> list[dict[str, Any]]:
        """The profiles of ``dids`` (at most `MAX_ACTORS`); unknown accounts are left out."""
        data = self.call("app.bsky.actor.getProfiles", {"actors": dids[:MAX_ACTORS]})
        found = data.get("profiles") if isinstance(data, dict) else None
        if not isinstance(found, list):
            raise PlatformError("getProfiles: the answer holds no list of profiles")
        return [p for p in found if isinstance(p, dict)]
