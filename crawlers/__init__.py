"""Where mentions come from: the outside world turned into `ingest.Mention`s on ``mentions.raw``.

- `feeds`: RSS, Atom and JSON Feed pollers (feedparser), Google News and Google Alerts feeds;
- `crawl`: the Scrapy machinery (runner, reactor, settings, middlewares, pipelines, progress)
  and its spiders, for blogs and forums;
- `extract`: what a page says (articles, comments, forum threads and listings, dates),
  read the same by the spiders and by ``veille extract``;
- `items`: what a page shows (`items.Found`) and the mention it becomes, with the ids that a
  feed entry and a crawled page of one post share;
- `fetch` (polite HTTP GETs with httpx), `robots` (the one robots.txt policy), `statefile`
  (the SQLite memory the poller and the spiders share), `settings` (what ``sources`` says).

Importing this package, or `crawlers.feeds`, loads neither Scrapy nor Twisted: only
`crawlers.crawl`'s modules do.
"""
