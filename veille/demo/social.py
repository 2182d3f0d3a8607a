"""The demo's social networks: a local Mastodon instance and a local Bluesky Jetstream, served
beside the sample web, and what their users post, which is where Lumen's bad buzz starts.

The outage begins `BURST_MINUTES` before the demo's "now": within seconds, Mastodon and Bluesky
users say so (angry, in French, with hashtags), and the forum only picks it up `FORUM_LAG`
minutes later, the news later still. The Mastodon statuses wait on the instance's
``#LumenTelecom`` and ``#Velora`` timelines; the Bluesky posts, with a few that name no brand,
go out on the Jetstream while its connector listens (`publish_bluesky`), as the firehose sends
every post of the network and the connector keeps those a brand's query matches.

Both servers are those the connectors' tests use (`veille.demo.mastodon`,
`veille.demo.jetstream`), which hold a client to the platforms' documented contracts. They are
reached through the sample web's proxy under public-looking names (`MASTODON_HOST`,
`JETSTREAM_HOST`), so mentions carry real-looking URLs and nothing leaves the machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from veille.demo.content import BURST_MINUTES
from veille.demo.jetstream import FakeJetstream
from veille.demo.mastodon import FakeMastodon

MASTODON_HOST = "mastodon.example"
JETSTREAM_HOST = "jetstream.example"
HASHTAGS = ["LumenTelecom", "Velora"]

_DAY = 24 * 3600


@dataclass(frozen=True)
class SocialPost:
    """One post: when (seconds after the outage began; negative: before it), by whom (handle;
    display name, followers and engagement on Mastodon, as the Jetstream carries none), what,
    and the post it answers (its index in the list)."""

    after: int
    author: str
    text: str
    name: str = ""
    followers: int = 0
    counts: tuple[int, int, int] = (0, 0, 0)
    """Favourites, boosts, replies (Mastodon)."""
    reply_to: int | None = None
    lang: str = "fr"

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(re.findall(r"#(\w+)", self.text))


def _toot(
    after: int,
    author: str,
    name: str,
    followers: int,
    counts: tuple[int, int, int],
    text: str,
    reply_to: int | None = None,
) -> SocialPost:
    return SocialPost(after, author, text, name, followers, counts, reply_to)


TOOTS = [
    _toot(
        -3 * _DAY,
        "camille_velo",
        "Camille 🚲",
        148,
        (9, 2, 1),
        "Premier vélotaf de l'hiver avec mon Velora City : 12 km sous la pluie, batterie à "
        "60 %, un régal. #Velora #velotaf",
    ),
    _toot(
        0,
        "manon_t",
        "Manon T.",
        312,
        (4, 6, 3),
        "Box Lumen en panne à l'instant, plus d'internet ni de télé. Aucune info, c'est "
        "lamentable. #LumenTelecom",
    ),
    _toot(
        50,
        "karim_dev",
        "Karim B.",
        1840,
        (12, 9, 5),
        "Panne Lumen à Lyon aussi. En plein télétravail, visio coupée devant un client. "
        "Inadmissible. #LumenTelecom #panne",
    ),
    _toot(
        100,
        "lucie_b",
        "Lucie B.",
        96,
        (2, 1, 0),
        "Pareil à Nantes, fibre Lumen coupée, la hotline sonne dans le vide. Scandaleux. "
        "#LumenTelecom",
        reply_to=1,
    ),
    _toot(
        150,
        "jp_martin",
        "Jean-Pierre Martin",
        2210,
        (31, 14, 8),
        "Troisième panne Lumen en un mois. Je résilie dès que ça revient, le service client "
        "est nul. #LumenTelecom",
    ),
    _toot(
        40 * 60,
        "asso_numerique",
        "Numérique pour tous 44",
        5300,
        (58, 41, 17),
        "Panne Lumen : nos ateliers de ce soir sont annulés, les abonnés du quartier n'ont "
        "plus de connexion depuis 40 minutes. Lumen, quand est-ce que ça revient ? "
        "#LumenTelecom",
    ),
]
"""The statuses on the local Mastodon, oldest first; their hashtags are those in their text."""

BLUESKY_POSTS = [
    SocialPost(
        -3 * 3600,
        "theo-rides.bsky.social",
        "Mon Velora Trail est génial : 80 km de chemins aujourd'hui, super confortable.",
    ),
    SocialPost(
        20,
        "sophie-lrx.bsky.social",
        "Panne Lumen ici aussi, la box est morte, c'est vraiment nul 😤",
    ),
    SocialPost(
        40,
        "marchedenoel-lille.bsky.social",
        "Le marché de Noël ouvre ses portes vendredi, venez nombreux !",
    ),
    SocialPost(
        70,
        "thomas-rdx.bsky.social",
        "Le réseau Lumen est tombé à Bordeaux aussi. Service client injoignable, honteux.",
        reply_to=1,
    ),
    SocialPost(
        120,
        "nadia-k.bsky.social",
        "Lumen Telecom en panne géante ? Plus de fibre, plus de mobile. Catastrophe.",
    ),
    SocialPost(
        300,
        "trail-gear.bsky.social",
        "Frontale testée ce week-end : 1200 lumens, 6 h d'autonomie, parfaite pour le trail.",
    ),
    SocialPost(
        20 * 60,
        "ben-codes.bsky.social",
        "Lumen fibre outage in Paris too, support unreachable. Terrible service, awful.",
        lang="en",
    ),
]
"""The posts sent on the local Jetstream, oldest first: those that name no brand (a Christmas
market, a torch's lumens) are read and passed over, as the firehose's other posts would be."""


def outage_start(now: datetime) -> datetime:
    return now - timedelta(minutes=BURST_MINUTES)


class DemoMastodon(FakeMastodon):
    """The local Mastodon, answering as ``http://mastodon.example`` through the sample web's
    proxy: its statuses' and accounts' URLs carry that name."""

    @property
    def url(self) -> str:
        return f"http://{MASTODON_HOST}"


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def mastodon(now: datetime) -> DemoMastodon:
    """The local Mastodon, not started, with `TOOTS` on it, dated relative to ``now``."""
    server = DemoMastodon(now=lambda: datetime.now(UTC))
    start = outage_start(now)
    published: list[str] = []
    for toot in TOOTS:
        reply_to = published[toot.reply_to] if toot.reply_to is not None else None
        status = server.post(
            toot.text,
            tags=toot.tags,
            acct=toot.author,
            lang=toot.lang,
            reply_to=reply_to,
            counts=toot.counts,
            followers=toot.followers,
        )
        # The server stamps a status with its clock; the demo's happened earlier.
        status["created_at"] = _stamp(start + timedelta(seconds=toot.after))
        status["account"]["display_name"] = toot.name
        published.append(status["id"])
    return server


def _did(handle: str) -> str:
    return "did:plc:" + handle.split(".", maxsplit=1)[0].replace("-", "")


def publish_bluesky(jetstream: FakeJetstream, now: datetime) -> int:
    """Send `BLUESKY_POSTS` on ``jetstream``, each author's handle first (the ``identity``
    event that tells a DID's handle); how many posts were sent."""
    start = outage_start(now)
    for handle in dict.fromkeys(p.author for p in BLUESKY_POSTS):
        jetstream.identity(_did(handle), handle)
    uris: list[str] = []
    for post in BLUESKY_POSTS:
        parent = uris[post.reply_to] if post.reply_to is not None else None
        uris.append(
            jetstream.post(
                post.text,
                did=_did(post.author),
                langs=[post.lang],
                created=_stamp(start + timedelta(seconds=post.after)),
                reply=(parent, parent) if parent else None,
            )
        )
    return len(uris)


def tunnels(jetstream: FakeJetstream) -> dict[str, tuple[str, int]]:
    """The sample web's tunnel to the started ``jetstream``, as `JETSTREAM_HOST`."""
    parts = urlsplit(jetstream.url)
    return {JETSTREAM_HOST: (parts.hostname or "127.0.0.1", parts.port or 80)}


DEMO_NETWORKS = [
    {
        "type": "mastodon",
        "name": "mastodon",
        "instances": [f"http://{MASTODON_HOST}"],
        "hashtags": HASHTAGS,
    },
    {
        "type": "bluesky",
        "name": "bluesky",
        "jetstream": f"ws://{JETSTREAM_HOST}/subscribe",
        # One poll reads the stream this long: the demo's posts arrive at once.
        "read_for": "1s",
    },
]
"""The demo's ``sources.networks``."""
