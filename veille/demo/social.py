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
    """One post: by whom (handle; display name and followers on Mastodon, as the Jetstream
    carries neither), what, when (seconds after the outage began; negative: before it), and
    the post it answers (its index in the list)."""

    author: str
    text: str
    after: int
    name: str = ""
    followers: int = 0
    counts: tuple[int, int, int] = (0, 0, 0)
    """Favourites, boosts, replies (Mastodon)."""
    tags: tuple[str, ...] = ()
    reply_to: int | None = None
    lang: str = "fr"


TOOTS = [
    SocialPost(
        "camille_velo",
        "Premier vélotaf de l'hiver avec mon Velora City : 12 km sous la pluie, batterie à "
        "60 %, un régal. #Velora #velotaf",
        -3 * _DAY,
        name="Camille 🚲",
        followers=148,
        counts=(9, 2, 1),
        tags=("Velora", "velotaf"),
    ),
    SocialPost(
        "manon_t",
        "Box Lumen en panne à l'instant, plus d'internet ni de télé. Aucune info, c'est "
        "lamentable. #LumenTelecom",
        0,
        name="Manon T.",
        followers=312,
        counts=(4, 6, 3),
        tags=("LumenTelecom",),
    ),
    SocialPost(
        "karim_dev",
        "Panne Lumen à Lyon aussi. En plein télétravail, visio coupée devant un client. "
        "Inadmissible. #LumenTelecom #panne",
        50,
        name="Karim B.",
        followers=1840,
        counts=(12, 9, 5),
        tags=("LumenTelecom", "panne"),
    ),
    SocialPost(
        "lucie_b",
        "Pareil à Nantes, fibre Lumen coupée, la hotline sonne dans le vide. Scandaleux. "
        "#LumenTelecom",
        100,
        name="Lucie B.",
        followers=96,
        counts=(2, 1, 0),
        tags=("LumenTelecom",),
        reply_to=1,
    ),
    SocialPost(
        "jp_martin",
        "Troisième panne Lumen en un mois. Je résilie dès que ça revient, le service client "
        "est nul. #LumenTelecom",
        150,
        name="Jean-Pierre Martin",
        followers=2210,
        counts=(31, 14, 8),
        tags=("LumenTelecom",),
    ),
    SocialPost(
        "asso_numerique",
        "Panne Lumen : nos ateliers de ce soir sont annulés, les abonnés du quartier n'ont "
        "plus de connexion depuis 40 minutes. Lumen, quand est-ce que ça revient ? "
        "#LumenTelecom",
        40 * 60,
        name="Numérique pour tous 44",
        followers=5300,
        counts=(58, 41, 17),
        tags=("LumenTelecom",),
    ),
]
"""The statuses on the local Mastodon, oldest first."""

BLUESKY_POSTS = [
    SocialPost(
        "theo-rides.bsky.social",
        "Mon Velora Trail est génial : 80 km de chemins aujourd'hui, super confortable.",
        -3 * 3600,
    ),
    SocialPost(
        "sophie-lrx.bsky.social",
        "Panne Lumen ici aussi, la box est morte, c'est vraiment nul 😤",
        20,
    ),
    SocialPost(
        "marchedenoel-lille.bsky.social",
        "Le marché de Noël ouvre ses portes vendredi, venez nombreux !",
        40,
    ),
    SocialPost(
        "thomas-rdx.bsky.social",
        "Le réseau Lumen est tombé à Bordeaux aussi. Service client injoignable, honteux.",
        70,
        reply_to=1,
    ),
    SocialPost(
        "nadia-k.bsky.social",
        "Lumen Telecom en panne géante ? Plus de fibre, plus de mobile. Catastrophe.",
        120,
    ),
    SocialPost(
        "trail-gear.bsky.social",
        "Frontale testée ce week-end : 1200 lumens, 6 h d'autonomie, parfaite pour le trail.",
        300,
    ),
    SocialPost(
        "ben-codes.bsky.social",
        "Lumen fibre outage in Paris too, support unreachable. Terrible service, awful.",
        20 * 60,
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
