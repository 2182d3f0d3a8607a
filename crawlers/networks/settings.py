"""What ``sources.networks`` says: one entry per connector, each with its platform (``type``),
its name, how often it polls, and the platform's own options. Secrets (access tokens) are
`SecretStr`, written ``${NAME}`` in the file and read from the environment.

``ConnectorSettings`` is the type of one entry: a union discriminated by ``type``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from ingest.settings import Duration, Strict

ConnectorName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")]


class MastodonInstance(Strict):
    """One Mastodon server, and the access token of an account on it (``read:search`` scope),
    needed for ``search`` only."""

    url: str
    token: SecretStr | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, not '{value}'")
        return value.rstrip("/")


class MastodonSettings(Strict):
    """Mastodon: public hashtag timelines on each instance, and with a token, full-text search
    of statuses (``/api/v2/search``)."""

    type: Literal["mastodon"]
    name: ConnectorName
    instances: Annotated[list[MastodonInstance], Field(min_length=1)]
    """``{url, token}`` entries, or bare URLs: ``["https://mastodon.social"]``."""
    hashtags: list[Annotated[str, Field(min_length=1, max_length=100)]] = []
    """Hashtags to follow, without ``#``."""
    search: list[Annotated[str, Field(min_length=1, max_length=500)]] = []
    """Search queries (statuses), run on the instances that have a token."""
    interval: Duration = timedelta(minutes=5)
    page_size: Annotated[int, Field(ge=1, le=40)] = 40
    max_pages: Annotated[int, Field(ge=1, le=100)] = 10
    """Pages read per timeline and poll; what is left is read at the next poll, soon after."""
    backfill_pages: Annotated[int, Field(ge=1, le=100)] = 1
    """Pages read back from the newest post the first time a timeline is polled."""
    recheck_window: Duration = timedelta(hours=24)
    """Statuses younger than this are looked up again, to learn which were deleted."""
    recheck_per_poll: Annotated[int, Field(ge=0, le=300)] = 20
    """Lookups per poll at most (0: deletions are not looked for), the longest unchecked first."""
    stream: bool = False
    """Follow the hashtags through the streaming API, on the instances that have a token; the
    REST timelines fill what a stream missed (before it opened, while it was closed). The rest
    (searches, instances without a token, deletion lookups) is still read every ``interval``."""
    read_for: Duration = timedelta(seconds=10)
    """With ``stream``: how long one poll reads the streams before its statuses are published."""

    @field_validator("instances", mode="before")
    @classmethod
    def _bare_urls(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"url": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("hashtags")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        return [t.removeprefix("#") for t in tags]

    @model_validator(mode="after")
    def _something_to_read(self) -> MastodonSettings:
        if not self.hashtags and not self.search:
            raise ValueError("give hashtags to follow, or search queries (with a token)")
        if self.search and not any(i.token for i in self.instances):
            raise ValueError(
                "search needs an access token on at least one instance "
                '(instances: [{url: ..., token: "${MASTODON_TOKEN}"}])'
            )
        if self.stream and not (self.hashtags and any(i.token for i in self.instances)):
            raise ValueError(
                "stream follows hashtags on the instances that have an access token: "
                "give hashtags, and a token to at least one instance"
            )
        return self


class BlueskySearch(Strict):
    """Searches of Bluesky's AppView (``app.bsky.feed.searchPosts``), with an account."""

    queries: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=500)]], Field(min_length=1)
    ]
    """What to search (Bluesky's syntax: words, ``"phrases"``, ``from:``, ``lang:``...); a post
    found is kept when a brand's query matches it, as for the stream."""
    backfill: Duration = timedelta(days=1)
    """How far back the first search of a query reads."""
    every: Duration = timedelta(minutes=5)
    """How often the searches run (the stream is read every ``interval``)."""
    max_pages: Annotated[int, Field(ge=1, le=100)] = 10
    """Pages of 100 posts per query and round; what is left is read at the next round."""


class BlueskySettings(Strict):
    """Bluesky: every new post of the network, read from a Jetstream (the official JSON
    firehose) and kept when it matches a brand's query; with an account (a handle and an app
    password), searches of the past and the authors' followers, from the AppView."""

    type: Literal["bluesky"]
    name: ConnectorName
    jetstream: str = "wss://jetstream2.us-east.bsky.network/subscribe"
    """The Jetstream's ``/subscribe`` URL (Bluesky runs four public ones)."""
    interval: Duration = timedelta(seconds=1)
    """The pause between two reads of the stream (the connection stays open)."""
    read_for: Duration = timedelta(seconds=10)
    """How long one poll reads the stream before its posts are published and its cursor kept."""
    max_events: Annotated[int, Field(ge=1, le=1_000_000)] = 20_000
    """Events read per poll at most (a replay after a stop can be long)."""
    rewind: Duration = timedelta(seconds=5)
    """On reconnecting, the stream is asked to replay from this long before the cursor, so
    that nothing is lost at the seam; what is read twice is published once."""
    watch_deletions: Duration = timedelta(days=7)
    """Posts kept younger than this are watched: a delete event for one is reported."""
    max_watched: Annotated[int, Field(ge=0, le=100_000)] = 5000
    handle: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    """The account the AppView is read with (``veille.bsky.social``, or its DID)."""
    app_password: SecretStr | None = None
    """An app password of that account (Settings > Privacy and security > App passwords)."""
    service: str = "https://bsky.social"
    """The account's PDS, which serves the AppView's methods to its signed-in accounts."""
    search: BlueskySearch | None = None
    followers: bool = True
    """With an account: look up the followers of the posts' authors (``getProfiles``)."""
    followers_ttl: Duration = timedelta(hours=24)
    """How long an author's followers count is kept before it is looked up again."""
    max_profiles: Annotated[int, Field(ge=0, le=100_000)] = 5000
    """Authors kept in the cache at most (the oldest looked up go first)."""

    @model_validator(mode="after")
    def _account(self) -> BlueskySettings:
        if (self.handle is None) != (self.app_password is None):
            raise ValueError("give both handle and app_password, or neither")
        if self.search is not None and self.handle is None:
            raise ValueError(
                'search needs an account: handle and app_password: "${BLUESKY_APP_PASSWORD}"'
            )
        return self

    @property
    def appview(self) -> bool:
        """Whether the AppView is read (an account is configured)."""
        return self.handle is not None and self.app_password is not None

    @field_validator("service")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, not '{value}'")
        return value.rstrip("/")

    @field_validator("jetstream")
    @classmethod
    def _ws_url(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError(f"expected a ws:// or wss:// URL, not '{value}'")
        return value


ConnectorSettings = Annotated[MastodonSettings | BlueskySettings, Field(discriminator="type")]
"""One entry of ``sources.networks``."""
