"""Benchmark: a recorded-shape Jetstream through the Bluesky connector's filtering path.

Workload: N events (default 200,000) shaped like what ``wss://jetstream2.us-east.bsky.network/
subscribe?wantedCollections=app.bsky.feed.post`` sends: 95% post creations (text of 40 to 300
characters in French and English, ``langs``, ``createdAt``, a third of them replies, some with a
link card), 3% post deletions, 1% identity and 1% account events. ``--share`` (default 3%) of
the posts name one of 10 brands, whose queries mix words, phrases, OR, NEAR, NOT and ``lang:``.
The events are generated, serialised, and held in memory before any timing.

Measured in this one run, on one core (the process is pinned to one CPU):

- the baseline: ``json.loads`` of every message, nothing else;
- the filtering path: `JetstreamReader.feed` on every message (decode, map each post to a
  mention, match it against the 10 queries, keep it or drop it, track deletions), 20,000
  events per reader as a poll reads them.

It prints events/s and posts/s for each, what was kept, the peak RSS, and the load average
(the machine may be shared). The network is not part of it: the firehose averages about 60
posts a second, so what matters is how far above that one core filters.

    .venv/bin/python bench/networks.py [--events 200000] [--share 0.03] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import time
from datetime import UTC, datetime, timedelta

from crawlers.networks.bluesky import POSTS, JetstreamReader
from ingest.settings import Brand

BRANDS = [
    Brand(name="Acme", query="acme OR @acme"),
    Brand(name="Lumen", query='"lumen telecom" OR lumentel'),
    Brand(name="Velora", query="velora AND NOT velorasaurus"),
    Brand(name="Boxia", query='boxia NEAR/5 (panne OR "service client" OR outage)'),
    Brand(name="Cafeo", query="cafeo lang:fr"),
    Brand(name="Nordbank", query="nordbank OR nord-bank"),
    Brand(name="Trainly", query='trainly OR "trainly app"'),
    Brand(name="Pixelo", query="pixelo* AND NOT pixelorama"),
    Brand(name="Greenly", query='"greenly energie" OR greenlyfr'),
    Brand(name="Orbis", query="orbis AND (mobile OR forfait OR plan)"),
]
NAMES = [
    "acme",
    "Lumen Télécom",
    "Velora",
    "boxia panne",
    "Cafeo",
    "Nordbank",
    "Trainly",
    "pixelo",
    "Greenly Énergie",
    "Orbis forfait",
]
WORDS_FR = (
    "le la les un une des je tu il elle nous vous ils est sont avec pour sans dans sur chez "
    "très trop encore jamais toujours aujourd'hui demain hier matin soir train boulot café "
    "pluie soleil film série livre musique concert match équipe ville quartier voisin chat "
    "chien enfant école travail réunion projet idée question réponse merci bravo génial nul"
).split()
WORDS_EN = (
    "the a an I you he she we they is are was with for without in on at very too still never "
    "always today tomorrow yesterday morning night train work coffee rain sun movie show book "
    "music concert game team city street neighbour cat dog kid school meeting project idea "
    "question answer thanks great awful lol honestly really just got new old"
).split()


def _text(rng: random.Random, fr: bool, brand: str | None) -> str:
    words = WORDS_FR if fr else WORDS_EN
    out = [rng.choice(words) for _ in range(rng.randint(6, 50))]
    if brand is not None:
        out.insert(rng.randrange(len(out) + 1), brand)
    return " ".join(out)[:300].capitalize() + rng.choice([".", "!", " ?", "", " #jeudi"])


def events(n: int, share: float, seed: int = 7) -> tuple[list[str], int]:
    """``n`` Jetstream messages, and how many posts name a brand."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 30, 9, tzinfo=UTC)
    time_us = int(start.timestamp() * 1_000_000)
    messages: list[str] = []
    posts: list[tuple[str, str]] = []
    branded = 0
    for i in range(n):
        time_us += rng.randint(1, 30_000)
        did = f"did:plc:{rng.getrandbits(100):025x}"
        roll = rng.random()
        event: dict[str, object]
        if roll < 0.95 or not posts:
            fr = rng.random() < 0.5
            brand = rng.choice(NAMES) if rng.random() < share else None
            branded += brand is not None
            rkey = f"3l{i:011d}"
            created = start + timedelta(microseconds=time_us - start.timestamp() * 1e6)
            record: dict[str, object] = {
                "$type": POSTS,
                "createdAt": created.isoformat().replace("+00:00", "Z"),
                "langs": ["fr"] if fr else ["en"],
                "text": _text(rng, fr, brand),
            }
            if rng.random() < 0.33 and posts:
                parent = f"at://{posts[-1][0]}/{POSTS}/{posts[-1][1]}"
                record["reply"] = {
                    "parent": {"cid": "bafy", "uri": parent},
                    "root": {"uri": parent},
                }
            if rng.random() < 0.1:
                card = {"uri": "https://news.example/a", "title": "Un article", "description": ""}
                record["embed"] = {"$type": "app.bsky.embed.external", "external": card}
            posts.append((did, rkey))
            commit = {"rev": "3l", "operation": "create", "collection": POSTS, "rkey": rkey}
            event = {"did": did, "time_us": time_us, "kind": "commit"}
            event["commit"] = commit | {"record": record, "cid": f"bafyrei{i:040d}"}
        elif roll < 0.98:
            gone_did, rkey = rng.choice(posts)
            commit = {"rev": "3l", "operation": "delete", "collection": POSTS, "rkey": rkey}
            event = {"did": gone_did, "time_us": time_us, "kind": "commit", "commit": commit}
        elif roll < 0.99:
            identity = {"did": did, "handle": f"user{i}.bsky.social", "seq": i, "time": "t"}
            event = {"did": did, "time_us": time_us, "kind": "identity", "identity": identity}
        else:
            account = {"active": True, "did": did, "seq": i, "time": "t"}
            event = {"did": did, "time_us": time_us, "kind": "account", "account": account}
        messages.append(json.dumps(event, ensure_ascii=False))
    return messages, branded


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline(messages: list[str]) -> float:
    started = time.perf_counter()
    for message in messages:
        json.loads(message)
    return time.perf_counter() - started


