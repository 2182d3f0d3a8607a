"""Benchmark: the Scrapy spiders crawling a local web, pages per second and peak memory.

Workload (defaults; every number is a flag): a phpBB 3.3 forum of 4 boards x 40 threads x 25
posts (10 posts a page: 160 threads, 480 thread pages, 4,000 posts) and a WordPress-style French
blog of 150 articles with 6 comments each (1,050 mentions), rendered by `veille.demo.forums` and
`veille.demo.blogs` and served by `veille.demo.web.Web` in a separate process (so the crawler's
memory is measured alone), through its proxy, on 127.0.0.1. No delay between requests (the
demo's settings), AutoThrottle off, 16 requests at once, 8 per site; mentions go to a local bus
in a temporary directory.

It measures, in this one process run:

1. baseline: the same forum and blog pages fetched one after another with the feed poller's
   plain HTTP client (`crawlers.fetch.Fetcher`, httpx), no parsing: what the network side costs;
2. the first crawl of both sites: pages/s, mentions/s, wall time;
3. a second crawl with nothing new (the incremental case): pages fetched and wall time;

and prints the peak RSS of this process (the crawler; the web server runs in another one).

    .venv/bin/python bench/crawl.py [--boards 4] [--threads 40] [--posts 25] [--articles 150]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

from crawlers.crawl.progress import CrawlState
from crawlers.crawl.runner import CrawlRunner
from crawlers.fetch import Fetcher
from crawlers.settings import BlogSite, CrawlSettings, ForumSite, HttpSettings
from ingest.locallog import LocalLogBus
from veille.demo.blogs import Article, Blog, Comment, blog_routes
from veille.demo.forums import Board, Forum, ForumPost, Thread, phpbb_routes
from veille.demo.web import Routes, Web

FORUM_HOST = "forum.bench.example"
BLOG_HOST = "blog.bench.example"
TEXT = (
    "La box Lumen redémarre toute seule depuis la mise à jour, le support dit d'attendre. "
    "Velora a changé ma batterie sous garantie en une semaine, rien à redire."
)


def workload(boards: int, threads: int, posts: int, articles: int) -> Routes:
    start = datetime.now(UTC) - timedelta(days=30)
    post_id = 100_000
    forum_boards = []
    for b in range(boards):
        board_threads = []
        for t in range(threads):
            thread_posts = []
            for p in range(posts):
                post_id += 1
                thread_posts.append(
                    ForumPost(
                        post_id,
                        f"membre_{p % 17}",
                        start + timedelta(minutes=post_id % 40_000),
                        f"{TEXT} ({b}.{t}.{p})",
                        quote=("membre_3", TEXT) if p % 7 == 3 else None,
                        signature="Ma signature" if p % 5 == 0 else None,
                    )
                )
            board_threads.append(
                Thread(1000 * b + t + 1, f"sujet-{b}-{t}", f"Sujet {b}.{t}", thread_posts)
            )
        forum_boards.append(Board(b + 1, f"forum-{b}", f"Forum {b}", threads=board_threads))
    forum = Forum(FORUM_HOST, "Forum de test", boards=forum_boards, threads_per_page=25)
    blog = Blog(
        BLOG_HOST,
        "Blog de test",
        articles=[
            Article(
                f"article-{a}",
                f"Article {a} sur Velora",
                "Claire Martin",
                start + timedelta(hours=a),
                (TEXT + "\n") * 6,
                [
                    Comment(
                        10 * a + c, f"lecteur_{c}", start + timedelta(hours=a, minutes=c + 1), TEXT
                    )
                    for c in range(6)
                ],
            )
            for a in range(articles)
        ],
        per_page=10,
    )
    return {**phpbb_routes(forum), **blog_routes(blog)}


def serve(routes: Routes, conn: Connection) -> None:
    with Web(routes) as web:
        conn.send(web.proxy)
        conn.recv()  # until told to stop


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", type=int, default=4)
    parser.add_argument("--threads", type=int, default=40)
    parser.add_argument("--posts", type=int, default=25)
    parser.add_argument("--articles", type=int, default=150)
    args = parser.parse_args()

    routes = workload(args.boards, args.threads, args.posts, args.articles)
    pages = [f"http://{host}{path}" for host, path in routes if not path.endswith(".txt")]
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(routes, theirs), daemon=True)
    server.start()
    proxy = ours.recv()
    del routes
    print(
        f"workload: {args.boards} boards x {args.threads} threads x {args.posts} posts, "
        f"{args.articles} articles x 6 comments; {len(pages)} pages served"
    )
    http = HttpSettings(proxy=proxy, host_delay="0s", max_bytes=10 * 1024 * 1024)

    fetcher = Fetcher(http)
    started = time.perf_counter()
    fetched = sum(1 for url in pages if fetcher.get(url, accept="text/html").ok)
    baseline = time.perf_counter() - started
    fetcher.close()
    print(
        f"baseline  plain GETs, one at a time, no parsing: {fetched} pages in {baseline:.1f} s = "
        f"{fetched / baseline:.0f} pages/s"
    )

    with tempfile.TemporaryDirectory() as tmp:
        bus = LocalLogBus(Path(tmp) / "bus.db")
        bus.ensure_topics(["mentions.raw"])
        crawl = CrawlSettings(
            max_pages=100_000, max_pagination=1000, autothrottle=False, per_site_concurrency=8
        )
        sites = [
            ForumSite(name="forum", engine="phpbb", start_urls=[f"http://{FORUM_HOST}/index.php"]),
            BlogSite(name="blog", start_urls=[f"http://{BLOG_HOST}/"]),
        ]
        runner = CrawlRunner(
            sites,
            bus=bus,
            topic="mentions.raw",
            state=CrawlState(Path(tmp) / "crawl.db"),
            http=http,
            crawl=crawl,
        )
        for label in ("first crawl", "second crawl, nothing new"):
            started = time.perf_counter()
            outcomes = runner.crawl()
            took = time.perf_counter() - started
            crawled = sum(o.pages for o in outcomes)
            new = sum(o.new for o in outcomes)
            errors = sum(o.errors for o in outcomes)
            print(
                f"{label:27} {crawled:5} pages, {new:5} mentions, {errors} errors in {took:5.1f} s"
                f" = {crawled / took:6.1f} pages/s, {new / took:6.1f} mentions/s"
            )
        print(f"peak RSS of the crawling process: {peak_rss_mib():.0f} MiB")
        bus.close()
    ours.send("stop")
    server.join(timeout=10)


if __name__ == "__main__":
    main()
