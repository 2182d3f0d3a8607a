"""What the demo shows of enrichment: influencers, and near-duplicates counted once.

The sample web's sites do not publish follower counts, so the demo configures each news site's
and blog's audience (`DEMO_AUDIENCES`), as an agency would from the sites' media kits: an
article's author reaches the site's readers. Forum posters reach nobody by that measure; what
lifts them is activity and the answers they get (PageRank on the forum's threads).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from ingest.record import Mention
from ingest.store import Filters, Store
from veille.output import table

Echo = Callable[[str], None]

DEMO_AUDIENCES = {
    "actu-eco.example": 1_200_000,
    "lesnouvelles.example": 800_000,
    "journal-tech.example": 450_000,
    "techdaily.example": 150_000,
    "blog.cyclurbain.example": 12_000,
}
"""The demo's ``enrich.influence.audiences``."""


def show_influence_and_duplicates(
    store: Store, brands: Sequence[str], percentile: float, echo: Echo
) -> None:
    echo(
        "\n6. Who matters (veille authors top): score from reach, engagement, activity and"
        " PageRank on replies"
    )
    threshold = store.author_score_at(percentile)
    rows = [
        [
            r.author.display,
            r.author.sites[0] if r.author.sites else "",
            f"{r.author.score:.2f}",
            "yes" if threshold is not None and r.author.score >= threshold else "",
            r.author.mentions,
            r.author.reach,
        ]
        for r in store.top_authors(Filters(), 8)
    ]
    echo(table(rows, ["author", "site", "score", "influencer", "mentions", "reach"]))

    everything = Filters()
    echo(
        f"\n7. Near-duplicates: {store.count(everything)} mentions,"
        f" {store.count(everything, distinct='cluster')} when each set of copies counts once"
    )
    rows = [
        [b, store.count(Filters(brand=b)), store.count(Filters(brand=b), distinct="cluster")]
        for b in brands
    ]
    echo(table(rows, ["brand", "mentions", "counted once"]))
    clusters: dict[str, list[Mention]] = defaultdict(list)
    for mention in store.search(everything, size=1000).hits:
        if mention.enrichment and mention.enrichment.cluster:
            clusters[mention.enrichment.cluster].append(mention)
    for members in clusters.values():
        if len(members) > 1:
            sites = ", ".join(sorted(m.site for m in members))
            echo(
                f'   "{members[0].title or members[0].text[:70]}": {len(members)} copies ({sites})'
            )