def filtering(messages: list[str], per_poll: int = 20_000) -> tuple[float, int, int, int]:
    """Seconds, posts read, posts kept, events skipped."""
    trees = [b.tree for b in BRANDS]
    fetched = datetime.now(UTC)
    handles: dict[str, str] = {}
    watched: dict[str, tuple[str, float]] = {}
    posts = kept = skipped = 0
    started = time.perf_counter()
    for at in range(0, len(messages), per_poll):
        reader = JetstreamReader(trees, "bsky", fetched, watched=watched, handles=handles)
        for message in messages[at : at + per_poll]:
            reader.feed(message)
        posts += reader.posts
        kept += len(reader.mentions)
        skipped += reader.skipped
    return time.perf_counter() - started, posts, kept, skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--share", type=float, default=0.03)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(f"load average before: {os.getloadavg()}")
    messages, branded = events(args.events, args.share)
    size = sum(len(m) for m in messages) / len(messages)
    print(
        f"{len(messages):,} events (mean {size:.0f} characters), {branded:,} posts naming a "
        f"brand; 10 brands; peak RSS after generating them: {peak_mib():,.0f} MiB"
    )
    for run in range(1, args.repeat + 1):
        base = baseline(messages)
        seconds, posts, kept, skipped = filtering(messages)
        print(
            f"run {run}: json.loads alone {len(messages) / base:,.0f} events/s | filtering "
            f"{len(messages) / seconds:,.0f} events/s = {posts / seconds:,.0f} posts/s "
            f"({posts:,} posts, {kept:,} kept, {skipped} skipped; "
            f"{seconds / base:.1f}x the baseline)"
        )
    print(f"peak RSS: {peak_mib():,.0f} MiB; load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
