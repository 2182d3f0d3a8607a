"""The one record that flows through Veille: `Mention`, and how its identity is derived.

A crawler builds a `Mention` from what it saw; enrich adds an `Enrichment` (and nothing else);
index stores it; alerts count it. Every stage reads and writes this model, never a bare dict.
Times are aware datetimes in UTC. The model is frozen: a stage that adds information returns a
copy (`Mention.with_enrichment`).

Identity: `mention_id` derives the id from the canonical URL, or from the source and the native
id for network posts and forum posts, so a mention seen twice (by two feeds, or after a crash and
a replay) is written once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ingest.errors import InvalidRecord

MAX_TEXT_CHARS = 100_000

SentimentLabel = Literal["negative", "neutral", "positive"]


class SourceKind(StrEnum):
    """What kind of medium a mention comes from."""

    BLOG = "blog"
    FORUM = "forum"
    NEWS = "news"
    SOCIAL = "social"
    REVIEW = "review"
    WEB = "web"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# Aware datetimes only (a naive time is rejected), stored in UTC.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


class Source(_Model):
    """Where a mention was collected: the configured source's kind and name."""

    kind: SourceKind
    name: Annotated[str, Field(min_length=1, max_length=200)]


class Author(_Model):
    """Who wrote it, as far as the source tells."""

    name: str | None = None
    handle: str | None = None
    url: str | None = None
    followers: Annotated[int, Field(ge=0)] | None = None

    @property
    def display(self) -> str:
        return self.name or (f"@{self.handle}" if self.handle else "")


class Engagement(_Model):
    """Interaction counts, when the source gives them."""

    likes: Annotated[int, Field(ge=0)] | None = None
    shares: Annotated[int, Field(ge=0)] | None = None
    replies: Annotated[int, Field(ge=0)] | None = None
    views: Annotated[int, Field(ge=0)] | None = None

    @property
    def total(self) -> int:
        return sum(v for v in (self.likes, self.shares, self.replies) if v)


class Thread(_Model):
    """The thread a forum post or comment belongs to, and its place in it."""

    id: str
    title: str | None = None
    url: str | None = None
    position: Annotated[int, Field(ge=0)] | None = None


_Finite = Annotated[float, Field(allow_inf_nan=False)]


class Rating(_Model):
    """A review's rating as the page gives it (schema.org ``reviewRating``), on its own scale
    (``worst`` to ``best``), with what was reviewed and the page's overall rating.

    Kept on the record so that the sentiment enrich finds can be checked against what the
    reviewer said in stars.
    """

    value: _Finite
    best: _Finite = 5.0
    worst: _Finite = 1.0
    item: Annotated[str, Field(max_length=500)] | None = None
    """What was reviewed (``itemReviewed``'s name): a product, a shop, a company."""
    average: _Finite | None = None
    """The page's ``AggregateRating`` value, on the same scale, if it gives one."""
    count: Annotated[int, Field(ge=0)] | None = None
    """How many ratings the page's ``AggregateRating`` counts."""

    @model_validator(mode="after")
    def _on_scale(self) -> Self:
        if not self.worst < self.best:
            raise ValueError(f"a rating's worst ({self.worst}) must be below its best")
        for name, value in (("value", self.value), ("average", self.average)):
            if value is not None and not self.worst <= value <= self.best:
                raise ValueError(
                    f"rating {name} {value} is outside its scale {self.worst}..{self.best}"
                )
        return self

    @property
    def normalised(self) -> float:
        """The rating from 0 (the worst) to 1 (the best)."""
        return (self.value - self.worst) / (self.best - self.worst)

    @property
    def stars(self) -> float:
        """The rating out of 5, as people read ``8/10`` as 4 stars: what ``rating:`` in a query
        and the exports compare and show."""
        if self.worst >= 0:
            return round(self.value * 5 / self.best, 2)
        return round(5 * self.normalised, 2)


class Sentiment(_Model):
    """A sentiment verdict and the model that gave it."""

    label: SentimentLabel
    score: Annotated[float, Field(ge=-1.0, le=1.0)]
    confidence: Annotated[float, Field(ge=0.0, le=1.0)]
    model: str


class Entity(_Model):
    """A named entity found in the text."""

    text: str
    label: str
    kb_id: str | None = None


class Influence(_Model):
    """The author's influence at the time the mention was enriched."""

    author_key: str
    score: Annotated[float, Field(ge=0.0)]
    is_influencer: bool = False


class Enrichment(_Model):
    """What enrich adds to a mention. Enrich writes this sub-record and nothing else."""

    brands: tuple[str, ...] = ()
    lang: str = "und"
    sentiment: Sentiment | None = None
    entities: tuple[Entity, ...] = ()
    influence: Influence | None = None
    cluster: str | None = None
    enriched: UtcDatetime


