"""The embedded store: mentions in one SQLite file, searched with FTS5 (``sqlite://path``).

`store` holds `SqliteStore`, which owns the mentions; `authors` and `clusters` the two indexes
enrich keeps beside them in the same file (`SqliteAuthors`, `SqliteClusters`, the store's parts);
`schema` every table and their migration; `query` the compiler from the query language and
`Filters` to SQL over FTS5.
"""

from index.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
