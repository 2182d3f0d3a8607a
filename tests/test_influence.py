"""Author influence: who an author is, what they reach, the score, PageRank, the influencer
percentile, and counting each mention once however often it is delivered."""

from __future__ import annotations

import math
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from enrich.influence import InfluenceTracker, activity_of, author_key, pagerank, score
from enrich.settings import InfluenceSettings
from index.sqlite import SqliteStore
from ingest.record import Author, Engagement, Mention, Thread
from ingest.store import AuthorActivity, AuthorEdge, AuthorStats
from tests.support.mentions import T0, make_mention


def test_author_keys_are_scoped_to_their_site() -> None:
    by_name = make_mention(site="lesnouvelles.example", author="Rédaction")
    same_name_elsewhere = make_mention(site="actu-eco.example", author="Rédaction")
    by_handle = make_mention(site="x.com", author="Marc L.", handle="Marc_44")
    unsigned = make_mention(site="actu-eco.example", author=None)
    assert author_key(by_name) == "lesnouvelles.example/redaction"
    assert author_key(same_name_elsewhere) != author_key(by_name)
    assert author_key(by_handle) == "x.com/marc-44"
    assert author_key(unsigned) == "actu-eco.example"


def test_reach_is_followers_else_the_configured_audience() -> None:
    audiences = {"lesnouvelles.example": 250_000, "forum-feed": 8_000}
    follower = make_mention(site="x.com").model_copy(
        update={"author": Author(handle="jo", followers=1200)}
    )
    news = make_mention(site="lesnouvelles.example")
    forum = make_mention(site="forum.example", source="forum-feed")
    unknown = make_mention(site="blog.example")
    assert [activity_of(m, ("Acme",), audiences).reach for m in (follower, news, forum)] == [
        1200,
        250_000,
        8_000,
    ]
    assert activity_of(unknown, (), audiences).reach == 0
    comment = news.model_copy(update={"parent": news.id})
    reply = news.model_copy(update={"thread": Thread(id="t", position=2)})
    opener = news.model_copy(update={"thread": Thread(id="t", position=1)})
    assert [activity_of(m, (), audiences).reach for m in (comment, reply, opener)] == [
        0,
        0,
        250_000,
    ]


def test_activity_carries_engagement_thread_parent_and_mentions() -> None:
    mention = make_mention(
        "@Lumen_Telecom et @marc_44, merci ! cc @jo", site="x.com", handle="jo"
    ).model_copy(
        update={
            "engagement": Engagement(likes=10, shares=3, replies=2, views=900),
            "thread": Thread(id="t42", position=3),
            "parent": "abc",
        }
    )
    activity = activity_of(mention, ("Lumen",), {})
    assert activity.engagement == 15
    assert activity.thread == "x.com/t42"
    assert activity.position == 3
    assert activity.parent == "abc"
    assert activity.mentioned == ("x.com/lumen-telecom", "x.com/marc-44")  # not oneself


def test_pagerank_favours_the_author_others_answer() -> None:
    edges = [AuthorEdge(f"fan{i}", "star", 1) for i in range(5)] + [AuthorEdge("star", "fan0", 1)]
    ranks = pagerank(edges)
    assert sum(ranks.values()) == pytest.approx(1.0)
    assert max(ranks, key=lambda k: ranks[k]) == "star"
    assert ranks["fan0"] > ranks["fan1"] == pytest.approx(ranks["fan4"])
    assert pagerank([]) == {}


def test_the_score_formula() -> None:
    stats = AuthorStats(
        key="k",
        name=None,
        handle=None,
        url=None,
        mentions=9,
        reach=99_999,
        engagement=999,
        sites=("a",),
        first_seen=T0,
        last_seen=T0,
    )
    settings = InfluenceSettings()
    assert score(stats, 0.0, 0, settings) == pytest.approx(5 + 3 + 0.5)
    # PageRank four times the average among 50 authors adds log10(4).
    assert score(stats, 4 / 50, 50, settings) == pytest.approx(8.5 + math.log10(4))
    assert score(stats, 0.5 / 50, 50, settings) == pytest.approx(8.5)  # below average adds 0


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def tracker(tmp_path: Path, ticks: Ticks, **settings: object) -> InfluenceTracker:
    store = SqliteStore(tmp_path / "store.db")
    store.setup()
    return InfluenceTracker(store, InfluenceSettings.model_validate(settings), monotonic=ticks)


