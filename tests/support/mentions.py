"""Mentions for tests: `make_mention` builds a valid one (enriched on demand), each published a
minute after the last from `T0`."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ingest.record import Author, Enrichment, Mention, Sentiment, Source, SourceKind, mention_id

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

_counter = itertools.count()

MentionFactory = Callable[..., Mention]


def make_mention(
    text: str = "Le service client d'Acme est génial",
    *,
    title: str | None = None,
    url: str | None = None,
    site: str | None = None,
    source: str = "test-feed",
    kind: SourceKind = SourceKind.BLOG,
    author: str | None = "Jeanne Dupont",
    handle: str | None = None,
    published: datetime | None = None,
    lang: str | None = None,
    brands: tuple[str, ...] | None = None,
    sentiment: str | None = None,
    **extra: Any,
) -> Mention:
    """A valid mention; with ``brands`` or ``sentiment``, an enriched one."""
    n = next(_counter)
    url = url or f"https://{site or 'blog.example.fr'}/posts/{n}"
    site = site or url.split("/")[2].removeprefix("www.")
    enrichment = None
    if brands is not None or sentiment is not None:
        enrichment = Enrichment(
            brands=brands or (),
            lang=lang or "fr",
            sentiment=Sentiment(label=sentiment, score=0.0, confidence=0.5, model="test@1")
            if sentiment
            else None,
            enriched=T0,
        )
    return Mention(
        id=mention_id(url=url),
        source=Source(kind=kind, name=source),
        url=url,
        site=site,
        title=title,
        text=text,
        author=Author(name=author, handle=handle) if author or handle else None,
        published=published or T0 + timedelta(minutes=n),
        fetched=T0 + timedelta(days=1),
        lang=lang,
        enrichment=enrichment,
        **extra,
    )
