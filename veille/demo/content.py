"""What the demo's sample web says: two fictional brands, in French and English, over a week.

- **Velora**, a French e-bike maker. A fishing shop that is also called Velora
  (``velora-peche.example``) shows how a query excludes a homonym.
- **Lumen Télécom**, a French internet provider. Posts about torches rated in lumens show how
  NEAR keeps a brand's name apart from the common word.

A background of ordinary posts (praise, questions, complaints, news, a press release syndicated
by three news sites) spreads over the last seven days. The bad-buzz scenario is a network outage
at Lumen: it starts on Mastodon and Bluesky (`veille.demo.social`), and a burst of negative forum
posts, news articles and blog posts follows in the last hour.

Times are minutes before "now", so every run of the demo looks current; URLs are stable, so
mention ids are too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

BURST_MINUTES = 55
"""The outage burst starts this many minutes before the demo runs."""

FORUM_LAG = 3
"""Minutes between the outage's first posts on the social networks and the forum's first."""


@dataclass(frozen=True)
class SamplePost:
    """One thing published on the sample web (a blog article, a forum message, a news article,
    an alert entry): where, by whom, how many minutes before now."""

    site: str
    slug: str
    title: str | None
    text: str
    author: str
    minutes_ago: int
    lang: str
    thread: str | None = None  # forum thread slug
    position: int = 0


BLOG_FR = "blog.cyclurbain.example"
BLOG_EN = "techdaily.example"
FORUM = "forum.parlonsbox.example"
NEWS_JSON = "lesnouvelles.example"
FISHING = "velora-peche.example"
ALERTS_HOST = "alerts.google.example"
NEWS_SITES = ("actu-eco.example", "journal-tech.example", "lesnouvelles.example")

_DAY = 24 * 60

BLOG_FR_POSTS = [
    SamplePost(
        BLOG_FR,
        "essai-velora-city",
        "Essai du Velora City : le VAE urbain qui fait tout bien",
        "Nous avons roulé trois semaines avec le Velora City. Le moteur est doux, la batterie "
        "tient largement 70 km et la finition est impeccable. Un excellent vélo, je recommande.",
        "Claire Martin",
        6 * _DAY + 300,
        "fr",
    ),
    SamplePost(
        BLOG_FR,
        "velora-batterie-sav",
        "Velora : ma batterie a lâché après huit mois",
        "Mauvaise surprise : la batterie de mon Velora ne charge plus. Le SAV Velora est lent, "
        "trois semaines sans réponse. Très déçu par le suivi.",
        "Hugo Bernard",
        5 * _DAY + 120,
        "fr",
    ),
    SamplePost(
        BLOG_FR,
        "salon-cycle-2027",
        "Salon du cycle : les nouveautés Velora 2027",
        "Velora présentait au salon sa gamme 2027 : un cadre plus léger, un nouvel écran et "
        "une application mise à jour. Les prix seront annoncés en janvier.",
        "Claire Martin",
        4 * _DAY + 600,
        "fr",
    ),
    SamplePost(
        BLOG_FR,
        "pneus-hiver",
        "Quels pneus pour rouler en hiver ?",
        "Nos conseils pour choisir des pneus adaptés au froid et à la pluie, quel que soit "
        "votre vélo.",
        "Hugo Bernard",
        3 * _DAY + 200,
        "fr",
    ),
    SamplePost(
        BLOG_FR,
        "velora-trail-avis",
        "Velora Trail : un super vélo pour les chemins",
        "Le Velora Trail est vraiment génial en forêt, stable et rassurant. Seul bémol, il "
        "est un peu lourd dans les escaliers.",
        "Léa Petit",
        2 * _DAY + 400,
        "fr",
    ),
    SamplePost(
        BLOG_FR,
        "antivol-test",
        "Test : cinq antivols en U comparés",
        "Nous avons essayé cinq antivols. Le plus solide n'est pas le plus cher.",
        "Léa Petit",
        1 * _DAY + 500,
        "fr",
    ),
    SamplePost(
        BLOG_FR,
        "velora-velotaf",
        "Un an de vélotaf avec mon Velora",
        "Bilan après un an et 4 000 km : aucun souci mécanique, un vélo fiable et agréable. "
        "Merci Velora !",
        "Claire Martin",
        900,
        "fr",
    ),
]

BLOG_EN_POSTS = [
    SamplePost(
        BLOG_EN,
        "velora-trail-review",
        "Velora Trail review: a great e-bike with one flaw",
        "The Velora Trail is a great ride: smooth motor, excellent brakes and a battery that "
        "lasts. The one flaw is the weight. Still, we love it.",
        "Sam Carter",
        6 * _DAY + 60,
        "en",
    ),
    SamplePost(
        BLOG_EN,
        "lumen-fibre-8g",
        "Lumen Telecom launches an 8 Gbit/s fibre plan",
        "French provider Lumen Telecom now offers 8 Gbit/s fibre in Lyon and Paris. Early "
        "testers say the Lumen box is fast and stable.",
        "Priya Shah",
        5 * _DAY + 800,
        "en",
    ),
    SamplePost(
        BLOG_EN,
        "headlamp-1200",
        "Best headlamps of the year: 1200 lumen and up",
        "We tested ten headlamps rated from 800 to 1500 lumen. The brightest is not always "
        "the best: beam shape matters more.",
        "Sam Carter",
        3 * _DAY + 100,
        "en",
    ),
    SamplePost(
        BLOG_EN,
        "lumen-box-5-hands-on",
        "Hands-on: the Lumen Box 5 is quick and quiet",
        "The new Lumen Box 5 router from Lumen Telecom is fast, silent and easy to set up. "
        "A good update.",
        "Priya Shah",
        2 * _DAY + 50,
        "en",
    ),
    SamplePost(
        BLOG_EN,
        "ebike-tax-credit",
        "E-bike tax credits explained",
        "What the new incentives mean for buyers of electric bikes this year.",
        "Sam Carter",
        1 * _DAY + 700,
        "en",
    ),
]

FISHING_POSTS = [
    SamplePost(
        FISHING,
        "canne-velora-carpe",
        "Nouvelle canne Velora pour la carpe",
        "La canne Velora 3,60 m est arrivée en boutique. Superbe action, un vrai plaisir.",
        "La boutique",
        4 * _DAY,
        "fr",
    ),
    SamplePost(
        FISHING,
        "moulinet-velora",
        "Moulinet Velora : le retour",
        "Le moulinet Velora revient en stock, excellent rapport qualité prix.",
        "La boutique",
        2 * _DAY,
        "fr",
    ),
]

_PRESS_RELEASE = (
    "Velora inaugure une usine d'assemblage à Angers",
    "Le fabricant de vélos électriques Velora a inauguré jeudi une usine d'assemblage à "
    "Angers. Le site emploiera 120 personnes et produira 40 000 vélos par an. « Nous "
    "sommes fiers de fabriquer en France », a déclaré la directrice générale de Velora.",
)

NEWS_POSTS = [
    SamplePost(
        site,
        "velora-usine-angers",
        _PRESS_RELEASE[0],
        _PRESS_RELEASE[1] + ("" if i == 0 else " (Avec AFP)"),
        "Rédaction",
        3 * _DAY + 240 + 30 * i,
        "fr",
    )
    for i, site in enumerate(NEWS_SITES)
] + [
    SamplePost(
        "actu-eco.example",
        "lumen-resultats-t3",
        "Lumen Télécom : des résultats trimestriels solides",
        "L'opérateur Lumen Télécom affiche une croissance de 6 % de ses abonnés fibre au "
        "troisième trimestre.",
        "Rédaction",
        4 * _DAY + 60,
        "fr",
    ),
    SamplePost(
        "journal-tech.example",
        "lumen-box-5",
        "La Lumen Box 5 arrive chez les abonnés",
        "Lumen Télécom déploie sa nouvelle box fibre, plus rapide et plus sobre.",
        "Rédaction",
        2 * _DAY + 300,
        "fr",
    ),
]

# The forum: background threads over the week, then the outage.
_FORUM_BACKGROUND = [
    (
        "lumen-box-5-avis",
        "Lumen Box 5 : vos avis ?",
        [
            ("Marc_44", "Box Lumen 5 installée hier, débit fibre au top, je suis ravi.", 6 * _DAY),
            (
                "Sophie.R",
                "Pareil, installation rapide et le technicien Lumen était très sympa.",
                6 * _DAY - 90,
            ),
            (
                "Bricoleur",
                "Chez moi la box Lumen redémarre toute seule depuis la mise à jour, c'est pénible.",
                5 * _DAY + 200,
            ),
        ],
    ),
    (
        "forfait-mobile",
        "Forfait mobile Lumen à 9,99 € : ça vaut le coup ?",
        [
            (
                "Nina",
                "Quelqu'un a testé le forfait mobile Lumen ? Le réseau passe bien en campagne ?",
                4 * _DAY + 100,
            ),
            ("Marc_44", "Réseau Lumen correct chez moi, rien à signaler.", 4 * _DAY + 40),
        ],
    ),
    (
        "service-client",
        "Service client Lumen",
        [
            (
                "Paul_D",
                "Le service client Lumen m'a rappelé en dix minutes, très pro.",
                3 * _DAY + 300,
            ),
            (
                "Nina",
                "Bonne expérience aussi avec le support Lumen, problème réglé.",
                3 * _DAY + 200,
            ),
        ],
    ),
    (
        "lampe-torche",
        "Quelle lampe torche pour le camping ?",
        [
            (
                "Bricoleur",
                "Je cherche une lampe de 1000 lumen minimum, des idées ?",
                2 * _DAY + 100,
            ),
            ("Paul_D", "Une frontale à 600 lumen suffit largement pour le camping.", 2 * _DAY + 60),
        ],
    ),
    (
        "migration-fibre",
        "Migration ADSL vers fibre Lumen",
        [
            (
                "Sophie.R",
                "Migration vers la fibre Lumen prévue mardi, des conseils ?",
                1 * _DAY + 400,
            ),
            (
                "Marc_44",
                "Tout s'est bien passé pour moi, coupure de 30 minutes seulement.",
                1 * _DAY + 300,
            ),
        ],
    ),
]

_OUTAGE_POSTS = [
    "Panne Lumen en cours ? Plus d'internet ni de télé depuis 20 minutes.",
    "Pareil à Nantes, la box Lumen clignote rouge, aucun réseau.",
    "Service client Lumen injoignable, 45 minutes d'attente, inadmissible !",
    "Troisième panne ce mois-ci, la fibre Lumen c'est vraiment nul.",
    "Je télétravaille et plus de connexion, merci Lumen... scandaleux.",
    "Lumen ne communique rien sur la panne, c'est honteux.",
    "Je vais résilier mon forfait Lumen, marre de ces pannes à répétition.",
    "Toujours rien à Lyon, la box Lumen est morte. Catastrophe.",
    "Le réseau Lumen est tombé à Bordeaux aussi, quelle galère.",
    "Aucune info du service client Lumen, c'est lamentable.",
    "Panne Lumen : même le mobile ne passe plus, c'est inacceptable.",
    "Deux heures sans internet, Lumen nous prend pour des idiots. Honteux.",
    "La hotline Lumen raccroche au nez, service déplorable.",
    "Encore une panne de la box Lumen, je suis furieux et très déçu.",
    "Lumen : panne géante, zéro communication, une honte.",
    "Mes clients ne peuvent plus me joindre, panne Lumen catastrophique pour mon commerce.",
    "Le support Lumen dit d'attendre, nul, vraiment nul.",
    "Lumen, la pire panne depuis des années. Scandale.",
]
_OUTAGE_AUTHORS = [
    "Marc_44",
    "Sophie.R",
    "Bricoleur",
    "Nina",
    "Paul_D",
    "Karim.B",
    "Julie_L",
    "Thomas",
    "Ana_Lyon",
    "Vincent",
]


# The forum's first minutes of the outage: a wave of short "is it down for you too?" posts (three
# in its first minute), the way a bad buzz spreads once it leaves the social networks.
_OUTAGE_FIRST_MINUTES = [
    ("Manon_T", "Lumen en panne ? Plus rien chez moi, c'est nul.", 0),
    ("Hugo.R", "Panne Lumen ici aussi, c'est scandaleux.", 0),
    ("Lea_77", "Internet coupé chez Lumen, c'est honteux.", 0),
    ("Yanis", "Encore une panne Lumen, ras le bol, service nul.", 1),
    ("Claire.B", "Lumen : panne totale à Paris, catastrophe.", 2),
]


def _thread(slug: str, title: str, items: list[tuple[str, str, int]]) -> list[SamplePost]:
    """A forum thread's posts: (author, text, minutes ago) each, the first one titled."""
    return [
        SamplePost(
            FORUM,
            f"{slug}#p{i + 1}",
            title if i == 0 else f"Re: {title}",
            text,
            author,
            minutes,
            "fr",
            thread=slug,
            position=i + 1,
        )
        for i, (author, text, minutes) in enumerate(items)
    ]


