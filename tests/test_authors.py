"""Authors as readers see them: what feeds and pages declare, cleaned into a display name
(e-mails, bylines, dates, roles and body text taken off), structured data preferred to a
theme's byline on article pages, and feed items without a link or guid kept once each."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawlers.extract.authors import clean_author
from crawlers.extract.forum_html import ForumPost
from crawlers.extract.found import extract, post_item
from crawlers.feeds.parse import FeedEntry, parse_feed
from crawlers.feeds.poller import content_key
from crawlers.settings import FeedSource, HttpSettings
from ingest.clock import FakeClock
from tests.support.polling import PollHarness
from veille.demo.web import Response, Routes, Web

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

# (what a feed or page declares, the display name a reader should see)
CASES = [
    # e-mail addresses
    ("Google Ads Developer Advisor (noreply@blogger.com)", "Google Ads Developer Advisor"),
    ("noreply@blogger.com (Jane Doe)", "Jane Doe"),
    ("jane.doe@example.com (Jane Doe)", "Jane Doe"),
    ("Jane Doe <jane@example.com>", "Jane Doe"),
    ("Jane Doe jane@example.com", "Jane Doe"),
    ("jane@example.com", None),  # a bare address: personal data, no name shown
    ("mailto:redaction@journal.example", None),
    # bylines, in the languages watched
    ("View all posts by Daniel Lemire", "Daniel Lemire"),
    ("Voir tous les articles de Claire Martin", "Claire Martin"),
    ("Alle Beiträge von Max Muster", "Max Muster"),
    ("by Jane Doe", "Jane Doe"),
    ("By: Jane Doe", "Jane Doe"),
    ("BY JANE DOE", "JANE DOE"),
    ("Posted by Jane Doe", "Jane Doe"),
    ("Written by Jane Doe", "Jane Doe"),
    ("par Claire Martin", "Claire Martin"),
    ("Par Claire Martin", "Claire Martin"),
    ("Écrit par Claire Martin", "Claire Martin"),
    ("Publié par Jean Dupont", "Jean Dupont"),
    ("Auteur : Claire Martin", "Claire Martin"),
    ("Geschrieben von Max Muster", "Max Muster"),
    ("Autor: Max Muster", "Max Muster"),
    ("Por Ana García", "Ana García"),
    ("Publicado por Ana García", "Ana García"),
    ("Di Marco Bianchi", "Marco Bianchi"),
    ("Scritto da Marco Bianchi", "Marco Bianchi"),
    ("Door Jan de Vries", "Jan de Vries"),
    ("Geschreven door Jan Jansen", "Jan Jansen"),
    # bylines with a date before or after the name
    ("von lupa am 26/10/13, 03:48 pm", "lupa"),
    ("Max Muster am 03.03.2011, 14:17", "Max Muster"),
    ("Posted on March 3, 2024 by Jane Doe", "Jane Doe"),
    ("Publié le 12 mars 2024 par Claire Martin", "Claire Martin"),
    ("Posted by Jane Doe on 2024-03-03", "Jane Doe"),
    ("par Claire Martin, le 12 mars 2024 à 14h17", "Claire Martin"),
    ("Jane Doe, 3 March 2024", "Jane Doe"),
    ("Jane Doe · il y a 3 heures", "Jane Doe"),
    ("Jane Doe 2 hours ago", "Jane Doe"),
    ("Max vor 2 Stunden", "Max"),
    ("Max gestern, 14:17", "Max"),
    ("Claire hier à 14:17", "Claire"),
    ("12 mars 2024 | Claire Martin", "Claire Martin"),
    # roles
    ("Claire Martin, rédactrice en chef", "Claire Martin"),
    ("Giulia Conti, caporedattrice", "Giulia Conti"),
    ("Luca Bassi, responsabile qualità", "Luca Bassi"),
    ("Tomasz Wiśniewski, rzecznik prasowy", "Tomasz Wiśniewski"),
    ("av Elin Berg", "Elin Berg"),
    ("Max Muster | Redakteur", "Max Muster"),
    ("John Doe - Staff Writer", "John Doe"),
    ("Jane Doe (Senior Editor)", "Jane Doe"),
    ("Jane Doe\nStaff Writer", "Jane Doe"),
    ("DougG Junior Member", "DougG"),
    ("Bertrand M Membre", "Bertrand M"),
    ("Member", "Member"),
    ("Redaktion", "Redaktion"),  # a team alone is what the page says
    ("La rédaction", "La rédaction"),
    # what the page says, kept
    ("Anonymous", "Anonymous"),
    ("Anonyme", "Anonyme"),
    ("Gast", "Gast"),
    ("Guest", "Guest"),
    ("lupa", "lupa"),
    ("xX_Dark_Xx", "xX_Dark_Xx"),
    ("toto42", "toto42"),
    ("Nicole du 47", "Nicole du 47"),
    ("Agent 007", "Agent 007"),
    ("@jdoe@mastodon.example", "@jdoe@mastodon.example"),
    ("marrow @lemmy.example", "marrow"),
    ("Patrick D. (non vérifié)", "Patrick D."),
    ("Sandrine (not verified)", "Sandrine"),
    ("Jens (nicht überprüft)", "Jens"),
    ("@jdoe", "jdoe"),  # as the forum's pages show it
    ("@lumo_sam Sam (Lumo Support)", "Sam (Lumo Support)"),
    ("/u/jdoe", "/u/jdoe"),
    ("Jean (jeannot)", "Jean (jeannot)"),
    ("Yahoo!", "Yahoo!"),
    ("Acme Corp.", "Acme Corp."),
    ("Mrs. Smith", "Mrs. Smith"),
    ("J. R. R. Tolkien", "J. R. R. Tolkien"),
    # surnames that start like a byline word
    ("Di Stefano", "Di Stefano"),
    ("Ursula von der Leyen", "Ursula von der Leyen"),
    ("Jean de la Fontaine", "Jean de la Fontaine"),
    ("Ludwig Mies van der Rohe", "Ludwig Mies van der Rohe"),
    ("Paris Hilton", "Paris Hilton"),
    ("Byron Katie", "Byron Katie"),
    # several authors: one display string, as written
    ("Alice Martin, Bob Durand et Claire Petit", "Alice Martin, Bob Durand et Claire Petit"),
    ("Alice Martin et Bob Durand", "Alice Martin et Bob Durand"),
    ("Jane Doe and John Roe", "Jane Doe and John Roe"),
    ("Simon & Garfunkel", "Simon & Garfunkel"),
    # whitespace and invisible characters
    ("Jane\u200b Doe", "Jane Doe"),
    ("  Jane \u00a0\t Doe\u200e ", "Jane Doe"),
    ("Jane &amp; John", "Jane & John"),
    ("Jane &amp;amp; John", "Jane & John"),
    # no name at all
    ("https://blog.example/author/jane", None),
    ("Author", None),
    ("Unknown", None),  # Blogger's placeholder for a profile without a name
    ("Posted by", None),
    ("", None),
    ("   ", None),
    ("\u200b", None),
    # body text in the author field
    (
        "Dans cet article nous allons voir comment configurer votre routeur Acme pour le "
        "télétravail.",
        None,
    ),
    ("In this post I want to talk about the new Acme phone and why it matters", None),
    ("Bonjour à tous. Je voulais savoir si quelqu'un connaissait Acme", None),
    ("Super article !", None),
    ("Merci pour ce partage.", None),
    ("x" * 200, None),
]


@pytest.mark.parametrize(("declared", "shown"), CASES, ids=[repr(c[0])[:40] for c in CASES])
def test_an_author_is_the_display_name_the_reader_sees(declared: str, shown: str | None) -> None:
    assert clean_author(declared) == shown


@pytest.mark.parametrize("declared", [c[0] for c in CASES], ids=[repr(c[0])[:40] for c in CASES])
def test_a_cleaned_name_cleans_to_itself(declared: str) -> None:
    once = clean_author(declared)
    assert clean_author(once) == once


def test_a_huge_field_is_read_quickly() -> None:
    started = time.perf_counter()
    assert clean_author("Jane Doe\n" + "a" * 2_000_000) == "Jane Doe"
    assert clean_author("x" * 2_000_000) is None
    assert clean_author("a@" * 1_000_000) is None
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("bad", [None, 42, ["Jane"], {"name": "Jane"}, "\x00\x01"])
def test_what_is_no_text_is_no_author(bad: object) -> None:
    assert clean_author(bad) is None


# -- feeds -------------------------------------------------------------------------------------

BLOGGER_ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
<title>Acme Ads Developer Blog</title>
<link rel="alternate" type="text/html" href="https://ads-dev.example/"/>
<entry><id>tag:blogger.com,1999:blog-1.post-11</id><title>Acme API v9 is out</title>
<link rel="alternate" href="https://ads-dev.example/2026/11/v9.html"/>
<published>2026-11-02T10:00:00Z</published>
<author><name>Acme Ads Developer Advisor</name><email>noreply@blogger.com</email></author>
<content type="html">&lt;p&gt;Version 9 of the Acme API is out.&lt;/p&gt;</content></entry>
<entry><id>tag:blogger.com,1999:blog-1.post-12</id><title>Two writers</title>
<link rel="alternate" href="https://ads-dev.example/2026/11/two.html"/>
<published>2026-11-03T10:00:00Z</published>
<author><name>Alice Martin</name><email>noreply@blogger.com</email></author>
<author><name>Bob Durand</name><email>noreply@blogger.com</email></author>
<content type="html">Written together.</content></entry>
</feed>"""