def post(author: str, n: int, *, followers: int = 0, **update: object) -> Mention:
    mention = make_mention(f"post {n}", url=f"https://forum.example/p/{author}/{n}")
    return mention.model_copy(
        update={
            "site": "forum.example",
            "author": Author(name=author, followers=followers),
            "published": T0 + timedelta(minutes=n),
            **update,
        }
    )


def test_a_redelivered_mention_counts_once(tmp_path: Path) -> None:
    influence = tracker(tmp_path, Ticks())
    first = post("Jo", 1, followers=500)
    influence.update([(first, ("Acme",))])
    influence.update([(first, ("Acme",)), (post("Jo", 2), ("Acme",))])
    influence.update([(first, ("Acme",))])
    [jo] = influence.store.authors(["forum.example/jo"])
    assert (jo.mentions, jo.reach) == (2, 500)
    assert jo.score == pytest.approx(math.log10(501) + 0.5 * math.log10(3))


def test_the_top_percentile_are_influencers(tmp_path: Path) -> None:
    influence = tracker(tmp_path, Ticks(), percentile=80)
    batch = [(post(f"a{i}", i, followers=10**i), ("Acme",)) for i in range(5)]
    result = influence.update(batch)
    flags = [result[m.id].is_influencer for m, _ in batch]
    assert flags == [False, False, False, True, True]
    assert result[batch[4][0].id].author_key == "forum.example/a4"
    assert result[batch[4][0].id].score > result[batch[3][0].id].score


def test_pagerank_is_recomputed_when_replies_arrive_and_it_is_due(tmp_path: Path) -> None:
    ticks = Ticks()
    influence = tracker(tmp_path, ticks, pagerank_every="5m")
    opener = post("Op", 1, thread=Thread(id="t1", position=1))
    influence.update([(opener, ("Acme",))])
    replies = [post(f"r{i}", 10 + i, thread=Thread(id="t1", position=2 + i)) for i in range(4)]
    ticks.now = 10.0  # not due yet: the first batch ranked the (then empty) graph
    influence.update([(m, ("Acme",)) for m in replies])
    [op] = influence.store.authors(["forum.example/op"])
    assert op.pagerank == 0.0
    ticks.now = 400.0
    result = influence.update([(post("Late", 30), ("Acme",))])
    [op] = influence.store.authors(["forum.example/op"])
    assert op.pagerank > 0.5
    assert op.score > 0
    late = result[next(iter(result))]
    assert late.is_influencer is False


def test_a_sqlite_store_from_before_author_sites_counts_them_from_its_activity(
    tmp_path: Path,
) -> None:
    """A store written before ``author_sites`` existed: the migration counts each author's
    sites from the activity it holds, so the next mention adds to the right counts."""
    path = tmp_path / "store.db"

    def activity(mention_id: str, site: str) -> AuthorActivity:
        return AuthorActivity(mention_id, "forum.fr/jo", site=site, published=T0)

    store = SqliteStore(path)
    store.setup()
    store.record_authors([activity("m1", "www.fr"), activity("m2", "www.fr")])
    store.record_authors([activity("m3", "forum.fr")])
    store.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TABLE author_sites")
    conn.execute("PRAGMA user_version = 1")  # the fingerprint of another schema
    conn.close()

    store = SqliteStore(path)
    store.setup()
    [jo] = store.record_authors([activity("m4", "forum.fr"), activity("m5", "forum.fr")])
    assert (jo.mentions, jo.sites) == (5, ("forum.fr", "www.fr"))
    store.close()