class Mention(_Model):
    """One thing said about a brand somewhere on the web."""

    id: Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[0-9a-f]+$")]
    source: Source
    url: Annotated[str, Field(min_length=1, max_length=4096)]
    site: str
    title: str | None = None
    text: Annotated[str, Field(max_length=MAX_TEXT_CHARS)] = ""
    author: Author | None = None
    published: UtcDatetime | None = None
    """When the source says it was published; None when it gives no date Veille can read (a
    date is never guessed: an unknown date is not "now"). Such a mention is placed in time by
    `when`, the time it was first seen, and does not count in alert buckets."""
    fetched: UtcDatetime
    """When it was fetched; for a mention without a date, kept from its first fetch by the
    stores that can (SQLite)."""
    thread: Thread | None = None
    parent: str | None = None
    engagement: Engagement = Engagement()
    lang: str | None = None
    rating: Rating | None = None
    """A review's rating (review sites); None for everything else, and in records written
    before ratings were kept."""
    enrichment: Enrichment | None = None

    @field_validator("lang")
    @classmethod
    def _lang_code(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().lower().replace("_", "-").split("-")[0]
        return code or None

    @model_validator(mode="after")
    def _has_content(self) -> Self:
        if not self.text and not self.title:
            raise ValueError("a mention needs a text or a title")
        return self

    @property
    def heading(self) -> str | None:
        """The title a mention is matched and searched by: its own, else its thread's.

        A forum reply or a comment is part of a conversation: in a thread titled "Panne Lumen",
        "pareil chez moi depuis 3 h" is about Lumen even though it does not say so.
        """
        return self.title or (self.thread.title if self.thread else None)

    @property
    def when(self) -> datetime:
        """Where the mention sits in time: its publication, else when it was first seen."""
        return self.published or self.fetched

    @property
    def effective_lang(self) -> str:
        """The detected language, else the declared one, else ``und``."""
        if self.enrichment and self.enrichment.lang != "und":
            return self.enrichment.lang
        return self.lang or "und"

    def with_enrichment(self, enrichment: Enrichment) -> Mention:
        return self.model_copy(update={"enrichment": enrichment})

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_json(cls, payload: bytes | str) -> Mention:
        """The mention in ``payload``; `InvalidRecord`, naming the fields at fault, if the
        payload is not one."""
        try:
            return cls.model_validate_json(payload)
        except ValidationError as exc:
            raise invalid_record(exc) from exc


def placed(fields: Mapping[str, Any]) -> str:
    """`Mention.when` of a mention given as its JSON fields (`MentionStore.fields`)."""
    return str(fields.get("published") or fields["fetched"])


def invalid_record(exc: ValidationError) -> InvalidRecord:
    """An `InvalidRecord` that says which fields (the first three) failed, and why."""
    parts = [
        f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in exc.errors()[:3]
    ]
    return InvalidRecord("invalid record: " + "; ".join(parts))


# Query parameters that only track the visitor; they never change what the page says.
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "_hs", "at_", "xtor")
_TRACKING_NAMES = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "ref_src",
        "ref_url",
        "cmpid",
        "sessionid",
        "phpsessid",
        "sid",
        "jsessionid",
    }
)


def canonical_url(url: str, *, keep_fragment: bool = False) -> str:
    """A normal form of ``url``: same page, same string.

    Lowercases scheme and host, drops the default port, ``www.``-agnostic hosts stay as given,
    removes tracking and session parameters, sorts the rest, and drops the fragment unless told.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port
    netloc = host
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        netloc = f"{host}:{port}"
    path = parts.path or "/"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_NAMES
    )
    fragment = parts.fragment if keep_fragment else ""
    return urlunsplit((scheme, netloc, path, urlencode(query), fragment))


def site_of(url: str) -> str:
    """The site a URL belongs to: its host, lowercased, without ``www.``."""
    host = (urlsplit(url.strip()).hostname or "").lower().rstrip(".")
    return host.removeprefix("www.")


def mention_id(
    *, url: str | None = None, source: str | None = None, native_id: str | None = None
) -> str:
    """The stable id of a mention.

    Network posts and forum posts have a native id that their source gives (``source`` plus
    ``native_id``); everything else is identified by its canonical URL.
    """
    if native_id is not None:
        if not source:
            raise ValueError("a native id needs the source it is native to")
        key = f"native\x00{source}\x00{native_id}"
    elif url:
        key = f"url\x00{canonical_url(url)}"
    else:
        raise ValueError("a mention id needs a URL or a source and native id")
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def utcnow() -> datetime:
    return datetime.now(UTC)
