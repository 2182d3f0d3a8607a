"""Veille's exceptions: one root, and failures typed by what the caller should do.

Every exception Veille raises on purpose, wherever it is defined (a stage package defines its own
on this root, since it may import only `ingest`):

    VeilleError                  root: catch this to catch anything Veille raises on purpose.
    │                            Raised as itself when a server refuses a request for good:
    │                            Elasticsearch answers 4xx to a set-up or admin call
    │                            (`index.elastic.client`), Kibana refuses or cannot be reached
    │                            (`index.elastic.kibana`)
    ├── ConfigError              the configuration is invalid: a bad key or value, an unknown
    │                            backend URL, a missing secret file; the program stops at start-up
    │                            with the file, line and key
    ├── QuerySyntaxError         a boolean query is malformed, or past the limits of
    │   │                        `ingest.query.limits` (`ingest.query.parse`); carries the
    │   │                        position and draws a caret under it
    │   └── QueryRefused         a store refused a query that parsed, as too large for it: an
    │                            Elasticsearch node below the clause or nesting limits the README
    │                            states (`index.elastic.client`)
    ├── DeliveryError            an alert channel did not take a notification
    │                            (`alerts.channels.base`); ``retryable`` says whether to try
    │                            again, ``maybe_delivered`` that it may have arrived (a timeout)
    ├── TransientError           a passing failure: retry with backoff, never drop the record
    │   ├── BusUnavailable       the bus (local log or Kafka) did not acknowledge in time
    │   ├── StoreUnavailable     the store (SQLite or Elasticsearch) is down, busy or throttling
    │   └── AlertsUnavailable    the alerts state file is locked or cannot be written for now
    │                            (`alerts.db`)
    ├── Broken                   what a stage depends on fails for every record and retrying
    │   │                        will not help; no record is at fault, so nothing is
    │   │                        dead-lettered: the worker stops, committing nothing, and the
    │   │                        message names the file and what to do. Raised as itself for a
    │   │                        damaged or foreign SQLite state file (`ingest.sqlite`), and by
    │   │                        the runner for a fault of the machine that escaped a stage
    │   ├── BusBroken            the local log's file is damaged or is not Veille's
    │   │                        (`ingest.locallog`)
    │   └── StoreBroken          the store is damaged or is not Veille's: a corrupt or foreign
    │                            SQLite file (`index.sqlite`), an Elasticsearch index whose
    │                            mapping is not this version's (`index.elastic`)
    └── PermanentError           retrying will not help: dead-letter the record with the reason
        ├── InvalidRecord        a payload that does not decode to a valid `Mention`
        │                        (`ingest.record.Mention.from_json`), naming the fields at fault
        ├── StoreRefused         the store refused one record for good, a value it cannot index
        │                        (`index.elastic`: Elasticsearch's document parsing errors)
        └── NotAFeed             a fetched document is not RSS, Atom or JSON Feed, e.g. an HTML
                                 page (`crawlers.feeds.parse`)

Exceptions that are not Veille's stay inside it: settings validators raise `ValueError`, which
`veille.settings` turns into `ConfigError`; a pydantic `ValidationError` from a payload becomes
`InvalidRecord`; `ingest.runner.Stopped` only unwinds the runner when it is asked to stop while
waiting to retry.

The stage runner (`ingest.runner`) is the one place that turns these types into actions: a
`TransientError` is retried with a counted attempt, a `PermanentError` sends the record to
`mentions.dead`. Any other `VeilleError` (`Broken`, `ConfigError`...) is about the stage, not a
record: the runner stops without committing, and the batch is processed again at the next start.
The runner decides by the error, never by how many records fail: a store that breaks fails every
record alone too. Exceptions that are not Veille's are faults of the machine when they are
`OSError`, `MemoryError` or a `sqlite3.DatabaseError` other than a constraint or a value (the
runner stops on them as `Broken`); any other is treated as a bug in the handling of one record:
the runner isolates that record and dead-letters it, so its neighbours still go through.
The command line (`veille.cli`) turns them into one line and an exit code: 2 for `ConfigError`
and `QuerySyntaxError`, 1 for any other `VeilleError`.
"""

from __future__ import annotations


class VeilleError(Exception):
    """Root of every exception that Veille raises on purpose."""


class ConfigError(VeilleError):
    """Raised at start-up when the configuration is invalid.

    The message names the file, the key and what was expected, so the user can fix it at once.
    """


class QuerySyntaxError(VeilleError):
    """Raised by the query parser for a malformed query.

    ``position`` is the 0-based character offset of the problem in ``query``; ``str()`` draws a
    caret under it, below the query on one line, or below the part around the position when the
    query is longer than `SHOWN` characters.
    """

    SHOWN = 100

    def __init__(self, message: str, query: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.query = query
        self.position = max(0, min(position, len(query)))

    def __str__(self) -> str:
        start = 0
        if len(self.query) > self.SHOWN:
            start = max(0, min(self.position - self.SHOWN // 2, len(self.query) - self.SHOWN))
        shown = self.query[start : start + self.SHOWN]
        # One character for one, so the caret stays under its place: a query from YAML may hold
        # line breaks or tabs.
        shown = "".join(c if c.isprintable() else " " for c in shown)
        before = "…" if start else ""
        after = "…" if start + self.SHOWN < len(self.query) else ""
        caret = " " * (len(before) + self.position - start) + "^"
        return f"{self.message} at position {self.position}\n  {before}{shown}{after}\n  {caret}"


class QueryRefused(QuerySyntaxError):
    """Raised when a store refuses a query that parsed, as too large for it (no position: the
    store does not say where)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "", 0)

    def __str__(self) -> str:
        return self.message


class TransientError(VeilleError):
    """Raised for a failure that may pass: a server down, a timeout, throttling (429, 503).

    The runner retries the batch with backoff and does not commit until it succeeds.
    """


class BusUnavailable(TransientError):
    """Raised when the bus does not accept or acknowledge records in time."""


class StoreUnavailable(TransientError):
    """Raised when the store cannot be reached or refuses writes for now."""


class Broken(VeilleError):
    """Raised when a file or a cluster a stage needs is damaged or not Veille's, or the machine
    fails, so that every record would fail: the worker stops without committing or
    dead-lettering anything. The message names what is broken and what to do."""


class BusBroken(Broken):
    """Raised when the local log's file is damaged or is another program's."""


class StoreBroken(Broken):
    """Raised when the store is damaged or is not Veille's (a corrupt or foreign SQLite file, an
    Elasticsearch index whose mapping is not this version's)."""


class PermanentError(VeilleError):
    """Raised for a failure that retrying will not fix; the record is dead-lettered."""


class InvalidRecord(PermanentError):
    """Raised when a payload on a topic is not a valid `Mention` (bad JSON, missing fields)."""


class StoreRefused(PermanentError):
    """Raised when the store refuses one record for good (a value it cannot index): the record is
    dead-lettered with the store's reason."""
