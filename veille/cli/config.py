"""``veille config`` (the settings as Veille understood them) and ``veille feeds`` (the feeds it
polls, and search-feed URLs built from each brand's query)."""

from __future__ import annotations

import json

import click

from veille.cli.common import State, pass_state
from veille.logs import redact
from veille.output import table


@click.command("config")
@pass_state
def show_config(state: State) -> None:
    """Check the settings and print them as Veille understood them (secrets masked)."""
    from veille.settings import secret_values

    settings = state.settings
    data = settings.model_dump(mode="json")
    data["bus"]["url"] = settings.bus_url
    data["store"]["url"] = settings.store_url
    click.echo(redact(json.dumps(data, indent=2, ensure_ascii=False), secret_values(settings)))


@click.command()
@click.option("--brand", help="Only this brand.")
@pass_state
def feeds(state: State, brand: str | None) -> None:
    """The feeds Veille polls, and search-feed URLs built from each brand's query."""
    from crawlers.feeds.google import google_alerts_url, google_news_rss_url
    from veille.settings import secret_values

    secrets = secret_values(state.settings)
    with state.app() as app:
        rows = [
            [f.name, f.kind.value, f.interval, redact(f.url, secrets)] for f in app.feed_sources()
        ]
    click.echo(table(rows, ["feed", "kind", "every", "url"], flex=3))
    for b in state.settings.brands:
        if brand and b.name.lower() != brand.lower():
            continue
        click.echo(f"\n{b.name}")
        for lang, country in (("fr", "FR"), ("en", "US")):
            click.echo(
                f"  Google News RSS ({lang}): "
                f"{google_news_rss_url(b.tree, lang=lang, country=country)}"
            )
        click.echo(
            f"  Create a Google Alert (then 'Deliver to: RSS feed'): {google_alerts_url(b.tree)}"
        )
