"""The crawl's manners, as Scrapy middlewares, one module per concern (as Scrapy's own
``downloadermiddlewares`` are), each built by ``from_crawler`` from the settings that
`crawlers.crawl.scrapy_settings` writes.

Downloader middlewares (between the engine and the network), in the order a request meets them:

- `robotstxt`: robots.txt, as RFC 9309 says (`crawlers.robots.robots_policy`), in place of
  Scrapy's ``RobotsTxtMiddleware``;
- `retry`: 429, 5xx and network errors retried after a wait that doubles, never sooner than
  ``Retry-After``, in place of Scrapy's ``RetryMiddleware``;
- `redirects`: a redirect back to a URL met on the way is refused and reported as a loop, not
  dropped as a duplicate in silence;
- `proxy`: every request, robots.txt included, through ``sources.http.proxy`` when one is set.

Spider middleware (between the spider and the scheduler):

- `urlpolicy`: each link a spider follows in its request form, checked against the trap rules,
  the site's patterns and the depth and pagination limits.
"""