def forum_posts() -> list[SamplePost]:
    posts: list[SamplePost] = []
    for slug, title, items in _FORUM_BACKGROUND:
        posts += _thread(slug, title, items)
    rng = random.Random(7)
    thread, title = "panne-lumen", "Panne Lumen ce soir ?!"
    for i, text in enumerate(_OUTAGE_POSTS):
        minutes = BURST_MINUTES - FORUM_LAG - 3 * i - rng.randint(0, 2)
        posts.append(
            SamplePost(
                FORUM,
                f"{thread}#p{i + 1}",
                title if i == 0 else f"Re: {title}",
                text,
                _OUTAGE_AUTHORS[i % len(_OUTAGE_AUTHORS)],
                max(1, minutes),
                "fr",
                thread=thread,
                position=i + 1,
            )
        )
    first = [
        (author, text, BURST_MINUTES - FORUM_LAG - after)
        for author, text, after in _OUTAGE_FIRST_MINUTES
    ]
    posts += _thread("lumen-en-panne", "Lumen en panne chez vous ?", first)
    return posts


OUTAGE_NEWS = [
    SamplePost(
        "actu-eco.example",
        "panne-geante-lumen",
        "Panne géante chez Lumen Télécom : des milliers d'abonnés privés d'internet",
        "Une panne massive touche le réseau fibre de Lumen Télécom depuis la fin d'après-midi. "
        "Les abonnés dénoncent un service client injoignable et une communication déplorable.",
        "Rédaction",
        BURST_MINUTES - 20,
        "fr",
    ),
    SamplePost(
        "journal-tech.example",
        "lumen-outage",
        "Lumen Telecom outage leaves thousands offline across France",
        "A major outage has hit Lumen Telecom's fibre network. Angry customers report hours "
        "without internet and a support line that is impossible to reach.",
        "Newsroom",
        BURST_MINUTES - 30,
        "en",
    ),
    SamplePost(
        "lesnouvelles.example",
        "colere-abonnes-lumen",
        "Colère des abonnés Lumen après une nouvelle panne",
        "Troisième panne en un mois pour Lumen Télécom : les abonnés sont furieux et "
        "menacent de résilier. L'opérateur n'a pas encore expliqué l'incident.",
        "Rédaction",
        BURST_MINUTES - 35,
        "fr",
    ),
    SamplePost(
        BLOG_EN,
        "lumen-down",
        "Lumen Telecom down? Users report a massive outage",
        "Lumen Telecom customers report a terrible outage tonight: no internet, no TV, and "
        "no word from the operator. Awful.",
        "Priya Shah",
        BURST_MINUTES - 25,
        "en",
    ),
]


