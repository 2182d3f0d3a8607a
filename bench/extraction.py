"""Extraction quality against gold files: ``python -m bench.extraction [PAGES_DIR]``.

Workload: every ``*.gold.json`` in ``tests/pages`` (saved pages of phpBB, vBulletin, XenForo,
Discourse, Simple Machines through the generic engine, WordPress, Ghost and Dotclear blogs, in
French and English). Each page goes through `crawlers.extract.found.extract`, the function the
spiders and ``veille extract`` use, and what comes out is compared with the gold:

- posts and comments found: precision, recall and F1, matching by mention id;
- for those found: author, date (within a minute), thread title, position and parent, exact;
- text: token F1 against the gold text (`ingest.text.tokenize`), and quote leaks (a snippet of
  an earlier post, a signature or page furniture that must not be in the text).

It prints one row per page and the totals; ``--json`` prints the totals as JSON.

``--devset [DIR ...]`` scores the development set instead (`bench.devset`): pages nobody
configured, read with ``kind=auto``.
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

from bench import devset
from crawlers.extract.found import extract
from crawlers.items import Found, identity
from crawlers.settings import CommentMarkup, ForumMarkup
from ingest.text import tokenize

PAGES = Path(__file__).resolve().parents[1] / "tests" / "pages"
FIELDS = ("author", "published", "thread_title", "position", "parent")


def token_f1(found: str, gold: str) -> float:
    a, b = Counter(tokenize(found)), Counter(tokenize(gold))
    common = sum((a & b).values())
    if not a and not b:
        return 1.0
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(b.values())
    return 2 * precision * recall / (precision + recall)


@dataclass
class Score(devset.Matching):
    gold: int = 0
    found: int = 0
    matched: int = 0
    fields: Counter[str] = field(default_factory=Counter)
    text_f1: float = 0.0
    leaks: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        self.gold += other.gold
        self.found += other.found
        self.matched += other.matched
        self.fields.update(other.fields)
        self.text_f1 += other.text_f1
        self.leaks += other.leaks
        self.problems += other.problems

    def field_accuracy(self, name: str) -> float:
        return self.fields[name] / self.matched if self.matched else 0.0

    @property
    def mean_text_f1(self) -> float:
        return self.text_f1 / self.matched if self.matched else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "items_gold": self.gold,
            "items_found": self.found,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            **{f"{name}_accuracy": round(self.field_accuracy(name), 4) for name in FIELDS},
            "text_token_f1": round(self.mean_text_f1, 4),
            "quote_leaks": self.leaks,
        }


def _same(name: str, found: Any, gold: Any) -> bool:
    if name == "published":
        if found is None or gold is None:
            return found is gold
        return abs((found - datetime.fromisoformat(gold)).total_seconds()) < 60
    return bool(found == gold)


def score_page(gold_path: Path) -> Score:
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    body = (gold_path.parent / gold["page"]).read_bytes()
    try:
        items = _extract(gold, body)
    except ValueError as exc:  # the page gave nothing: every gold item is missed
        score = Score(gold=len(gold["items"]))
        score.problems.append(f"{gold_path.name}: {exc}")
        return score
    found = {identity(i.url, i.unique): i for i in items}
    return _compare(gold_path.name, gold, found)


def _extract(gold: dict[str, Any], body: bytes) -> list[Found]:
    result = extract(
        body,
        gold["url"],
        kind=gold["kind"],
        engine=gold.get("engine"),
        markup=ForumMarkup(**gold["markup"]) if gold.get("markup") else None,
        comments=CommentMarkup(**gold["comments"]) if gold.get("comments") else None,
        tz=gold.get("tz", "UTC"),
        lang=gold.get("lang"),
        now=datetime.fromisoformat(gold["now"]),
    )
    return result.items


def _compare(name: str, gold: dict[str, Any], found: dict[str, Found]) -> Score:
    score = Score(gold=len(gold["items"]), found=len(found))
    for expected in gold["items"]:
        key = identity(expected["url"], "#" not in expected["url"])
        item = found.get(key)
        if item is None:
            score.problems.append(f"{name}: missing {expected['url']}")
            continue
        score.matched += 1
        values = {
            "author": item.author,
            "published": item.published,
            "thread_title": item.thread_title,
            "position": item.position,
            "parent": item.parent_url,
        }
        wanted = {**expected, "parent": expected.get("parent_url")}
        for field_name in FIELDS:
            if _same(field_name, values[field_name], wanted.get(field_name)):
                score.fields[field_name] += 1
            else:
                score.problems.append(
                    f"{name}: {expected['url']}: {field_name} is {values[field_name]!r}, "
                    f"expected {wanted.get(field_name)!r}"
                )
        score.text_f1 += token_f1(item.text, expected["text"])
        for snippet in expected.get("absent", []):
            if snippet in item.text:
                score.leaks += 1
                score.problems.append(f"{name}: {expected['url']}: leaks {snippet!r}")
    for key, item in found.items():
        if key not in {identity(e["url"], "#" not in e["url"]) for e in gold["items"]}:
            score.problems.append(f"{name}: unexpected {item.kind} {item.url}")
    return score


def evaluate(pages: Path = PAGES) -> tuple[Score, dict[str, Score]]:
    total, per_page = Score(), {}
    for gold_path in sorted(pages.glob("*.gold.json")):
        score = score_page(gold_path)
        per_page[gold_path.name.removesuffix(".gold.json")] = score
        total.add(score)
    return total, per_page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="?", type=Path, default=PAGES)
    parser.add_argument(
        "--devset",
        nargs="*",
        type=Path,
        metavar="DIR",
        help=f"score development-set pages with kind=auto and no configuration "
        f"(default: {devset.PAGES.relative_to(PAGES.parents[1])})",
    )
    parser.add_argument("--json", action="store_true", help="print the totals as JSON")
    args = parser.parse_args(argv)
    if args.devset is not None:
        return devset.run(args.devset or [devset.PAGES], as_json=args.json)
    total, per_page = evaluate(args.pages)
    if args.json:
        print(json.dumps(total.summary(), indent=2))
        return 0
    header = f"{'page':32} {'gold':>4} {'found':>5} {'P':>5} {'R':>5} {'F1':>5} "
    header += " ".join(f"{n[:6]:>6}" for n in FIELDS) + f" {'textF1':>6} {'leaks':>5}"
    print(header)
    for name, s in [*per_page.items(), ("TOTAL", total)]:
        row = f"{name:32} {s.gold:>4} {s.found:>5} {s.precision:5.2f} {s.recall:5.2f} {s.f1:5.2f} "
        row += " ".join(f"{s.field_accuracy(n):6.2f}" for n in FIELDS)
        row += f" {s.mean_text_f1:6.3f} {s.leaks:>5}"
        print(row)
    if total.problems:
        print("\nproblems:")
        for problem in total.problems:
            print(f"  {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
