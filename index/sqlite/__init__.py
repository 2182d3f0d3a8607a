"""The embedded store: mentions in one SQLite file, searched with FTS5 (``sqlite://path``).

- `store`: `SqliteStore`, which owns the mentions and holds the two parts below;
- `authors`, `clusters`: `SqliteAuthors` and `SqliteClusters`, the indexes enrich keeps beside
  the mentions, in the same file;
- `query`: the compiler from the query language and `Filters` to SQL over FTS5;
- `schema`: every table, the schema version and the migration.
"""

from index.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