def alert_entries() -> list[SamplePost]:
    """What the Google Alerts-style feed reports: news pages about either brand."""
    return [p for p in NEWS_POSTS + OUTAGE_NEWS if p.site in NEWS_SITES]


# Comments under blog posts, read by the blog spider: (author, text, minutes ago).
COMMENTS: dict[tuple[str, str], list[tuple[str, str, int]]] = {
    (BLOG_FR, "essai-velora-city"): [
        ("Julie", "Merci pour l'essai, je l'ai commandé ce week-end !", 6 * _DAY),
        (
            "Kévin",
            "La batterie tient vraiment 70 km chez vous ? Chez moi plutôt 55.",
            5 * _DAY + 900,
        ),
    ],
    (BLOG_FR, "velora-batterie-sav"): [
        ("Sandrine", "Même souci, le SAV Velora ne répond pas, c'est honteux.", 5 * _DAY),
        ("Marc", "Chez moi le SAV a changé la batterie en une semaine, très pro.", 4 * _DAY + 700),
        ("Hugo Bernard", "Mise à jour : Velora m'a enfin rappelé, batterie remplacée.", 3 * _DAY),
    ],
    (BLOG_FR, "velora-trail-avis"): [
        ("Léo", "Super vélo, je confirme, génial sur les chemins.", 2 * _DAY),
    ],
    (BLOG_EN, "velora-trail-review"): [
        ("dave_k", "Great review. Mine does 58 miles on Eco, love it.", 5 * _DAY),
    ],
    (BLOG_EN, "lumen-down"): [
        ("jlambert", "Down here too. Lumen support has been unreachable for an hour. Awful.", 20),
        ("net_watcher", "Third Lumen outage this month. Terrible service, I'm switching.", 12),
        ("Anne-Sophie R.", "No internet, no TV, and no word from Lumen. Pathetic.", 6),
    ],
}
