"""The store side of Veille: the `Store` implementations side by side, `index.sqlite` (SQLite
with FTS5) and `index.elastic` (Elasticsearch), each with its store, query compiler, author and
cluster indexes; what both share (`index.base`); the index stage that writes enriched mentions
(`index.stage`); and the store's settings (`index.settings`).

`veille.backends` picks the implementation a URL names and imports only that one, so importing
`index` never loads the Elasticsearch client."""
