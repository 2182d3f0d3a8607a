"""What ``sources.networks`` says: one entry per connector, each with its platform (``type``),
its name, how often it polls, and the platform's own options. Secrets (access tokens) are
`SecretStr`, written ``${NAME}`` in the file and read from the environment.

``ConnectorSettings`` is the type of one entry: a union discriminated by ``type``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, SecretStr, field_validator, model_validator

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


def _http_base(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"expected an http:// or https:// URL, not '{value}'")
    return value.rstrip("/")


class RedditSettings(Strict):
    """Reddit: new posts matching searches, and new posts and comments of watched subreddits.
    With an approved app (``client_id``, ``client_secret``), through the OAuth API; without,
    through the public RSS feeds."""

    type: Literal["reddit"]
    name: ConnectorName
    search: list[Annotated[str, Field(min_length=1, max_length=512)]] = []
    """Search queries (Reddit's syntax), over all of Reddit, newest first."""
    subreddits: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{2,21}$")]] = []
    """Subreddits (without ``r/``) whose every new post and comment is read."""
    comments: bool = True
    """Read the watched subreddits' new comments too."""
    client_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    """The app's id (shown under its name; not a secret)."""
    client_secret: SecretStr | None = None
    user_agent: Annotated[str, Field(min_length=10, max_length=300)] | None = None
    """What Reddit asks of every client: ``<platform>:<app id>:<version> (by /u/<user>)``;
    by default Veille's, with the connector's name."""
    interval: Duration = timedelta(minutes=5)
    page_size: Annotated[int, Field(ge=1, le=100)] = 100
    max_pages: Annotated[int, Field(ge=1, le=100)] = 10
    """Pages read per listing and poll; what is left is read at the next poll, soon after."""
    api_url: str = "https://oauth.reddit.com"
    www_url: str = "https://www.reddit.com"
    """Where the token is asked for (``/api/v1/access_token``) and the RSS feeds are read."""

    @field_validator("api_url", "www_url")
    @classmethod
    def _urls(cls, value: str) -> str:
        return _http_base(value)

    @field_validator("subreddits", mode="before")
    @classmethod
    def _bare(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [
                v.removeprefix("/").removeprefix("r/") if isinstance(v, str) else v for v in value
            ]
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RedditSettings:
        if not self.search and not self.subreddits:
            raise ValueError("give search queries, or subreddits to watch")
        if (self.client_id is None) != (self.client_secret is None):
            raise ValueError(
                "the OAuth API needs both client_id and client_secret (or neither: RSS feeds)"
            )
        return self


class HackerNewsSettings(Strict):
    """Hacker News: new stories and comments matching searches, through the public HN Search
    API (Algolia), no key."""

    type: Literal["hackernews"]
    name: ConnectorName
    search: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=512)]], Field(min_length=1)
    ]
    tags: Literal["(story,comment)", "story", "comment"] = "(story,comment)"
    interval: Duration = timedelta(minutes=5)
    page_size: Annotated[int, Field(ge=1, le=1000)] = 100
    max_pages: Annotated[int, Field(ge=1, le=100)] = 10
    """Pages read per query and poll; a busier window is split, and what is left is read at
    the next poll, soon after."""
    overlap: Duration = timedelta(minutes=5)
    """Each poll also asks again for this much before the newest hit seen, so that a hit the
    index took a while to add is not missed; what was read already is passed over."""
    api_url: str = "https://hn.algolia.com/api/v1"

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_base(value)


HttpUrl = Annotated[str, AfterValidator(_http_base)]
"""An API's base URL (another one than the platform's: a local server, a proxy)."""


class YoutubeSettings(Strict):
    """YouTube: new videos found by the Data API v3's ``search.list``, their comments
    (``commentThreads.list``) and counts (``videos.list``), within a daily quota of units;
    and the RSS feeds of watched channels, which cost no quota."""

    type: Literal["youtube"]
    name: ConnectorName
    key: SecretStr | None = None
    """An API key of a Google Cloud project with the YouTube Data API v3 enabled."""
    search: list[Annotated[str, Field(min_length=1, max_length=500)]] = []
    """Search queries (``q``), for new videos: 100 units each per page."""
    channels: list[Annotated[str, Field(pattern=r"^UC[A-Za-z0-9_-]{22}$")]] = []
    """Channel ids (``UC...``) whose RSS feed is read: no key, no quota."""
    api: HttpUrl = "https://www.googleapis.com/youtube/v3"
    feeds: HttpUrl = "https://www.youtube.com/feeds/videos.xml"
    interval: Duration = timedelta(minutes=30)
    daily_budget: Annotated[int, Field(ge=1, le=100_000_000)] = 10_000
    """Units Veille may spend per Pacific day; the project's quota is 10,000 unless raised."""
    max_pages: Annotated[int, Field(ge=1, le=20)] = 2
    """Search pages (50 videos, 101 units with their counts) per query and poll."""
    backfill: Duration = timedelta(days=1)
    """How far back the first search of a query goes."""
    comment_window: Duration = timedelta(days=3)
    """Videos younger than this have their comments read."""
    comment_videos: Annotated[int, Field(ge=0, le=500)] = 20
    """Videos whose new comments are read per poll, newest first (0: no comments)."""
    comment_pages: Annotated[int, Field(ge=1, le=20)] = 1
    """Pages of 100 comment threads read per video and poll (1 unit each)."""

    @model_validator(mode="after")
    def _something_to_read(self) -> YoutubeSettings:
        if not self.search and not self.channels:
            raise ValueError("give search queries (with an API key) or channel ids to watch")
        if self.search and self.key is None:
            raise ValueError('search needs an API key (key: "${YOUTUBE_API_KEY}")')
        return self


class XSettings(Strict):
    """X: the API v2's recent search (the last 7 days) with an app's bearer token, within a
    monthly budget of posts read (X bills each one)."""

    type: Literal["x"]
    name: ConnectorName
    token: SecretStr
    """The bearer token of an app in the X developer console."""
    search: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=512)]], Field(min_length=1)
    ]
    """Search queries in X's query language (``acme -is:retweet lang:fr``)."""
    api: HttpUrl = "https://api.x.com"
    interval: Duration = timedelta(minutes=15)
    monthly_posts: Annotated[int, Field(ge=10, le=100_000_000)] = 10_000
    """Posts Veille may read per month (UTC), deletion lookups included; it stops before."""
    max_results: Annotated[int, Field(ge=10, le=100)] = 100
    max_pages: Annotated[int, Field(ge=1, le=50)] = 5
    """Pages per query and poll; what is left is read at the next poll, soon after."""
    recheck_after: Duration = timedelta(hours=1)
    """Each post read is looked up once again this long after, to learn whether it was
    deleted (X bills a post read twice in a day once; Veille counts it twice)."""
    recheck_per_poll: Annotated[int, Field(ge=0, le=100)] = 100
    """Posts looked up per poll at most, in one request, once the searches are done
    (0: deletions are not looked for)."""


ConnectorSettings = Annotated[
    MastodonSettings
    | BlueskySettings
    | RedditSettings
    | HackerNewsSettings
    | YoutubeSettings
    | XSettings,
    Field(discriminator="type"),
]
"""One entry of ``sources.networks``."""
