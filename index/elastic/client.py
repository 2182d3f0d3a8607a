"""The connection every part of the Elasticsearch store shares: `ElasticIndices`.

`ElasticIndices` owns the client, the names of the indices under the configured prefix
(``<prefix>-<name>``), the client's errors turned into Veille's, bulk writes with their retries,
and the bookkeeping of refreshes. `index.elastic.store.ElasticStore` (the mentions) and its two
parts, `index.elastic.authors.ElasticAuthors` and `index.elastic.clusters.ElasticClusters`, are
each built over the same `ElasticIndices`. Each part's indices have a strict mapping and are
created by `ElasticIndices.ensure_index` at set-up, idempotently; a mapping that gained fields is
applied to an existing index in place.

Refreshes: reads by id (``get``, ``mget``) see every acknowledged write at once; searches and
aggregations see them after a refresh. A client refreshes an index before its first search after
writing to it (`ElasticIndices.wrote`, `ElasticIndices.fresh`), so it always reads its own
writes; other processes see them after the refresh interval (1 s by default).

Errors, by what the caller should do (`ElasticIndices.call`, `item_outcome`): a cluster out of
reach or refusing for now (5xx, 429, a cluster or index block, a closed or missing index, shards
unavailable) raises `StoreUnavailable`, and workers wait and retry; an index whose mapping is not
this version's raises `StoreBroken`; only a document Elasticsearch cannot parse or index
(`RECORD_ERRORS`) is about that one record, and is refused (`Rejected`, `StoreRefused`) for the
index stage to dead-letter. An error of another type is taken as the cluster's, never the
record's: the worker waits rather than dead-letter every record.

This is the module that imports the Elasticsearch client: the other modules of the package take
its names from here, where a missing client is a clear error.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from index.base import chunks
from index.settings import ElasticSettings
from ingest.errors import (
    ConfigError,
    QueryRefused,
    StoreBroken,
    StoreRefused,
    StoreUnavailable,
    VeilleError,
)

_UNUSED = frozenset({"aiohttp", "httpx", "requests", "pyarrow", "pandas"})
"""What the client tries to import for what Veille does not use: the async client's and the
other transports' HTTP libraries, the Arrow serializer (which loads numpy). They take more time
to import than the client itself (about 0.3 s of 0.5 s), paid by every command that reads the
store."""


class _Absent(MetaPathFinder):
    """Says that `_UNUSED`'s libraries are not installed, to the thread that imports the client
    only: others (the feed poller's aiohttp, in ``veille run``) import them as usual."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if threading.get_ident() == self.thread and fullname.partition(".")[0] in _UNUSED:
            raise ModuleNotFoundError(f"No module named '{fullname}'", name=fullname)
        return None


@contextmanager
def _without_unused() -> Iterator[None]:
    finder = _Absent()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


try:
    with _without_unused():
        from elasticsearch import (
            ApiError,
            BadRequestError,
            ConflictError,
            Elasticsearch,
            NotFoundError,
            SerializationError,
            TransportError,
            helpers,
        )
        from elasticsearch.serializer import OrjsonSerializer
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ConfigError(
        "the http(s):// store needs the elasticsearch client: reinstall Veille (scripts/bootstrap)"
    ) from exc

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_WINDOW = 10_000
"""How deep ``from + size`` may page (``index.max_result_window``)."""
RETRY_STATUS = (429, 502, 503, 504)
KEEP_ALIVE = "2m"
"""How long a point in time waits for the next page: it expires by itself this long after a
reader stops without closing it (a killed process)."""
_TOO_LARGE = ("too_many_nested_clauses", "too_many_clauses")
_LIMITS = ("max_nested_depth", "max_clause_count", "maxClauseCount", "max_terms_count")

RECORD_ERRORS = frozenset(
    {
        "mapper_parsing_exception",
        "document_parsing_exception",
        "illegal_argument_exception",
        "x_content_parse_exception",
    }
)
"""The error types of a bulk item that are about that document (a value it cannot parse or
index, a term too long): the one record is refused, the others are written."""
MAPPING_ERRORS = frozenset({"strict_dynamic_mapping_exception"})
"""Error types that say the index's mapping is not this version's: every document would fail."""
CLUSTER_REFUSALS = frozenset({"index_closed_exception", "cluster_block_exception"})
"""Error types Elasticsearch answers with 400 though they are about the cluster, not the
request: retried like a 5xx."""

Outcome = Literal["conflict", "record", "mapping", "cluster"]


class ElasticIndices:
    """The client and the plumbing every part of the store uses. Thread-safe."""

    def __init__(
        self,
        client: Elasticsearch,
        settings: ElasticSettings | None = None,
        *,
        display: str = "Elasticsearch",
        chunk_size: int = 500,
        bulk_retries: int = 5,
        initial_backoff: float = 0.5,
    ) -> None:
        self.client = client
        self.settings = settings or ElasticSettings()
        self.display = display
        self.chunk_size = chunk_size
        self.bulk_retries = bulk_retries
        self.initial_backoff = initial_backoff
        self._dirty: set[str] = set()
        self.points_in_time = True
        """Whether scans open points in time: until the cluster is found to have none."""

    def named(self, name: str) -> str:
        """The name of this prefix's index ``name``."""
        return f"{self.settings.index_prefix}-{name}"

    @property
    def alias(self) -> str:
        """The alias every read and write of mentions goes through."""
        return self.named("mentions")

    @property
    def deleted_index(self) -> str:
        """The tombstones: one document per mention deleted on its platform, by mention id."""
        return self.named("deleted")

    def tombstoned(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` deleted on their platform (real time, as `mget`)."""
        return set(self.mget(self.deleted_index, ids, [])) if ids else set()

    def delete_ids(self, what: str, index: str, ids: Iterable[str]) -> int:
        """Delete these documents of ``index`` (those missing already are fine); how many
        were there."""
        ids = list(dict.fromkeys(ids))
        missing = self.bulk(
            what, index, ({"_op_type": "delete", "_index": index, "_id": i} for i in ids)
        )
        return len(ids) - missing.count(404)

    # -- errors --------------------------------------------------------------------------------

    def call(self, what: str, action: Callable[[], T]) -> T:
        """Run a client call; a cluster out of reach or refusing becomes `StoreUnavailable`, a
        request it refuses for good (400) a `VeilleError`."""
        try:
            return action()
        except BadRequestError as exc:
            too_large = query_too_large(exc)
            if too_large:
                raise QueryRefused(
                    f"{self.display} cannot run a query this large ({too_large}): shorten it, or "
                    f'see the README, "The query language", for what a node needs'
                ) from exc
            if error_type(exc) not in CLUSTER_REFUSALS:
                raise VeilleError(f"{self.display} refused to {what}: {reason(exc)}") from exc
            raise StoreUnavailable(
                f"{self.display}: could not {what} ({reason(exc)}){hint(error_type(exc))}"
            ) from exc
        except ApiError as exc:
            raise StoreUnavailable(
                f"{self.display}: could not {what} (HTTP {exc.meta.status}: {reason(exc)})"
                f"{hint(error_type(exc))}"
            ) from exc
        except SerializationError as exc:
            # Not the cluster's doing: the request could not be written, and would not be later.
            raise VeilleError(f"{self.display}: could not {what}: {exc}") from exc
        except TransportError as exc:
            raise StoreUnavailable(
                f"{self.display} is out of reach: could not {what} ({type(exc).__name__})"
            ) from exc

    def search(self, what: str, **options: Any) -> dict[str, Any]:
        """A search (``options`` as the client takes them), its errors turned into Veille's."""
        return dict(self.call(what, lambda: self.client.search(**options)).body)

    def pages(
        self, what: str, index: str, *, point_in_time: bool = False, **options: Any
    ) -> Generator[list[dict[str, Any]], None, None]:
        """Every hit of a sorted search of ``index`` (``options`` with ``sort`` and ``size``, as
        the client takes them; a ``filter_path`` names what the caller reads of each hit), a
        page at a time, with ``search_after``: no depth limit, unlike ``from``, and each page
        costs the same however deep it is.

        With ``point_in_time``, the pages read one view of the index, opened at the first page
        (`open_view`): writes made meanwhile neither move a hit to another page nor show it
        twice. The view is closed when the pages end, or when the caller stops early (the
        generator is closed or collected); left open, it would hold the index's segments until
        it expires. A cluster without points in time is read with plain ``search_after``."""
        view = self.open_view(index) if point_in_time else None
        if view is not None:
            options["pit"] = view
        else:
            options["index"] = index
        if "filter_path" in options:  # what the caller reads, and what the next page needs
            options["filter_path"] = [*options["filter_path"], "hits.hits.sort", "pit_id"]
        try:
            while True:
                answer = self.search(what, **options)
                hits: list[dict[str, Any]] = answer.get("hits", {}).get("hits", [])
                if view is not None:  # the id may change from one page to the next
                    view["id"] = answer.get("pit_id", view["id"])
                if hits:
                    yield hits
                if len(hits) < options["size"]:
                    return
                options["search_after"] = hits[-1]["sort"]
        finally:
            if view is not None:
                self.close_view(view["id"])

    def open_view(self, index: str) -> dict[str, Any] | None:
        """A point in time on ``index`` (as a search's ``pit`` takes it), or None where the
        cluster opens none: a distribution or version without the endpoint, a user not allowed
        to call it. That is found once, at the first try, and remembered."""

        def open_it() -> dict[str, Any] | None:
            try:
                opened = self.client.open_point_in_time(index=index, keep_alive=KEEP_ALIVE)
            except ApiError as exc:
                if not lacks_point_in_time(exc):
                    raise
                log.info(
                    "%s opens no points in time (%s): scans read with plain search_after, and "
                    "may miss or repeat a mention written while they read",
                    self.display,
                    reason(exc),
                )
                self.points_in_time = False
                return None
            return {"id": str(opened["id"]), "keep_alive": KEEP_ALIVE}

        if not self.points_in_time:
            return None
        return self.call(f"open a point in time on {index}", open_it)

    def close_view(self, pit: str) -> None:
        """Close a point in time; one that cannot be closed now expires by itself."""
        try:
            self.client.close_point_in_time(id=pit)
        except (ApiError, TransportError) as exc:
            log.debug("%s: a point in time left to expire (%s)", self.display, exc)

    # -- refreshes -----------------------------------------------------------------------------

    def wrote(self, index: str) -> None:
        """Note a write to ``index``: this client's next search of it refreshes it first."""
        self._dirty.add(index)

    def fresh(self, index: str) -> None:
        """Refresh ``index`` if this client wrote to it since its last refresh."""
        if index in self._dirty:
            # Cleared before the refresh, so a write acknowledged meanwhile marks it again.
            self._dirty.discard(index)
            try:
                self.call("refresh", lambda: self.client.indices.refresh(index=index))
            except Exception:
                self._dirty.add(index)
                raise

    # -- indices -------------------------------------------------------------------------------

    def ensure_index(self, index: str, mapping: dict[str, Any]) -> None:
        """Create ``index`` with ``mapping``, or add the fields it lacks (idempotent)."""
        settings = {
            "number_of_shards": self.settings.shards,
            "number_of_replicas": self.settings.replicas,
        }

        def ensure() -> None:
            try:
                self.client.indices.create(index=index, mappings=mapping, settings=settings)
                log.info("%s: created %s", self.display, index)
            except BadRequestError as exc:
                if "resource_already_exists" not in str(exc.error):
                    raise
                self.client.indices.put_mapping(index=index, **mapping)

        self.call(f"set up {index}", ensure)

    def delete_indices(self, indices: Iterable[str]) -> None:
        for index in indices:
            self.client.options(ignore_status=404).indices.delete(index=index)

    # -- reads and writes by id ----------------------------------------------------------------

    def mget(
        self, index: str, ids: Sequence[str], fields: Sequence[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """The documents of ``index`` with these ids that exist, by id (real time: no refresh
        needed), with their ``_seq_no`` and ``_primary_term``."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in chunks(list(dict.fromkeys(ids)), 1000):
            found.update(
                (d["_id"], d) for d in self._mget(index, chunk, fields)["docs"] if d.get("found")
            )
        return found

    def _mget(self, index: str, ids: Sequence[str], fields: Sequence[str] | None) -> dict[str, Any]:
        options: dict[str, Any] = {"index": index, "ids": list(ids)}
        if fields is not None:
            options["source_includes"] = list(fields)
        return dict(self.call(f"read {index}", lambda: self.client.mget(**options)).body)

    def bulk(self, what: str, index: str, actions: Iterable[dict[str, Any]]) -> list[int]:
        """Write ``actions`` (429 and 5xx retried with backoff) and return the status of each
        action that failed otherwise, for the caller to judge (409: a create that found the
        document, or a version conflict; 404: an update of a missing document). A cluster out
        of reach raises `StoreUnavailable`."""
        failed: list[int] = []
        transient: list[str] = []
        mapping: list[str] = []

        def write() -> None:
            for ok, item in helpers.streaming_bulk(
                self.client,
                actions,
                # Small documents: many to a request (at most 10 MB), few round trips.
                chunk_size=max(self.chunk_size, 5000),
                max_chunk_bytes=10 * 1024 * 1024,
                raise_on_error=False,
                max_retries=self.bulk_retries,
                initial_backoff=self.initial_backoff,
                max_backoff=30,
                retry_on_status=RETRY_STATUS,
            ):
                if ok:
                    continue
                result = next(iter(item.values()))
                status = int(result.get("status", 0))
                outcome = item_outcome(result)
                if outcome == "conflict" or _missing_document(result):
                    failed.append(status)
                elif outcome == "record":
                    raise StoreRefused(f"{self.display} refused to {what}: {item_reason(result)}")
                elif outcome == "mapping":
                    mapping.append(item_reason(result))
                else:
                    transient.append(f"HTTP {status}: {item_reason(result)}")

        self.call(what, write)
        self.wrote(index)
        if mapping:
            raise mapping_broken(self.display, index, mapping[0])
        if transient:
            raise StoreUnavailable(f"{self.display}: could not {what} ({transient[0]})")
        return failed


def connect(url: str, settings: ElasticSettings) -> Elasticsearch:
    """A client for ``url`` with the settings' credentials and certificates."""
    options: dict[str, Any] = {
        "serializer": OrjsonSerializer(),  # bulk bodies are mostly JSON encoding: a C encoder
        "request_timeout": settings.request_timeout.total_seconds(),
        "max_retries": 3,
        "retry_on_status": (502, 503, 504),
        "retry_on_timeout": True,
    }
    if settings.api_key is not None:
        options["api_key"] = settings.api_key.get_secret_value()
    elif settings.username is not None:
        if settings.password is None:
            raise ConfigError("store.elastic: a username needs a password")
        options["basic_auth"] = (settings.username, settings.password.get_secret_value())
    if url.startswith("https://"):
        options["verify_certs"] = settings.verify_certs
        if settings.ca_certs:
            options["ca_certs"] = settings.ca_certs
    try:
        return Elasticsearch(url, **options)
    except ValueError as exc:
        raise ConfigError(f"store URL {display_url(url)}: {exc}") from None


def display_url(url: str) -> str:
    """The URL without credentials, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def error_type(exc: ApiError) -> str:
    """The ``type`` of an Elasticsearch error answer ("" if it has none)."""
    info = exc.info if isinstance(exc.info, dict) else {}
    error = info.get("error", {})
    return str(error.get("type", "")) if isinstance(error, dict) else ""


def lacks_point_in_time(exc: ApiError) -> bool:
    """Whether opening a point in time failed for want of the feature (an endpoint the cluster
    lacks: 400 "no handler found", 404, 405, 501; or one this user may not call: 403), rather
    than for the index (missing, closed) or the cluster (busy, blocked)."""
    kind = error_type(exc)
    if exc.meta.status in (403, 405, 501):
        return True
    return exc.meta.status in (400, 404) and kind not in (
        "index_not_found_exception",
        *CLUSTER_REFUSALS,
    )


def hint(kind: str) -> str:
    """What to do about a cluster-wide refusal of this error type (with a leading "; ")."""
    hints = {
        "cluster_block_exception": "; the cluster or the index refuses writes (a disk over its "
        "flood-stage watermark, or a block someone set): free disk space or lift the block, "
        "and Veille goes on",
        "index_closed_exception": "; the index is closed: open it, and Veille goes on",
        "index_not_found_exception": "; the index or its alias is missing: run 'veille index "
        "setup'",
    }
    return hints.get(kind, "")


def item_outcome(result: dict[str, Any]) -> Outcome:
    """What a failed bulk item is about, by its error type: a ``conflict`` (409: a newer copy or
    a create that found the document), its ``record`` (the document cannot be indexed), the
    index's ``mapping`` (not this version's), or else the ``cluster`` (retry later)."""
    status = int(result.get("status", 0))
    error = result.get("error", {})
    kind = str(error.get("type", "")) if isinstance(error, dict) else ""
    if status == 409:
        return "conflict"
    if kind in MAPPING_ERRORS:
        return "mapping"
    if status == 400 and kind in RECORD_ERRORS:
        return "record"
    return "cluster"


def _missing_document(result: dict[str, Any]) -> bool:
    """An update or a delete of a document that does not exist (404): for the caller to
    judge."""
    error = result.get("error", {})
    if int(result.get("status", 0)) != 404:
        return False
    if result.get("result") == "not_found":  # a delete
        return True
    return isinstance(error, dict) and error.get("type") == "document_missing_exception"


def mapping_broken(display: str, index: str, reason: str) -> StoreBroken:
    return StoreBroken(
        f"{display}: the mapping of {index} is not this version of Veille's ({reason}): stop "
        f"the workers and run 'veille index setup' (or move to another index_prefix)"
    )


def reason(exc: ApiError) -> str:
    info = exc.info if isinstance(exc.info, dict) else {}
    error = info.get("error", {})
    if isinstance(error, dict):
        return str(error.get("reason") or error.get("type") or exc.message)
    return str(error or exc.message)


def query_too_large(exc: ApiError) -> str | None:
    """Why Elasticsearch refused a query as too large for the node (too many clauses, nested
    too deep, too many terms), from any of the error's causes (its chain, its root causes, each
    shard's failure); None for any other refusal."""
    found: str | None = None
    causes = [exc.info.get("error") if isinstance(exc.info, dict) else None]
    while causes:
        cause = causes.pop()
        if not isinstance(cause, dict):
            continue
        text = str(cause.get("reason") or "")
        if cause.get("type") in _TOO_LARGE or any(limit in text for limit in _LIMITS):
            found = text or str(cause.get("type"))
        causes.append(cause.get("caused_by"))
        causes += cause.get("root_cause") or []
        shards = cause.get("failed_shards") or []
        causes += [shard.get("reason") for shard in shards if isinstance(shard, dict)]
    return found


def item_reason(result: dict[str, Any]) -> str:
    error = result.get("error", {})
    if isinstance(error, dict):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            text += f" ({cause['reason']})"
        return text[:500]
    return str(error)[:500]


__all__ = [
    "MAX_WINDOW",
    "RECORD_ERRORS",
    "RETRY_STATUS",
    "BadRequestError",
    "ConflictError",
    "ElasticIndices",
    "Elasticsearch",
    "NotFoundError",
    "connect",
    "display_url",
    "helpers",
    "item_outcome",
    "item_reason",
    "mapping_broken",
]
