"""``veille crawl`` and ``veille extract``: the Scrapy spiders on their schedule or once, and
what they would take from one page.

``veille crawl`` runs every configured blog, forum and review site (``sources.blogs``,
``sources.forums``, ``sources.reviews``) when it is due, until interrupted; ``veille crawl --once
NAME`` crawls one site now (``--once all``: every site) and prints how it went. ``veille extract
PATH_OR_URL`` prints, one JSON object per line, the mentions the crawler would publish from that
page, with their ``kind`` (article, comment, post, review), ``parent``, ``thread`` and ``position``.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from veille.cli.common import State, pass_state
from veille.output import format_option, table
from veille.workers import stop_on_signals

if TYPE_CHECKING:
    from crawlers.settings import Site

_FAILED = ("unreachable", "failed", "bus_unavailable")


@click.command()
@click.option(
    "--once",
    "once",
    multiple=True,
    metavar="NAME",
    help="Crawl this blog, forum or review site now, then exit (repeatable; 'all' for every site).",
)
@pass_state
def crawl(state: State, once: tuple[str, ...]) -> None:
    """Crawl the configured blogs, forums and review sites: each on its schedule, or --once
    now."""
    with state.app() as app:
        runner = app.crawl_runner()
        if not runner.sites:
            click.echo(
                "error: no blogs, forums or review sites to crawl; add some under "
                "sources.blogs, sources.forums or sources.reviews in the settings",
                err=True,
            )
            sys.exit(2)
        if not once:
            with stop_on_signals() as stop:
                runner.run(stop)
            return
        try:
            sites = (
                runner.sites
                if "all" in once
                else [runner.site(name) for name in dict.fromkeys(once)]
            )
        except KeyError as exc:
            click.echo(f"error: {exc.args[0]}", err=True)
            sys.exit(2)
        with stop_on_signals() as stop:
            outcomes = runner.crawl(sites, stop)
        rows = [
            [o.site, o.status, o.pages, o.new, o.errors, o.refused, f"{o.seconds:.1f}s", o.note]
            for o in outcomes
        ]
        headers = ["site", "status", "pages", "new", "errors", "refused", "took", "note"]
        click.echo(table(rows, headers))
        if any(o.status in _FAILED for o in outcomes):
            sys.exit(1)


def _configured(state: State, name: str | None) -> Site | None:
    if not name:
        return None
    for site in state.settings.sources.sites:
        if site.name == name:
            return site
    raise click.BadParameter(
        f"no blog or forum named '{name}' in the settings", param_hint="--site"
    )


def _read(state: State, target: str) -> tuple[bytes, str, str | None]:
    """The page's bytes, its URL and its content type, from a file or from the web."""
    if not target.startswith(("http://", "https://")):
        path = Path(target)
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise click.BadParameter(f"cannot read {target}: {exc.strerror}") from None
        return body, path.resolve().as_uri(), None
    from crawlers.fetch import Fetcher
    from crawlers.robots import RobotsCache

    http = state.settings.sources.http
    fetcher = Fetcher(http)
    try:
        robots = RobotsCache(
            fetcher, ttl_seconds=http.robots_cache.total_seconds(), user_agent=http.user_agent
        )
        decision = robots.decide(target)
        if decision.unavailable:
            click.echo(f"error: cannot fetch {target}: {decision.unavailable}", err=True)
            sys.exit(1)
        if not decision.allowed:
            click.echo(f"error: robots.txt does not allow Veille to fetch {target}", err=True)
            sys.exit(1)
        result = fetcher.get(
            target, accept="text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.5"
        )
    finally:
        fetcher.close()
    if not result.ok:
        click.echo(f"error: could not fetch {target}: {result.error}", err=True)
        sys.exit(1)
    return result.body, result.final_url or target, result.content_type