RSS_AUTHORS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>Blog Acme</title><link>https://blog-acme.example/</link>
<item><title>a</title><link>https://blog-acme.example/a</link>
<author>claire@blog-acme.example (Claire Martin)</author><description>Un</description></item>
<item><title>b</title><link>https://blog-acme.example/b</link>
<dc:creator>View all posts by Daniel Lemaire</dc:creator><description>Deux</description></item>
<item><title>c</title><link>https://blog-acme.example/c</link>
<author>jean@blog-acme.example</author><description>Trois</description></item>
<item><title>d</title><link>https://blog-acme.example/d</link>
<dc:creator><![CDATA[von lupa am 26/10/13, 03:48 pm]]></dc:creator><description>Vier</description>
</item>
<item><title>e</title><link>https://blog-acme.example/e</link>
<dc:creator>Aujourd'hui nous vous présentons la nouvelle gamme Acme, disponible dans tous les
magasins dès lundi.</dc:creator><description>Cinq</description></item>
</channel></rss>"""


def test_feed_authors_are_display_names() -> None:
    atom = parse_feed(BLOGGER_ATOM.encode(), "application/atom+xml", now=NOW)
    assert [e.author for e in atom.entries] == [
        "Acme Ads Developer Advisor",
        "Alice Martin, Bob Durand",
    ]
    rss = parse_feed(RSS_AUTHORS.encode(), "application/rss+xml", now=NOW)
    assert [e.author for e in rss.entries] == [
        "Claire Martin",
        "Daniel Lemaire",
        None,
        "lupa",
        None,
    ]
    assert (atom.link, rss.link) == ("https://ads-dev.example/", "https://blog-acme.example/")


def test_an_atom_entry_without_author_has_its_feeds() -> None:
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        "<author><name>Rédaction Acme</name><email>redaction@acme.example</email></author>"
        "<entry><id>urn:1</id><title>a</title><link href='https://acme.example/1'/></entry>"
        "<entry><id>urn:2</id><title>b</title><link href='https://acme.example/2'/>"
        "<author><name>par Claire Martin</name></author></entry></feed>"
    )
    parsed = parse_feed(atom.encode(), "application/atom+xml", now=NOW)
    assert [e.author for e in parsed.entries] == ["Rédaction Acme", "Claire Martin"]
    rss = (
        "<rss version='2.0'><channel><title>t</title><link>https://acme.example/</link>"
        "<managingEditor>chef@acme.example (Chef)</managingEditor>"
        "<item><title>a</title><link>https://acme.example/1</link></item></channel></rss>"
    )
    parsed = parse_feed(rss.encode(), "application/rss+xml", now=NOW)
    assert [e.author for e in parsed.entries] == [None]  # an editor is no item's author


def test_json_feed_authors_are_cleaned_and_joined() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "home_page_url": "https://json.example/",
        "items": [
            {"id": "1", "content_text": "x", "authors": [{"name": "by Jane Doe"}, {"name": "Jo"}]},
            {"id": "2", "content_text": "y", "author": {"name": "jane@json.example"}},
            {"id": "3", "content_text": "z"},
        ],
    }
    parsed = parse_feed(json.dumps(doc).encode(), "application/feed+json", now=NOW)
    assert [e.author for e in parsed.entries] == ["Jane Doe, Jo", None, None]
    # The feed's own authors stand for items that name none (not for one with an address).
    doc["authors"] = [{"name": "Fietsenmakerij Van Dalen"}]
    parsed = parse_feed(json.dumps(doc).encode(), "application/feed+json", now=NOW)
    assert [e.author for e in parsed.entries] == [
        "Jane Doe, Jo",
        None,
        "Fietsenmakerij Van Dalen",
    ]
    assert parsed.link == "https://json.example/"


# -- pages -------------------------------------------------------------------------------------


def page(head: str, body: str) -> bytes:
    return (
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>Acme</title>"
        f"<link rel='canonical' href='https://blog.example/acme'>{head}</head><body>{body}"
        "</body></html>"
    ).encode()


ARTICLE = (
    "<article><h1 class='entry-title'>La nouvelle Acme Z</h1>"
    "<div class='byline'>Écrit par <span class='author'>Paul Bylines, journaliste</span> "
    "le 3 novembre 2026</div><time datetime='2026-11-03T08:00:00+01:00'>3 nov.</time>"
    "<div class='entry-content'><p>La nouvelle Acme Z arrive en magasin. Nous l'avons essayée "
    "pendant deux semaines et voici ce que nous en pensons, du design à l'autonomie.</p>"
    "<p>Son écran est lumineux et sa batterie tient deux jours.</p></div></article>"
)


def ld(data: object) -> str:
    return f"<script type='application/ld+json'>{json.dumps(data)}</script>"


YOAST_GRAPH = ld(
    {
        "@context": "https://schema.org",
        "@graph": [
            {
                "@type": "Article",
                "@id": "https://blog.example/acme#article",
                "headline": "La nouvelle Acme Z",
                "author": {"@id": "https://blog.example/#/schema/person/4f2a"},
                "datePublished": "2026-11-03T08:00:00+01:00",
            },
            {"@type": "WebPage", "@id": "https://blog.example/acme"},
            {
                "@type": "Person",
                "@id": "https://blog.example/#/schema/person/4f2a",
                "name": "Claire Martin",
                "url": "https://blog.example/author/claire",
            },
        ],
    }
)


@pytest.mark.parametrize(
    ("head", "body", "author"),
    [
        pytest.param(YOAST_GRAPH, ARTICLE, "Claire Martin", id="json-ld @graph Person by @id"),
        pytest.param(
            ld(
                {
                    "@type": "NewsArticle",
                    "headline": "x",
                    "author": [
                        {"@type": "Person", "name": "Alice Martin"},
                        {"@type": "Person", "name": "Bob Durand"},
                    ],
                }
            ),
            ARTICLE,
            "Alice Martin, Bob Durand",
            id="json-ld list of authors",
        ),
        pytest.param(
            ld({"@type": "BlogPosting", "headline": "x", "author": "Par Claire Martin"}),
            ARTICLE,
            "Claire Martin",
            id="json-ld string with a byline word",
        ),
        pytest.param(
            ld({"@type": "BlogPosting", "headline": "x", "author": {"name": "a@b.example"}}),
            ARTICLE.replace(
                "<article>",
                "<article><span itemprop='author' itemscope itemtype='https://schema.org/Person'>"
                "<span itemprop='name'>Marie Micro</span></span>",
            ),
            "Marie Micro",
            id="json-ld gives only an address: microdata next",
        ),
        pytest.param(
            "<meta name='author' content='Meta Auteur'>",
            ARTICLE.replace(
                "<article>",
                "<article><div itemprop='author' itemscope itemtype='https://schema.org/Person'>"
                "Rédactrice : <span itemprop='name'>Marie Micro</span></div>",
            ),
            "Marie Micro",
            id="microdata before meta",
        ),
        pytest.param(
            "<meta name='author' content='Meta Auteur'>",
            ARTICLE.replace(
                "<article>", "<article><a rel='author' href='/auteur/rel'>par Régis Rel</a>"
            ),
            "Régis Rel",
            id="rel=author before meta",
        ),
        pytest.param(
            "<meta name='author' content='Meta Auteur'>"
            "<meta property='article:author' content='https://social.example/meta'>",
            ARTICLE,
            "Meta Auteur",
            id="meta before the byline",
        ),
        pytest.param("", ARTICLE, "Paul Bylines", id="the theme's byline, role and date taken off"),
        pytest.param(
            "<meta name='author' content='Dans cet article nous allons voir comment choisir "
            "votre Acme, et pourquoi la Z change tout.'>",
            ARTICLE,
            "Paul Bylines",
            id="body text in the author field is skipped",
        ),
        pytest.param(
            "",
            "<aside class='widget'><a rel='author' href='/auteur/x'>Sidebar Sam</a></aside>"
            + ARTICLE.replace("<div class='byline'>", "<div class='byline' hidden>")
            + "<ol class='comment-list'><li class='comment' id='comment-3'>"
            "<span itemprop='author' itemscope><span itemprop='name'>Commentateur</span></span>"
            "</li></ol>",
            "Paul Bylines",
            id="no sidebar or comment author for the article",
        ),
        pytest.param(
            "<meta name='author' content='Meta Auteur'>",
            "<div class='site-content has-sidebar comments-open'>"
            "<div class='elementor-widget-post-info'>"
            + ARTICLE.replace(
                "</article>",
                "<footer class='entry-footer'><a rel='author' href='/auteur/f'>Fanny Footer</a>"
                "</footer></article>",
            )
            + "</div></div><footer class='site-footer'><a rel='author' href='/a'>Site</a></footer>",
            "Fanny Footer",
            id="an article's own footer in a page builder's wrappers",
        ),
    ],
)
def test_an_article_takes_its_author_from_structured_data_first(
    head: str, body: str, author: str
) -> None:
    found = extract(page(head, body), "https://blog.example/acme", kind="article")
    assert found.items[0].author == author


WORDPRESS_COMMENTS = (
    "<div id='comments' class='comments-area'><ol class='comment-list'>"
    "<li id='comment-7' class='comment'><article class='comment-body'>"
    "<footer class='comment-meta'><div class='comment-author vcard'>"
    "<b class='fn'>Max Muster | Redakteur</b> <span class='says'>sagt:</span></div>"
    "<div class='comment-metadata'><a href='https://blog.example/acme#comment-7'>"
    "<time datetime='2026-11-04T10:00:00+01:00'>4. November 2026</time></a></div></footer>"
    "<div class='comment-content'><p>Danke für den Test!</p></div></article></li>"
    "<li id='comment-8' class='comment'><article class='comment-body'>"
    "<footer class='comment-meta'><div class='comment-author vcard'>"
    "<b class='fn'>Gast</b></div>"
    "<div class='comment-metadata'><a href='https://blog.example/acme#comment-8'>"
    "<time datetime='2026-11-04T11:00:00+01:00'>4. November 2026</time></a></div></footer>"
    "<div class='comment-content'><p>Wie teuer?</p></div></article></li>"
    "</ol></div>"
)


def test_comment_authors_are_cleaned_too() -> None:
    body = ARTICLE + WORDPRESS_COMMENTS
    found = extract(page(YOAST_GRAPH, body), "https://blog.example/acme", kind="article")
    assert [(i.kind, i.author) for i in found.items] == [
        ("article", "Claire Martin"),
        ("comment", "Max Muster"),
        ("comment", "Gast"),
    ]


def test_a_forum_post_author_is_cleaned_by_its_builder() -> None:
    post = ForumPost(
        native_id="p12",
        url="https://forum.example/t/12#p12",
        text="Mon Acme ne démarre plus.",
        author="von lupa am 26/10/13, 03:48 pm",
        position=1,
    )
    found = post_item(post, "https://forum.example/t/12", "Acme en panne", "fr")
    assert found.author == "lupa"


# -- feed items without a link or a guid --------------------------------------------------------


def rss_without_links(*items: tuple[str, str]) -> str:
    body = "".join(
        f"<item><title>{title}</title><description>{text}</description>"
        "<pubDate>Mon, 02 Nov 2026 10:00:00 +0000</pubDate></item>"
        for title, text in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Annonces</title>'
        f"<link>http://annonces.example/</link>{body}</channel></rss>"
    )


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[list[PollHarness]]:
    made: list[PollHarness] = []
    yield made
    for h in made:
        h.close()


def test_items_without_link_or_guid_are_kept_once_across_polls(
    web: Callable[[Routes], Web], harness: list[PollHarness], tmp_path: Path
) -> None:
    routes: Routes = {
        ("annonces.example", "/rss"): Response.text(
            rss_without_links(
                ("Acme rappelle la Z", "Acme rappelle 300 000 Z &amp; Z+."),
                ("Soldes Acme", "Jusqu'à -50 %"),
            ),
            "application/rss+xml",
        )
    }
    site = web(routes)
    clock = FakeClock(NOW)
    http = HttpSettings(proxy=site.proxy, host_delay=timedelta(0))
    source = FeedSource(name="annonces", url="http://annonces.example/rss")  # type: ignore[call-arg]
    h = PollHarness(tmp_path, [source], http=http, clock=clock)
    harness.append(h)
    assert [o.new for o in h.poller.poll_due()] == [2]
    first = {m.title: m for m in h.published()}
    assert first["Acme rappelle la Z"].text == "Acme rappelle 300 000 Z & Z+."
    urls = {m.url for m in first.values()}
    assert len(urls) == 2
    assert all(u.startswith("http://annonces.example/#item-") for u in urls)

    # Polled again: re-rendered (another entity for "&", CDATA, other whitespace, a no-break
    # space), in another order, with a new item: only the new one is new.
    routes[("annonces.example", "/rss")] = Response.text(
        rss_without_links(
            ("Nouveau : Acme Y", "Une Y"),
            ("Soldes  Acme", "<![CDATA[Jusqu'à\u00a0-50 %]]>"),
            ("Acme rappelle la Z", "Acme   rappelle 300 000 Z &#38; Z+.\n"),
        ),
        "application/rss+xml",
    )
    clock.advance(16 * 60)
    assert [o.new for o in h.poller.poll_due()] == [1]
    published = h.published()
    assert len(published) == 3
    assert len({m.id for m in published}) == 3
    assert {m.title for m in published} == {"Acme rappelle la Z", "Soldes Acme", "Nouveau : Acme Y"}

    # An edited text is a new mention: the feed gives nothing else to tell it is the same one.
    routes[("annonces.example", "/rss")] = Response.text(
        rss_without_links(("Acme rappelle la Z", "Acme rappelle 400 000 Z & Z+.")),
        "application/rss+xml",
    )
    clock.advance(16 * 60)
    assert [o.new for o in h.poller.poll_due()] == [1]


def test_the_content_key_ignores_what_a_reader_cannot_see() -> None:
    def key(title: str | None, text: str) -> str:
        return content_key(FeedEntry(id=None, link=None, title=title, text=text))

    base = key("Acme Z", "Une bonne affaire.\n\nÀ voir.")
    assert key("Acme Z", "Une  bonne\u00a0affaire. À\u200b voir. ") == base
    assert key("Acme Z", "Une bonne affaire.\n\nA\u0300 voir.") == base  # decomposed accent
    assert key("Acme Z", "Une bonne affaire ! À voir.") != base
    assert key("Acme Y", "Une bonne affaire.\n\nÀ voir.") != base
    with pytest.raises(ValueError, match="no title and no text"):
        key(None, " ")
