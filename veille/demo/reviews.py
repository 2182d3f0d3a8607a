"""A review site of the sample web, rendered the way the big ones render a company's page: the
newest reviews first, a few a page (``?page=2``, linked with ``rel="next"``), each in the HTML
and, for search engines, in one JSON-LD ``@graph`` with the company, its ``AggregateRating`` and
one ``Review`` per review (its own ``@id``, author, date, ``reviewRating``). Used by
``veille demo`` (`demo_review_site`) and by the review spider's tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape

from veille.demo.rendering import FR_MONTHS, Site, paged
from veille.demo.web import Response, Routes


@dataclass
class Review:
    id: str
    author: str
    when: datetime
    stars: int
    title: str
    text: str


@dataclass
class ReviewSite(Site):
    company: str = ""
    path: str = "/"
    """The company's page: ``/entreprise/lumen-telecom.fr``."""
    reviews: list[Review] = field(default_factory=list)
    per_page: int = 3

    @property
    def url(self) -> str:
        return f"http://{self.host}{self.path}"

    def newest_first(self) -> list[Review]:
        return sorted(self.reviews, key=lambda r: r.when, reverse=True)

    def fr_date(self, when: datetime) -> str:
        local = self.local(when)
        return f"{local.day} {FR_MONTHS[local.month - 1]} {local.year}"


def _graph(site: ReviewSite, reviews: list[Review]) -> str:
    company_id = f"{site.url}#organization"
    average = sum(r.stars for r in site.reviews) / max(1, len(site.reviews))
    nodes: list[dict[str, object]] = [
        {
            "@type": "Organization",
            "@id": company_id,
            "name": site.company,
            "aggregateRating": {
                "@type": "AggregateRating",
                "ratingValue": f"{average:.1f}".replace(".", ","),
                "bestRating": "5",
                "worstRating": "1",
                "reviewCount": str(len(site.reviews)),
            },
        }
    ]
    for review in reviews:
        nodes.append(
            {
                "@type": "Review",
                "@id": f"http://{site.host}/avis/{review.id}",
                "itemReviewed": {"@id": company_id},
                "author": {"@type": "Person", "name": review.author},
                "datePublished": review.when.isoformat().replace("+00:00", "Z"),
                "headline": review.title,
                "reviewBody": review.text,
                "reviewRating": {
                    "@type": "Rating",
                    "ratingValue": str(review.stars),
                    "bestRating": "5",
                    "worstRating": "1",
                },
                "inLanguage": site.lang,
            }
        )
    return json.dumps({"@context": "https://schema.org", "@graph": nodes}, ensure_ascii=False)


def review_routes(site: ReviewSite) -> Routes:
    """The company's pages of reviews on ``site``."""
    routes: Routes = {}
    for page in paged(site.newest_first(), site.per_page):
        query = f"?page={page.number + 1}" if page.number else ""
        cards = "".join(
            f'<article class="review" id="avis-{r.id}"><h3>{escape(r.title)}</h3>'
            f'<p class="meta">{"★" * r.stars}{"☆" * (5 - r.stars)} par {escape(r.author)}, '
            f"le {site.fr_date(r.when)}</p><p>{escape(r.text)}</p></article>"
            for r in page.items
        )
        nav = (
            f'<a rel="next" href="{site.path}?page={page.number + 2}">Page suivante</a>'
            if page.has_next
            else ""
        )
        head_next = (
            f'<link rel="next" href="{site.url}?page={page.number + 2}">' if page.has_next else ""
        )
        body = (
            f'<!DOCTYPE html><html lang="{site.lang}"><head><meta charset="utf-8">'
            f"<title>Avis sur {escape(site.company)} | {escape(site.title)}</title>{head_next}"
            f'<script type="application/ld+json">{_graph(site, list(page.items))}</script>'
            f"</head><body><h1>{escape(site.company)}</h1>{cards}{nav}</body></html>"
        )
        routes[(site.host, f"{site.path}{query}")] = Response.text(body)
    return routes


REVIEW_HOST = "avis-conso.example"

_DEMO_REVIEWS = [
    # (hours ago, author, stars, title, text)
    (150, "Claire M.", 4, "Installation rapide", "Box Lumen installée en 48 h, débit conforme."),
    (120, "Hugo", 2, "Service client lent", "Trois appels au service client Lumen pour un RIB."),
    (96, "Sandrine P.", 5, "Très satisfaite", "Lumen Télécom : fibre stable, prix honnête."),
    (60, "Yanis", 1, "Facture erronée", "Lumen Télécom m'a facturé deux fois le forfait,"
     " toujours pas remboursé. Honteux."),
    (30, "Émilie R.", 3, "Correct sans plus", "La box Lumen 5 marche, l'application moins."),
]  # fmt: skip


def demo_review_site(now: datetime) -> ReviewSite:
    """The demo's review site: a few French reviews of Lumen Télécom, the last days'."""
    reviews = [
        Review(f"66{n:02d}", author, now - timedelta(hours=hours), stars, title, text)
        for n, (hours, author, stars, title, text) in enumerate(_DEMO_REVIEWS)
    ]
    return ReviewSite(
        host=REVIEW_HOST,
        title="Avis Conso",
        company="Lumen Télécom",
        path="/entreprise/lumen-telecom.fr",
        reviews=reviews,
    )