@click.command()
@click.argument("target", metavar="PATH_OR_URL")
@click.option(
    "--kind",
    type=click.Choice(["article", "forum", "review", "auto"]),
    default="auto",
    show_default=True,
    help="What the page is; auto tells a thread from an article by its schema.org types, then "
    "by where its repeated posts sit (a review site's --site reads reviews).",
)
@click.option(
    "--engine",
    type=click.Choice(["phpbb", "vbulletin", "xenforo", "discourse", "generic"]),
    help="The forum's engine (default: detected).",
)
@click.option("--site", "site_name", metavar="NAME", help="Use this configured site's settings.")
@click.option("--url", "page_url", metavar="URL", help="The address of a saved page.")
@click.option(
    "--tz",
    metavar="ZONE",
    help="Time zone of dates without one (default: the --site's, else Europe/Paris, as sites).",
)
@format_option(choices=("json", "table"))
@pass_state
def extract(
    state: State,
    target: str,
    kind: str,
    engine: str | None,
    site_name: str | None,
    page_url: str | None,
    tz: str | None,
    fmt: str,
) -> None:
    """Print what the crawler would take from one page (an article, a forum thread)."""
    from crawlers.extract.found import extract as extract_page
    from crawlers.extract.reviews import MAX_REVIEWS
    from crawlers.items import identity, to_mention
    from crawlers.settings import DEFAULT_TIMEZONE, BlogSite, ForumSite, ReviewSite
    from ingest.record import SourceKind

    site = _configured(state, site_name)
    if isinstance(site, ReviewSite) and kind == "auto":
        kind = "review"
    body, url, content_type = _read(state, target)
    forum = site if isinstance(site, ForumSite) else None
    blog = site if isinstance(site, BlogSite) else None
    try:
        result = extract_page(
            body,
            page_url or url,
            content_type=content_type,
            kind=kind,  # type: ignore[arg-type]
            engine=engine or (forum.engine if forum else None),
            markup=forum.markup if forum else None,
            comments=blog.comments if blog else None,
            tz=tz or (site.timezone if site else DEFAULT_TIMEZONE),
            lang=site.lang if site else None,
            max_reviews=site.max_reviews if isinstance(site, ReviewSite) else MAX_REVIEWS,
        )
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # a page that meets a bug: say so, in one line
        click.echo(f"error: could not read {target}: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    source_kind = {"forum": SourceKind.FORUM, "review": SourceKind.REVIEW}.get(
        result.kind, SourceKind.BLOG
    )
    fetched = datetime.now(UTC)
    rows = []
    for item in result.items:
        try:
            mention = to_mention(
                item,
                source=site.name if site else "extract",
                kind=source_kind,
                fetched=fetched,
                lang=site.lang if site else None,
            )
        except ValueError as exc:
            click.echo(f"warning: skipped {item.url}: {str(exc).splitlines()[0]}", err=True)
            continue
        record = mention.model_dump(mode="json", exclude_none=True)
        record.update(
            kind=item.kind,
            parent=identity(item.parent_url) if item.parent_url else None,
            thread=record.get("thread"),
            position=item.position,
        )
        if fmt == "json":
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            author = mention.author.display if mention.author else ""
            text = (
                f"[{mention.rating.stars:g}/5] {mention.text}" if mention.rating else mention.text
            )
            published = mention.published or "unknown"
            rows.append([item.kind, item.position, published, author, text])
    if fmt != "json":
        click.echo(table(rows, ["kind", "#", "published", "author", "text"], width=120))
    engine_note = f" ({result.engine})" if result.engine else ""
    click.echo(
        f"{len(result.items)} items from a {result.kind} page{engine_note}"
        + (f"; {result.note}" if result.note else ""),
        err=True,
    )
    if not any(item.text.strip() for item in result.items):
        from crawlers.extract.page import parser_stopped

        nothing = (
            "the page has no schema.org review (JSON-LD, microdata or RDFa)"
            if result.kind == "review"
            else "the page has no text Veille could find"
        )
        why = parser_stopped(body) or nothing
        click.echo(f"error: nothing could be read from {target}: {why}", err=True)
        sys.exit(1)
