"""Feed reading against the development set's gold: ``python -m bench.feeds [FEEDS_DIR]``.

Workload: every ``*.gold.json`` in ``tests/devset/feeds`` (feeds written for Veille in French,
English, German, Spanish, Italian, Portuguese and Dutch, by WordPress, Blogger, FeedBurner,
Drupal, forum engines and others, with dates of every form real feeds carry, see
``tests/devset/README.md``). Each feed goes through what the poller does
(`crawlers.feeds.parse.parse_feed`, then `crawlers.feeds.poller.entry_to_mention`) at the
gold's ``now``, in its language and time zone, and what comes out is compared with the gold:

- entries kept: every gold entry must become a mention (those without link or guid too);
- author: the cleaned display name, exact (None where the gold says null);
- date: within a minute of the gold; a gold null must be unknown (None), never "now";
- ids: parsing the feed again gives the same ids (a re-poll stores nothing twice).

It prints one row per feed and per language, and the totals; ``--json`` prints the totals.
These figures are in-sample: the feeds were written while the reading was developed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from crawlers.feeds.parse import NotAFeed, parse_feed
from crawlers.feeds.poller import entry_to_mention
from crawlers.settings import FeedSource
from ingest.record import Mention

FEEDS = Path(__file__).resolve().parents[1] / "tests" / "devset" / "feeds"


@dataclass
class FeedScore:
    gold: int = 0
    kept: int = 0
    authors: int = 0
    dates: int = 0
    stable: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: FeedScore) -> None:
        self.gold += other.gold
        self.kept += other.kept
        self.authors += other.authors
        self.dates += other.dates
        self.stable += other.stable
        self.problems += other.problems

    def rate(self, n: int) -> float:
        return n / self.gold if self.gold else 1.0

    def summary(self) -> dict[str, Any]:
        return {
            "entries": self.gold,
            "kept": round(self.rate(self.kept), 4),
            "author_accuracy": round(self.rate(self.authors), 4),
            "date_accuracy": round(self.rate(self.dates), 4),
            "stable_ids": round(self.rate(self.stable), 4),
        }


def _mentions(gold: dict[str, Any], body: bytes) -> list[Mention | str]:
    """What the poller makes of each entry, in feed order: a mention, or why there is none."""
    now = datetime.fromisoformat(gold["now"])
    source = FeedSource(name="devset", url=gold["url"], lang=gold.get("lang"))
    parsed = parse_feed(
        body, None, gold["url"], now=now, tz=gold.get("tz", "UTC"), lang=gold.get("lang")
    )
    out: list[Mention | str] = []
    for entry in parsed.entries:
        try:
            out.append(entry_to_mention(entry, source, parsed, now))
        except ValueError as exc:
            out.append(str(exc))
    return out


def _same_date(found: datetime | None, gold: str | None) -> bool:
    if found is None or gold is None:
        return found is None and gold is None
    return abs((found - datetime.fromisoformat(gold)).total_seconds()) < 60


def score_feed(gold_path: Path) -> FeedScore:
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    body = (gold_path.parent / gold["feed"]).read_bytes()
    expected = gold["entries"]
    score = FeedScore(gold=len(expected))
    name = gold_path.name.removesuffix(".gold.json")
    try:
        first, again = _mentions(gold, body), _mentions(gold, body)
    except NotAFeed as exc:
        score.problems.append(f"{name}: not read: {exc}")
        return score
    if len(first) != len(expected):
        score.problems.append(f"{name}: {len(first)} entries read, {len(expected)} in the gold")
    for index, (want, got, got_again) in enumerate(zip(expected, first, again, strict=False)):
        where = f"{name}[{index}] {want.get('title')!r}"
        if isinstance(got, str):
            score.problems.append(f"{where}: dropped: {got}")
            continue
        score.kept += 1
        author = got.author.name if got.author else None
        if author == want.get("author"):
            score.authors += 1
        else:
            score.problems.append(f"{where}: author {author!r}, expected {want.get('author')!r}")
        if _same_date(got.published, want.get("published")):
            score.dates += 1
        else:
            found = got.published.isoformat() if got.published else None
            score.problems.append(f"{where}: date {found}, expected {want.get('published')}")
        if isinstance(got_again, Mention) and got_again.id == got.id:
            score.stable += 1
    ids = Counter(m.id for m in first if isinstance(m, Mention))
    score.problems += [f"{name}: id {i} given to {n} entries" for i, n in ids.items() if n > 1]
    return score


def evaluate(feeds: Path = FEEDS) -> tuple[FeedScore, dict[str, FeedScore], dict[str, FeedScore]]:
    total, per_feed, per_lang = FeedScore(), {}, {}
    for gold_path in sorted(feeds.glob("*.gold.json")):
        score = score_feed(gold_path)
        lang = json.loads(gold_path.read_text(encoding="utf-8")).get("lang") or "und"
        per_feed[gold_path.name.removesuffix(".gold.json")] = score
        per_lang.setdefault(lang, FeedScore()).add(score)
        total.add(score)
    return total, per_feed, per_lang


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("feeds", nargs="?", type=Path, default=FEEDS)
    parser.add_argument("--json", action="store_true", help="print the totals as JSON")
    args = parser.parse_args(argv)
    total, per_feed, per_lang = evaluate(args.feeds)
    if args.json:
        print(json.dumps(total.summary(), indent=2))
        return 0
    print(f"{'feed':34} {'entries':>7} {'kept':>5} {'author':>6} {'date':>5} {'ids':>5}")
    rows = [*per_feed.items(), *((f"language {k}", v) for k, v in per_lang.items())]
    for name, s in [*rows, ("TOTAL", total)]:
        print(
            f"{name:34} {s.gold:>7} {s.rate(s.kept):5.2f} {s.rate(s.authors):6.2f}"
            f" {s.rate(s.dates):5.2f} {s.rate(s.stable):5.2f}"
        )
    if total.problems:
        print("\nproblems:")
        for problem in total.problems:
            print(f"  {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
