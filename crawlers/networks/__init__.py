"""Social networks as sources: one module per platform behind one interface.

- `base`: the `Connector` interface, the `Batch` a poll returns (mentions, deletions, cursors,
  rate limit), and the errors that tell the runner how to wait;
- `poller`: the ``networks`` worker that polls each connector on its schedule and publishes to
  ``mentions.raw``; `state`: each connector's cursors, health and rate limit, in SQLite;
- `http`: JSON GETs with bearer tokens, rate-limit headers and error bodies read;
- `quota`: a budget counted over a day or a month (YouTube's units, X's posts read);
- `registry`: which module serves which ``type``; `settings`: what ``sources.networks`` says;
- `cursor`: a cursor by creation time, for listings that run newest first;
- one module per platform: `mastodon`, `bluesky`, `reddit`, `hackernews`, `youtube`, `x`.
"""
