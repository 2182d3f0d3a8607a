"""The scale-out store: mentions in Elasticsearch (``http(s)://host:9200``).

`store` holds `ElasticStore`; `query` compiles the query language to the query DSL; `kibana`
the saved objects analysts start from. Importing this package imports the Elasticsearch client.
"""

from index.elastic.store import ElasticStore

__all__ = ["ElasticStore"]
