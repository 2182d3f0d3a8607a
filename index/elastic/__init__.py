"""The scale-out store: mentions in Elasticsearch (``http(s)://host:9200``).

The same modules as `index.sqlite`, plus what a cluster needs:

- `store`: `ElasticStore`, which owns the mentions and holds the two parts below;
- `authors`, `clusters`: `ElasticAuthors` and `ElasticClusters`, the indexes enrich keeps beside
  the mentions, in indices of their own;
- `query`: the compiler from the query language and `Filters` to the query DSL;
- `client`: `ElasticIndices`, the connection the store and its parts share (names, errors, bulk
  writes, refreshes), and `connect`;
- `mapping`: the mentions' strict mapping and documents, and the field types of every index;
- `kibana`: the saved objects analysts start from, and their import.

Importing this package imports the Elasticsearch client; importing `index` does not.
"""

from index.elastic.store import ElasticStore

__all__ = ["ElasticStore"]
