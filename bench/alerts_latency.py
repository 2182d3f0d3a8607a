"""Benchmark: how long from a bad buzz's first mention to the page, live, on the embedded pipeline.

Workload: B brands (default 5), each with a week of quiet history (12 mentions an hour, one in
four negative) published already enriched to ``mentions.enriched``. Then ``veille run``'s stage
workers run in threads (enrich, index, alerts, with the default settings: 5-minute buckets, rules
evaluated every 5 s), with the default alert rule on every brand, paging a local signed webhook.
For each brand in turn, a spike starts: French negative posts, each worded its own way (copies
would count once), published raw to ``mentions.raw``, one every ``--every`` seconds (default 2),
until the page arrives. Measured: the time from the
first post's publication to the webhook receiving the trigger (p50, p95, max), against the bound
the issue sets, one bucket plus 10 s.

    .venv/bin/python -m bench.alerts_latency [--brands 5] [--every 2]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from ingest.record import Author, Enrichment, Mention, Sentiment, Source, SourceKind, mention_id
from ingest.topics import partition_key
from veille.app import App
from veille.demo.receiver import Receiver, webhook_check
from veille.settings import load_settings

KEY = "bench-signing-key"
NAMES = ["Acme", "Borelia", "Cytrus", "Dalmo", "Exora", "Fenwick", "Galvo", "Hestia"]
OPENERS = ["Panne", "Coupure", "Gros souci", "Incident", "Plus de réseau", "Service HS", "Bug"]
PLACES = ["à Lyon", "à Nantes", "à Lille", "à Paris", "à Rennes", "à Metz", "à Brest", "à Nice"]
WHEN = ["depuis ce matin", "depuis deux heures", "ce soir", "depuis midi", "encore aujourd'hui"]
FEELINGS = [
    "service client injoignable",
    "c'est inadmissible",
    "je suis furieux",
    "honteux",
    "quelle catastrophe",
    "ras le bol",
    "je vais résilier",
]


def complaint(brand: str, n: int, rng: random.Random) -> str:
    """A negative post in French, worded its own way: near-duplicates count once (issue 4), so
    a spike of copies of a few texts would be a few voices, not a bad buzz."""
    parts = (rng.choice(OPENERS), rng.choice(PLACES), rng.choice(WHEN), rng.choice(FEELINGS))
    return f"{parts[0]} {brand} {parts[1]} {parts[2]}, {parts[3]}. (message {n})"


def history(brand: str, now: datetime, rng: random.Random) -> list[Mention]:
    out = []
    for i in range(7 * 24 * 12):
        published = now - timedelta(days=7, hours=1) + timedelta(minutes=5 * i + rng.random())
        negative = rng.random() < 0.25
        url = f"https://forum.example.fr/{brand.lower()}/{i}"
        out.append(
            Mention(
                id=mention_id(url=url),
                source=Source(kind=SourceKind.FORUM, name="bench"),
                url=url,
                site="forum.example.fr",
                text=f"Un avis sur {brand}, numéro {i}",
                author=Author(name=f"user{rng.randrange(500)}"),
                published=published,
                fetched=published,
                enrichment=Enrichment(
                    brands=(brand,),
                    lang="fr",
                    sentiment=Sentiment(
                        label="negative" if negative else "neutral",
                        score=-0.5 if negative else 0.0,
                        confidence=0.6,
                        model="bench",
                    ),
                    enriched=published,
                ),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--brands", type=int, default=5)
    parser.add_argument("--every", type=float, default=2.0)
    args = parser.parse_args()
    brands = NAMES[: args.brands]
    rng = random.Random(6)
    with tempfile.TemporaryDirectory() as tmp, Receiver(webhook_check(KEY)) as hook:
        config = {
            "data_dir": str(Path(tmp) / "data"),
            "log_level": "WARNING",
            "brands": [{"name": b, "query": b.lower()} for b in brands],
            "alerts": {
                "rules": [{"name": "bad-buzz", "channels": ["hook"], "severity": "critical"}],
                "channels": {"hook": {"type": "webhook", "url": f"{hook.url}/x", "secret": KEY}},
            },
        }
        path = Path(tmp) / "veille.yaml"
        path.write_text(yaml.safe_dump(config))
        app = App(load_settings(path))
        now = datetime.now(UTC)
        for brand in brands:
            seeded = history(brand, now, rng)
            app.bus.publish(app.topics.enriched, [(partition_key(m), m.to_json()) for m in seeded])
        print(
            f"workload: {len(brands)} brands x {7 * 24 * 12} mentions of history; spikes of one "
            f"negative post every {args.every:g} s; 5-minute buckets, rules every 5 s"
        )
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=app.loop(n).run,
                args=(stop,),
                daemon=True,
            )
            for n in ("enrich", "index", "alerts")
        ]
        for t in threads:
            t.start()
        while app.bus.lag(app.topics.enriched, "alerts") not in (0, None):
            time.sleep(0.5)
        time.sleep(6)  # one evaluation over the history: warm detectors, no page yet
        if hook.received:
            print("quiet history paged:", [r.json["why"]["headline"] for r in hook.received])
        latencies = []
        for brand in brands:
            paged = len(hook.received)
            first = time.monotonic()
            n = 0
            while len(hook.received) == paged and time.monotonic() - first < 600:
                text = complaint(brand, n, rng)
                url = f"https://social.example/{brand.lower()}/spike/{n}"
                m = Mention(
                    id=mention_id(url=url),
                    source=Source(kind=SourceKind.SOCIAL, name="bench"),
                    url=url,
                    site="social.example",
                    text=text,
                    author=Author(name=f"client{n}"),
                    published=datetime.now(UTC),
                    fetched=datetime.now(UTC),
                    lang="fr",
                )
                app.bus.publish(app.topics.raw, [(partition_key(m), m.to_json())])
                n += 1
                deadline = time.monotonic() + args.every
                while time.monotonic() < deadline and len(hook.received) == paged:
                    time.sleep(0.05)
            latency = time.monotonic() - first
            latencies.append(latency)
            event = hook.received[-1].json if len(hook.received) > paged else None
            print(
                f"{brand:10} paged after {latency:6.1f} s and {n} posts"
                + ("" if event else " (NO PAGE)")
            )
        stop.set()
        for t in threads:
            t.join(timeout=30)
        app.close()
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    bound = 300 + 10
    print(
        f"\nfirst post -> page: p50 {statistics.median(latencies):.1f} s, p95 {p95:.1f} s, "
        f"max {latencies[-1]:.1f} s (bound: one bucket + 10 s = {bound} s)"
    )


if __name__ == "__main__":
    main()
