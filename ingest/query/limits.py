"""How large a query may be: the bounds the parser enforces, so that every back end answers.

The parser (`ingest.query.parser`) refuses a query past any of these with a `QuerySyntaxError`
that points at the place, before any back end sees it. Within them, the in-memory matcher, the
SQLite FTS5 compiler and the Elasticsearch compiler all answer, and answer the same (held by
``tests/test_query_*`` and ``tests/test_hostile_query.py``). The figures behind each bound are
in the README ("The query language", "Limits").

- `MAX_LENGTH` characters: bounds the work of parsing and the size of what is sent to a store.
- `MAX_DEPTH` levels of operators inside one another, counted on the tree once redundant
  parentheses and double negations are gone (``a AND (b AND c)`` is one level, ``NOT NOT a``
  none). Elasticsearch refuses a query nested more than 30 queries deep
  (``indices.query.bool.max_nested_depth``), and the compiled query spends up to 4 of them around
  the operators (the filters, the ranking, a word looked up in the title or the text); SQLite's
  and FTS5's parsers overflow past about 40 levels of parentheses.
- `MAX_TERMS` words, phrases and fields, a NEAR counting one per pair of its alternatives
  (``(a OR b) NEAR/5 (c OR d)`` counts 4): Elasticsearch refuses a query with more clauses than
  its node allows (``indices.query.bool.max_clause_count``, computed from the heap and the search
  threads, at least 1,024), and each term costs at most two clauses.
"""

from __future__ import annotations

MAX_LENGTH = 20_000
MAX_DEPTH = 20
MAX_TERMS = 1_000
MAX_NEAR = 1_000
"""The largest distance in ``NEAR/n``."""

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "MAX_NEAR", "MAX_TERMS"]
