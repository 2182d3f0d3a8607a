"""The development set's feeds (`tests/devset/feeds`, scored by `bench.feeds`): every entry
kept, each date read or unknown as the gold says (never "now"), authors cleaned, ids stable."""

from __future__ import annotations

import json
from datetime import datetime

from bench.feeds import FEEDS, evaluate, score_feed
from crawlers.feeds.parse import parse_feed


def test_every_feed_of_the_development_set_reads_as_its_gold() -> None:
    total, per_feed, per_lang = evaluate()
    assert len(per_feed) >= 14
    assert len(per_lang) >= 7
    summary = total.summary()
    assert summary["kept"] == 1.0, total.problems
    assert summary["stable_ids"] == 1.0, total.problems
    assert summary["author_accuracy"] >= 0.95, total.problems
    assert summary["date_accuracy"] >= 0.95, total.problems


def test_no_unknown_feed_date_is_ever_read_as_the_fetch_time() -> None:
    unknown = 0
    for gold_path in sorted(FEEDS.glob("*.gold.json")):
        gold = json.loads(gold_path.read_text(encoding="utf-8"))
        now = datetime.fromisoformat(gold["now"])
        body = (gold_path.parent / gold["feed"]).read_bytes()
        parsed = parse_feed(body, None, gold["url"], now=now, tz=gold["tz"], lang=gold["lang"])
        for want, entry in zip(gold["entries"], parsed.entries, strict=True):
            if want["published"] is None:
                unknown += 1
                assert entry.published is None, (gold_path.name, want["title"], entry.published)
            assert entry.published != now
        assert score_feed(gold_path).problems == []
    assert unknown >= 10
