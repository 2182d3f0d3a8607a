"""How large a query may be: the bounds the parser enforces, so that every back end answers.

The parser (`ingest.query.parser`) refuses a query past any of these with a `QuerySyntaxError`
that points at the place, before any back end sees it. Within them, the in-memory matcher, the
SQLite FTS5 compiler and the Elasticsearch compiler all answer, and answer the same (held by
``tests/test_query_*`` and ``tests/test_hostile_query.py``). The figures behind each bound are
in the README ("The query language", "Limits").

- `MAX_LENGTH` characters: bounds the work of parsing and the size of what is sent to a store.
- `MAX_DEPTH` levels of operators inside one another, counted on the tree once redundant
  parentheses and double negations are gone (``a AND (b AND c)`` is one level, ``NOT NOT a``
  none). Measured with the limits lifted (``bench/query_limits.py --lifted``), the tightest back
  end answers 26: Elasticsearch, which refuses a query nested more than 30 queries deep
  (``indices.query.bool.max_nested_depth``), the filters, the relevance order and a word's two
  fields taking 4 of them; SQLite's parser overflows past 28 and FTS5's past 32. 20 leaves room
  for the wrappers other reads add (an aggregation's extra filter).
- `MAX_TERMS` words, phrases and fields, a NEAR counting one per pair of its alternatives
  (``(a OR b) NEAR/5 (c OR d)`` counts 4): Elasticsearch refuses a query with more clauses than
  its node allows (``indices.query.bool.max_clause_count``: 64 × heap in MB ÷ search threads, at
  least 1,024). Each term costs at most two and the relevance order at most 256, so the largest
  query needs about 2,300: a node with 512 MB of heap and up to 8 CPUs allows it.
- `MAX_NEAR`: the largest distance in ``NEAR/n``.
"""

from __future__ import annotations

MAX_LENGTH = 20_000
MAX_DEPTH = 20
MAX_TERMS = 1_000
MAX_NEAR = 1_000

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "MAX_NEAR", "MAX_TERMS"]
