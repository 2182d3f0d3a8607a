"""The shared core of Veille: what every stage package relies on, and the only package they may
import (``veille -> {crawlers, enrich, index, alerts} -> ingest``).

- the record: `ingest.record` (`Mention`, its `Enrichment`, ids from canonical URLs);
- the bus: the `ingest.bus.Bus` protocol, the embedded log (`ingest.locallog`) and Kafka
  (`ingest.kafka`), topic names (`ingest.topics`) and dead letters and their replay
  (`ingest.deadletter`);
- the stage runner (`ingest.runner`): poll, process, publish, commit, retry and dead-letter;
- the store protocols that `index` implements and other stages are handed (`ingest.store`);
- the query language: parser, tree and in-memory matcher (`ingest.query`);
- the error tree (`ingest.errors`), the settings the spine owns (`ingest.settings`), and small
  shared tools: the clock, counters, SQLite files (`ingest.sqlite`), read-only access for the
  commands that only read (`ingest.access`), text folding, `Closing`.
"""
