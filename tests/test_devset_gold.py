"""The development and held-out sets' gold files agree with the pages and feeds they describe.

Every gold file under tests/devset/pages and tests/devset/holdout must name a page that
exists, and each of its items must hold words that really appear on that page (a gold text
that is not on the page would score every extractor wrong), while its `absent` snippets
(quotes, signatures) are on the page but not in the item's text. Feed gold files must parse
and name an existing feed."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from parsel import Selector

DEVSET = Path(__file__).resolve().parent / "devset"
PAGE_GOLDS = sorted((DEVSET / "pages").glob("*.gold.json")) + sorted(
    (DEVSET / "holdout").glob("*.gold.json")
)
FEED_GOLDS = sorted((DEVSET / "feeds").glob("*.gold.json"))


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()


_HIDDEN = "ancestor::script or ancestor::style or ancestor::template"


def _visible_text(path: Path) -> str:
    """The page's body text as a browser renders it, whitespace squashed."""
    page = Selector(text=path.read_text(encoding="utf-8"))
    return _squash("".join(page.xpath(f"//body//text()[not({_HIDDEN})]").getall()))


def _load(path: Path) -> dict[str, Any]:
    gold: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return gold


@pytest.mark.parametrize("gold_path", PAGE_GOLDS, ids=lambda p: p.name)
def test_page_gold_matches_its_page(gold_path: Path) -> None:
    gold = _load(gold_path)
    page = gold_path.parent / gold["page"]
    assert page.is_file(), f"{gold['page']} is missing"
    assert gold["family"] in {"forum", "qa", "social", "blog", "news"}
    assert gold["expect"] in {"thread", "article"}
    datetime.fromisoformat(gold["now"])
    assert gold["items"], "a gold page lists at least one item"
    visible = _visible_text(page)
    for number, item in enumerate(gold["items"], 1):
        where = f"{gold['page']} item {number}"
        assert item["url"].startswith(("http://", "https://")), where
        assert item["author"], where
        assert item["author"] == item["author"].strip(), where
        if item["published"] is not None:
            assert datetime.fromisoformat(item["published"]).utcoffset() is not None, where
        text = _squash(item["text"])
        for paragraph in item["text"].split("\n\n"):
            assert _squash(paragraph) in visible, f"{where}: {paragraph[:50]!r} is not on the page"
        for snippet in item["absent"]:
            assert _squash(snippet) in visible, f"{where}: absent {snippet!r} is not on the page"
            assert _squash(snippet) not in text, f"{where}: absent {snippet!r} is in the text"


@pytest.mark.parametrize("gold_path", FEED_GOLDS, ids=lambda p: p.name)
def test_feed_gold_names_its_feed(gold_path: Path) -> None:
    gold = _load(gold_path)
    assert (gold_path.parent / gold["feed"]).is_file(), f"{gold['feed']} is missing"
    assert isinstance(gold["entries"], list)
    assert gold["entries"], f"{gold['feed']} has no gold entries"
