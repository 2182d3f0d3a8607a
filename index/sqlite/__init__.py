"""The embedded store: mentions in one SQLite file, searched with FTS5 (``sqlite://path``).

`store` holds `SqliteStore`; `query` compiles the query language to SQL over FTS5.
"""

from index.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
