"""Review sites: schema.org reviews read from pages written here in the shapes review sites and
shops use (a JSON-LD ``@graph`` of a company's reviews, a ``Product`` with its ``review`` list,
microdata, RDFa Lite), each review one mention with its rating on its scale; hostile markup
counted and skipped while the rest of the page is read; and the review spider against the demo's
review site: every review once, a second crawl finds nothing, a new review is found alone and
keeps the others' ids although it pushes them down the pages."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from parsel import Selector

from crawlers.extract.found import extract
from crawlers.extract.page import html_response
from crawlers.extract.reviews import MAX_NODES, extract_reviews
from crawlers.items import to_mention
from crawlers.settings import ReviewSite, SourcesSettings
from ingest.record import Mention, Rating, SourceKind
from tests.support.crawling import Harness
from veille.demo.reviews import Review, demo_review_site, review_routes
from veille.demo.web import Response, Routes, Web

PAGES = Path(__file__).parent / "pages" / "reviews"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def read(name: str, url: str, lang: str) -> list[Mention]:
    result = extract(
        (PAGES / name).read_bytes(), url, kind="review", tz="Europe/Paris", now=NOW, lang=lang
    )
    return [
        to_mention(item, source="reviews", kind=SourceKind.REVIEW, fetched=NOW)
        for item in result.items
    ]


def test_a_french_review_site_graph_gives_each_review_with_its_rating_and_the_company() -> None:
    mentions = read(
        "trustlike-company-fr.html", "https://avis.example/entreprise/x?utm_source=a", "fr"
    )

    assert [m.title for m in mentions] == [
        "Facture doublée sans explication",
        "Installation rapide",
        "Moyen",
    ]
    first = mentions[0]
    assert first.source.kind is SourceKind.REVIEW
    assert first.text.startswith("Ma facture a doublé")
    assert first.author is not None
    assert first.author.name == "Camille R."
    assert first.author.url == "https://avis.example/utilisateurs/88121"
    assert first.published == datetime(2026, 11, 28, 9, 14, 2, tzinfo=UTC)
    assert first.lang == "fr"
    # "2,4" on a French page is 2.4; the company is found through the graph's @id.
    assert first.rating == Rating(
        value=1, best=5, worst=1, item="Lumen Énergie", average=2.4, count=1387
    )
    assert first.rating.normalised == 0.0
    assert mentions[1].rating is not None
    assert mentions[1].rating.normalised == 1.0
    assert mentions[2].text == "Prix corrects mais l'appli plante & se déconnecte souvent."
    assert len({m.id for m in mentions}) == 3


def test_a_shop_product_gives_its_reviews_and_skips_what_is_broken() -> None:
    """A Product with a ``review`` list on a 0..10 scale; one rating is a word, one is past the
    scale, one JSON-LD block is not JSON: the reviews stay, the bad ratings go, all counted."""
    result = extract(
        (PAGES / "shop-product-en.html").read_bytes(),
        "https://shop.example/p/atp-3",
        kind="review",
        tz="Europe/Paris",
        now=NOW,
    )
    mentions = [
        to_mention(i, source="shop", kind=SourceKind.REVIEW, fetched=NOW) for i in result.items
    ]

    assert [m.author.name if m.author else None for m in mentions] == [
        "Pat Kim",
        "Sam O.",
        "Lee",
        "Bot",
    ]
    pat, sam, lee, bot = mentions
    assert pat.rating is not None
    assert (pat.rating.value, pat.rating.best, pat.rating.worst) == (8, 10, 0)
    assert pat.rating.normalised == 0.8
    assert pat.rating.stars == 4
    assert pat.rating.item == "Acme Trap Pro 3"
    assert (pat.rating.average, pat.rating.count) == (7.5, 212)
    assert sam.text == "The spring snapped after a week.\n\nRefund took a month."
    assert sam.rating is not None
    assert sam.rating.stars == 1
    assert lee.rating is None
    assert bot.rating is None
    # A date without a time is midnight where the site is.
    assert lee.published == datetime(2026, 10, 19, 22, 0, tzinfo=UTC)
    assert result.note is not None
    assert "1 json_ld_malformed" in result.note
    assert "2 ratings_invalid" in result.note


def test_microdata_with_french_dates_and_a_decimal_comma() -> None:
    mentions = read("shop-microdata-fr.html", "https://bricoshop.example/piege-classic", "fr")

    assert [(m.title, m.author.name if m.author else None) for m in mentions] == [
        ("Efficace", "Martine D."),
        ("Déçu", "Karim"),
    ]
    martine, karim = mentions
    assert martine.published == datetime(2026, 11, 2, 23, 0, tzinfo=UTC)  # "le 3 novembre 2026"
    assert karim.published == datetime(2026, 11, 14, 23, 0, tzinfo=UTC)  # <time datetime>
    assert martine.rating == Rating(
        value=4, best=5, worst=1, item="Piège Acme Classic", average=3.5, count=42
    )
    # No bestRating or worstRating: schema.org's 1..5.
    assert karim.rating is not None
    assert (karim.rating.value, karim.rating.best) == (1, 5)
    assert karim.text.startswith("Le ressort est trop dur")


def test_rdfa_lite_on_a_blog_review() -> None:
    (mention,) = read("blog-rdfa-en.html", "https://blog.example/acme-trap-review", "en")

    assert mention.title == "Acme Mouse Trap: a month later"
    assert mention.text == "Solid build, cheap, and the bait cup is easy to clean."
    assert mention.author is not None
    assert mention.author.name == "Dana West"
    assert mention.rating is not None
    assert (mention.rating.value, mention.rating.item) == (4, "Acme Mouse Trap")


def test_ids_do_not_change_with_tracking_parameters_or_a_second_reading() -> None:
    one = read("shop-product-en.html", "https://shop.example/p/atp-3?utm_source=x", "en")
    two = read("shop-product-en.html", "https://shop.example/p/atp-3", "en")
    assert [m.id for m in one] == [m.id for m in two]
    assert len({m.id for m in one}) == 4


def page_of(reviews: list[dict[str, object]], extra: str = "") -> Selector:
    data = {"@context": "https://schema.org", "@type": "Product", "name": "Box", "review": reviews}
    html = (
        f'<html lang="fr"><head><script type="application/ld+json">{json.dumps(data)}</script>'
        f"{extra}</head><body></body></html>"
    )
    return html_response(html.encode(), "https://shop.example/box").selector


def test_ten_thousand_reviews_are_bounded_and_counted() -> None:
    reviews: list[dict[str, object]] = [
        {"@type": "Review", "author": f"a{i}", "reviewBody": f"avis {i}", "reviewRating": i % 5 + 1}
        for i in range(10_000)
    ]
    page = extract_reviews(page_of(reviews), "https://shop.example/box", limit=500, now=NOW)

    assert len(page.reviews) == 500
    assert page.problems["reviews_over_limit"] == 9_500
    assert page.reviews[0].rating is not None
    assert page.reviews[0].rating.value == 1


def test_hostile_markup_is_counted_and_the_rest_is_read() -> None:
    reviews: list[dict[str, object]] = [
        {"@type": "Review", "reviewBody": "note infinie", "reviewRating": {"ratingValue": "1e999"}},
        {"@type": "Review", "reviewBody": "échelle à l'envers",
         "reviewRating": {"ratingValue": 3, "bestRating": 1, "worstRating": 5}},
        {"@type": "Review", "reviewBody": "note vide", "reviewRating": {"ratingValue": None}},
        {"@type": "Review", "reviewRating": {"ratingValue": 2}},
        {"@type": "Review", "reviewBody": "bon", "reviewRating": {"ratingValue": "4,5"}},
        {"@type": "Review", "reviewBody": "bon", "reviewRating": {"ratingValue": "4,5"}},
    ]  # fmt: skip
    deep = "[" * 100_000 + "]" * 100_000
    extra = f'<script type="application/ld+json">{deep}</script>'
    page = extract_reviews(page_of(reviews, extra), "https://shop.example/box", now=NOW)

    assert [r.text for r in page.reviews] == [
        "note infinie",
        "échelle à l'envers",
        "note vide",
        "bon",
    ]
    assert [r.rating.value if r.rating else None for r in page.reviews] == [None, None, None, 4.5]
    assert page.problems == {
        "json_ld_malformed": 1,
        "ratings_invalid": 3,
        "reviews_empty": 1,
        "reviews_repeated": 1,
    }
    assert any("not a number" in e for e in page.examples)


def test_the_walk_is_bounded_on_a_page_of_many_nodes() -> None:
    many = [{"@type": "Thing", "name": str(i)} for i in range(MAX_NODES)]
    html = f'<script type="application/ld+json">{json.dumps(many)}</script>'
    html += '<script type="application/ld+json">{"@type": "Review", "reviewBody": "x"}</script>'
    page = extract_reviews(
        html_response(html.encode(), "https://x.example/").selector, "https://x.example/"
    )
    assert page.problems["markup_too_large"] == 1


def test_review_sites_are_configured_under_sources_reviews() -> None:
    settings = SourcesSettings.model_validate(
        {"reviews": [{"name": "avis", "start_urls": ["https://avis.example/entreprise/acme"]}]}
    )
    assert [s.name for s in settings.sites] == ["avis"]
    assert settings.reviews[0].max_reviews == 500
    with pytest.raises(ValueError, match="max_reviews"):
        SourcesSettings.model_validate(
            {"reviews": [{"name": "a", "start_urls": ["https://a.example/"], "max_reviews": 0}]}
        )


# -- the spider ----------------------------------------------------------------------------------


def test_every_review_once_then_nothing_then_only_the_new_one(
    tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    site = demo_review_site(now)
    server = web(review_routes(site))
    harness = Harness(tmp_path, server)
    config = ReviewSite(name="avis", start_urls=[site.url], lang="fr")

    first = harness.crawl(config)

    assert harness.outcomes[0].status == "ok", harness.outcomes[0]
    assert harness.outcomes[0].pages == 2  # five reviews, three a page
    assert sorted(m.author.name for m in first if m.author) == sorted(
        r.author for r in site.reviews
    )
    by_author = {m.author.name: m for m in first if m.author}
    for review in site.reviews:
        mention = by_author[review.author]
        assert mention.source.kind is SourceKind.REVIEW
        assert mention.text == review.text
        assert mention.title == review.title
        assert mention.published == review.when
        assert mention.rating is not None
        assert mention.rating.value == review.stars
        assert mention.rating.item == "Lumen Télécom"
        assert mention.thread is not None
        assert mention.thread.title == "Lumen Télécom"
    assert len({m.id for m in first}) == 5

    assert harness.crawl(config) == []
    # The list was read to its end once: a first page with nothing new ends the walk.
    before = len(server.requests)
    harness.crawl(config)
    assert not any("page=2" in path for _, path in server.requests[before:])

    site.reviews.append(
        Review("7700", "Paul", now + timedelta(minutes=1), 1, "Coupure", "Plus d'internet.")
    )
    server.routes.clear()
    server.routes.update(review_routes(site))
    added = harness.crawl(config)
    assert [(m.author.name if m.author else None, m.text) for m in added] == [
        ("Paul", "Plus d'internet.")
    ]
    # The oldest review moved to page 2: same id, so not published again.
    assert harness.crawl(config) == []


def test_a_shop_listing_leads_to_its_product_pages_and_a_hostile_one_costs_only_itself(
    tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    """A category page links to product pages (``review_pattern``): one with 10,000 reviews
    (``max_reviews`` read, the rest counted), one whose JSON-LD is broken but whose microdata is
    not, one that answers 500. The crawl goes on past each, and says what it skipped."""
    host = "bricoshop.example"
    many: list[dict[str, object]] = [
        {"@type": "Review", "author": f"client {i}", "datePublished": "2026-11-01",
         "reviewBody": f"avis numéro {i}", "reviewRating": {"ratingValue": i % 5 + 1}}
        for i in range(10_000)
    ]  # fmt: skip
    big = {"@context": "https://schema.org", "@type": "Product", "name": "Piège XL", "review": many}
    routes: Routes = {
        (host, "/c/pieges"): Response.text(
            '<a href="/p/xl">XL</a> <a href="/p/classic">Classic</a> <a href="/p/broken">B</a>'
            ' <a href="/compte">Mon compte</a>'
        ),
        (host, "/p/xl"): Response.text(
            f'<script type="application/ld+json">{json.dumps(big)}</script>'
        ),
        (host, "/p/classic"): Response.text(
            '<script type="application/ld+json">{"@type": "Product",,}</script>'
            + (PAGES / "shop-microdata-fr.html").read_text()
        ),
        (host, "/p/broken"): Response.text("oops", status=500),
    }
    server = web(routes)
    harness = Harness(tmp_path, server)
    config = ReviewSite(
        name="bricoshop",
        start_urls=[f"http://{host}/c/pieges"],
        review_pattern=r"/p/[a-z]+$",
        max_reviews=50,
        lang="fr",
    )

    found = harness.crawl(config)

    outcome = harness.outcomes[0]
    assert outcome.stats is not None
    assert len(found) == 52
    assert {m.rating.item for m in found if m.rating} == {"Piège XL", "Piège Acme Classic"}
    assert outcome.stats["veille/reviews/reviews_over_limit"] == 9_950
    assert outcome.stats["veille/reviews/json_ld_malformed"] == 1
    assert outcome.errors == 1  # the page that answered 500
    assert not any(path == "/compte" for _, path in server.requests)
    # Each product page is its own list: the same author and date on two products are two
    # reviews.
    assert len({m.id for m in found}) == 52
