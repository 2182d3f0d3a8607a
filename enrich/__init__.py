"""Enrichment: a pure function from a batch of raw mentions to enriched ones (`enrich.stage`).

Language (`enrich.language`), brand matching and relevance (`enrich.brands`), sentiment
(`enrich.sentiment`, three interchangeable backends), entities (`enrich.entities`, spaCy),
author influence (`enrich.influence`) and near-duplicate clusters (`enrich.duplicates`). The
stage writes only the mention's `Enrichment`; the author and cluster indexes it keeps are the
store's (`ingest.store.AuthorIndex`, `ingest.store.ClusterIndex`), handed in by `veille`.
"""
