"""The development set's scores: ``python -m bench.extraction --devset [DIR ...]``.

Workload: every ``*.gold.json`` in the directories given (default ``tests/devset/pages``): saved
pages of forums, Q&A sites, social threads and blogs that nobody configured (the format is in
``tests/devset/README``, or the brief of issue 15). Each page goes through
`crawlers.extract.found.extract` with ``kind="auto"``, the gold's URL, time zone, language and
fetch time, and no engine or markup: what Veille makes of a site it has never seen.

Found posts are matched to gold posts by permalink identity (`crawlers.items.identity`), then,
for those left, by text: a found post matches the first gold post still unmatched, in page
order, whose text it shares a token F1 of at least .5 with. Per page, per platform and in total:

- posts: gold, found, precision, recall, F1;
- permalink, author and date accuracy (a date within 60 s; a gold null must be None), and text
  token F1: over the gold posts, a post not found counting as wrong (0);
- kind: whether ``auto`` took the page for what it is (thread or article); leaks: snippets
  that must not be in a post's text and are.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag

from crawlers.extract.found import extract
from crawlers.items import Found, identity

PAGES = Path(__file__).resolve().parents[1] / "tests" / "devset" / "pages"
TEXT_MATCH = 0.5


class Matching:
    """Precision, recall and F1 of items found against items expected (``gold``, ``found`` and
    ``matched`` are the subclass's counts)."""

    gold: int
    found: int
    matched: int

    @property
    def precision(self) -> float:
        return self.matched / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.gold if self.gold else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class DevScore(Matching):
    pages: int = 0
    kind_ok: int = 0
    gold: int = 0
    found: int = 0
    matched: int = 0
    permalink: int = 0
    author: int = 0
    date: int = 0
    text_f1: float = 0.0
    leaks: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: DevScore) -> None:
        for name in ("pages", "kind_ok", "gold", "found", "matched", "permalink", "author"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.date += other.date
        self.text_f1 += other.text_f1
        self.leaks += other.leaks
        self.problems += other.problems

    def rate(self, count: float) -> float:
        return count / self.gold if self.gold else 1.0

    def summary(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "kind_right": self.kind_ok,
            "posts_gold": self.gold,
            "posts_found": self.found,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "permalink_accuracy": round(self.rate(self.permalink), 4),
            "author_accuracy": round(self.rate(self.author), 4),
            "date_accuracy": round(self.rate(self.date), 4),
            "text_token_f1": round(self.rate(self.text_f1), 4),
            "leaks": self.leaks,
        }


def _keys(item: Found) -> set[str]:
    return {identity(item.url, item.unique), identity(item.url, "#" not in item.url)}


def _gold_keys(url: str, page: str) -> set[str]:
    """A gold permalink's identities: ``viewtopic.php?p=12#p12`` names post 12 with or without
    its fragment, since its URL differs from the page's."""
    keys = {identity(url, "#" not in url)}
    bare = urldefrag(url).url
    if bare != urldefrag(page).url:
        keys.add(identity(bare, True))
    return keys


def _same_date(found: datetime | None, gold: str | None) -> bool:
    if found is None or gold is None:
        return found is None and gold is None
    return abs((found - datetime.fromisoformat(gold)).total_seconds()) <= 60


def match(
    items: list[Found], gold: list[dict[str, Any]], page: str
) -> tuple[dict[int, Found], dict[int, bool]]:
    """Gold index -> the found post matched to it, and whether by permalink."""
    from bench.extraction import token_f1

    matched: dict[int, Found] = {}
    by_link: dict[int, bool] = {}
    left: list[Found] = []
    for item in items:
        keys = _keys(item)
        hit = next(
            (
                i
                for i, g in enumerate(gold)
                if i not in matched and _gold_keys(g["url"], page) & keys
            ),
            None,
        )
        if hit is None:
            left.append(item)
        else:
            matched[hit], by_link[hit] = item, True
    for item in left:
        hit = next(
            (
                i
                for i, g in enumerate(gold)
                if i not in matched and token_f1(item.text, g["text"]) >= TEXT_MATCH
            ),
            None,
        )
        if hit is not None:
            matched[hit], by_link[hit] = item, False
    return matched, by_link


def score_page(gold_path: Path) -> tuple[str, DevScore]:
    from bench.extraction import token_f1

    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    name = gold_path.name.removesuffix(".gold.json")
    score = DevScore(pages=1, gold=len(gold["items"]))
    platform = str(gold.get("platform") or name.split("-")[0])
    try:
        result = extract(
            (gold_path.parent / gold["page"]).read_bytes(),
            gold["url"],
            kind="auto",
            tz=gold.get("tz") or "UTC",
            lang=gold.get("lang"),
            now=datetime.fromisoformat(gold["now"]),
        )
    except Exception as exc:  # a page that breaks extraction scores nothing, and says why
        score.problems.append(f"{name}: {type(exc).__name__}: {exc}")
        return platform, score
    expect = gold.get("expect")
    if expect is None or (expect == "thread") == (result.kind == "forum"):
        score.kind_ok = 1
    else:
        score.problems.append(f"{name}: read as {result.kind}, expected {expect}")
    items = result.items
    score.found = len(items)
    matched, by_link = match(items, gold["items"], gold["url"])
    score.matched = len(matched)
    for index, expected in enumerate(gold["items"]):
        item = matched.get(index)
        label = f"{name} #{index + 1}"
        if item is None:
            score.problems.append(f"{label}: missing {expected['url']}")
            continue
        score.permalink += by_link[index]
        if not by_link[index]:
            score.problems.append(f"{label}: permalink {item.url}, expected {expected['url']}")
        if item.author == expected.get("author"):
            score.author += 1
        else:
            score.problems.append(
                f"{label}: author {item.author!r}, expected {expected['author']!r}"
            )
        if _same_date(item.published, expected.get("published")):
            score.date += 1
        else:
            score.problems.append(
                f"{label}: date {item.published}, expected {expected.get('published')}"
            )
        f1 = token_f1(item.text, expected["text"])
        score.text_f1 += f1
        if f1 < 0.9:
            score.problems.append(f"{label}: text F1 {f1:.2f}: {item.text[:90]!r}")
        for snippet in expected.get("absent", []):
            if snippet in item.text:
                score.leaks += 1
                score.problems.append(f"{label}: leaks {snippet!r}")
    unmatched = [i for i in items if i not in matched.values()]
    for item in unmatched:
        score.problems.append(f"{name}: unexpected {item.kind} {item.url}: {item.text[:60]!r}")
    return platform, score


def evaluate(dirs: list[Path]) -> tuple[DevScore, dict[str, DevScore], dict[str, DevScore]]:
    total, per_page, per_platform = DevScore(), {}, defaultdict(DevScore)
    for directory in dirs:
        for gold_path in sorted(directory.glob("*.gold.json")):
            platform, score = score_page(gold_path)
            per_page[gold_path.name.removesuffix(".gold.json")] = score
            per_platform[platform].add(score)
            total.add(score)
    return total, per_page, dict(per_platform)


def _row(name: str, s: DevScore) -> str:
    return (
        f"{name[:38]:38} {s.kind_ok:>2}/{s.pages:<2} {s.gold:>4} {s.found:>5} {s.precision:5.2f} "
        f"{s.recall:5.2f} {s.f1:5.2f} {s.rate(s.permalink):5.2f} {s.rate(s.author):5.2f} "
        f"{s.rate(s.date):5.2f} {s.rate(s.text_f1):6.3f} {s.leaks:>5}"
    )


def run(dirs: list[Path], *, as_json: bool = False) -> int:
    total, per_page, per_platform = evaluate(dirs)
    if as_json:
        print(json.dumps(total.summary(), indent=2))
        return 0
    header = (
        f"{'page':38} {'kind':>5} {'gold':>4} {'found':>5} {'P':>5} {'R':>5} {'F1':>5} "
        f"{'link':>5} {'auth':>5} {'date':>5} {'textF1':>6} {'leaks':>5}"
    )
    print(header)
    for name, s in per_page.items():
        print(_row(name, s))
    print(f"\n{header.replace('page', 'platform', 1)}")
    for name, s in sorted(per_platform.items()):
        print(_row(name, s))
    print(_row("TOTAL", total))
    if total.problems:
        print("\nproblems:")
        for problem in total.problems:
            print(f"  {problem}")
    return 0
