"""A deterministic corpus of mentions for cross-checking query back ends: French and English
words with accents, brand names, phrases, subdomains, authors, sources and languages."""

from __future__ import annotations

import random
from datetime import timedelta

from ingest.record import Author, Enrichment, Mention, Source, SourceKind, Thread, mention_id
from tests.support.mentions import T0

FR = (
    "société générale service client panne réseau fibre déçu génial café élève naïve hôtel "
    "été où ça très nul rapide lent remboursement colère merci problème abonnement"
).split()
EN = (
    "service customer outage network great awful support refund slow fast thanks problem "
    "subscription broken love hate"
).split()
BRANDS = [
    "acme",
    "Acme Corp",
    "ACME",
    "@acme",
    "globex",
    "Globex",
    "L'Oréal",
    "l'oreal",
    "Société Générale",
    "societe generale",
    "acme-pest",
]
SITES = [
    "example.com",
    "news.example.com",
    "acme-pest.fr",
    "blog.acme-pest.fr",
    "forum.fr",
    "lemonde.example",
    "acme.com",
]
AUTHORS = [
    ("Hélène Dupont", None),
    ("Jean-Luc Picard", "jlp"),
    (None, "jdoe"),
    ("Zoë Martin", "zoe_m"),
    ("Anonyme", None),
]
SOURCES = [
    ("test-feed-1", SourceKind.BLOG),
    ("test-feed-2", SourceKind.FORUM),
    ("alerts", SourceKind.NEWS),
    ("tweets", SourceKind.SOCIAL),
]


def corpus(n: int = 240, seed: int = 42) -> list[Mention]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        lang = rng.choice(["fr", "fr", "en", "en", "de"])
        vocab = FR if lang == "fr" else EN
        words = [rng.choice(vocab) for _ in range(rng.randint(4, 18))]
        for _ in range(rng.randint(0, 3)):
            words.insert(rng.randint(0, len(words)), rng.choice(BRANDS))
        if rng.random() < 0.2:
            words.insert(rng.randint(0, len(words)), "service client")
        title = " ".join(rng.choice(vocab + BRANDS) for _ in range(rng.randint(0, 4))) or None
        site = rng.choice(SITES)
        name, handle = rng.choice(AUTHORS)
        source, kind = rng.choice(SOURCES)
        url = f"https://{'www.' if rng.random() < 0.3 else ''}{site}/p/{i}"
        thread = None
        if title is None and i % 3 == 0:  # a reply: matched by its thread's title
            subject = " ".join(rng.choice(vocab + BRANDS) for _ in range(3))
            thread = Thread(id=f"t{i % 7}", title=subject, position=i % 5)
        out.append(
            Mention(
                id=mention_id(url=url),
                source=Source(kind=kind, name=source),
                url=url,
                site=site,
                title=title,
                text=" ".join(words) + rng.choice([".", " !", " ?", "…"]),
                author=Author(name=name, handle=handle),
                published=T0 + timedelta(minutes=7 * i),
                fetched=T0 + timedelta(days=30),
                lang=lang if rng.random() < 0.7 else None,
                thread=thread,
                enrichment=Enrichment(brands=("Any",), lang=lang, enriched=T0),
            )
        )
    return out


QUERIES = [
    "acme",
    "ACME",
    "societe",
    "Société",
    '"societe generale"',
    '"service client"',
    "acme*",
    "soci*",
    '"acme corp"',
    "acme AND panne",
    "acme OR globex",
    "acme NOT panne",
    "acme AND NOT panne",
    "NOT acme",
    "(acme OR globex) AND NOT (panne OR outage)",
    '"service client" NEAR/5 acme',
    '"service client" NEAR/5 (acme OR @acme)',
    "acme NEAR/0 corp",
    "panne NEAR/3 (reseau OR network)",
    "lang:fr",
    "lang:en acme",
    "site:acme-pest.fr",
    "acme AND NOT site:acme-pest.fr",
    "site:example.com",
    'author:"helene dupont"',
    "author:@jdoe",
    "source:forum",
    "source:test-feed-2",
    "(acme OR globex) lang:fr",
    "NOT lang:fr",
    '"l\'oréal"',
    "l'oreal",
    'hotel OR "été"',
    "cafe* AND NOT naive",
    "(acme AND lang:en) OR (societe AND lang:fr)",
    "NOT (acme OR societe)",
    "generale NEAR/2 societe",
    '"acme pest" OR site:acme.com',
    "(NOT acme) OR (globex AND panne)",
]
