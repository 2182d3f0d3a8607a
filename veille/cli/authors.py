"""``veille authors``: who writes about the brands, and who matters.

- ``veille authors top [QUERY] [--brand B] [--since 7d] ...``: the most influential authors of
  the mentions that match.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from ingest.access import read_only
from veille.cli.common import State, filter_options, pass_state
from veille.output import format_option, table

if TYPE_CHECKING:
    from ingest.store import Filters


@click.group()
def authors() -> None:
    """Authors: who writes about the brands, and who matters."""


@authors.command("top")
@filter_options()
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@format_option()
@pass_state
def authors_top(state: State, filters: Filters, limit: int, fmt: str) -> None:
    """The most influential authors of the mentions that match (e.g. a brand's), highest
    influence score first."""
    with read_only(), state.app() as app:
        ranked = app.store.top_authors(filters, limit)
        threshold = app.store.author_score_at(state.settings.enrich.influence.percentile)
    influencer = {
        r.author.key: threshold is not None and r.author.score >= threshold for r in ranked
    }
    if fmt == "json":
        for r in ranked:
            a = r.author
            row = {
                "author": a.display,
                "key": a.key,
                "score": round(a.score, 2),
                "influencer": influencer[a.key],
                "mentions": r.mentions,
                "all_mentions": a.mentions,
                "reach": a.reach,
                "engagement": a.engagement,
                "pagerank": round(a.pagerank, 4),
                "sites": list(a.sites),
                "last_seen": a.last_seen.isoformat(),
            }
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    rows = [
        [
            r.author.display,
            round(r.author.score, 2),
            "yes" if influencer[r.author.key] else "",
            r.mentions,
            r.author.reach,
            r.author.engagement,
            ", ".join(r.author.sites),
        ]
        for r in ranked
    ]
    headers = ["author", "score", "influencer", "mentions", "reach", "engagement", "sites"]
    click.echo(table(rows, headers))
