"""Kibana for the Elasticsearch store: the saved objects analysts start from, and their import.

`saved_objects` builds them for an index prefix: a data view on the mentions alias (time field
``published``), a saved search of the negative mentions, three visualizations (mentions over
time by sentiment, top sites, top authors) and a dashboard that shows them all. `validate`
checks them the way Kibana's import does: every ``type:id`` once, every reference resolvable
within the file, and every field that Kibana stores as a JSON string parseable, with the
references it names. `KibanaClient.import_objects` posts them as NDJSON to
``POST /api/saved_objects/_import`` (multipart field ``file``, header ``kbn-xsrf``), into a
space if one is configured.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import httpx

from index.elastic.client import display_url
from index.settings import KibanaSettings
from ingest.errors import ConfigError, VeilleError

SavedObject = dict[str, Any]

_JSON_FIELDS = ("visState", "uiStateJSON", "panelsJSON", "optionsJSON")
_SEARCH_SOURCE = "kibanaSavedObjectMeta.searchSourceJSON.index"


def _search_source(query: str = "") -> dict[str, Any]:
    source = {
        "query": {"query": query, "language": "kuery"},
        "filter": [],
        "indexRefName": _SEARCH_SOURCE,
    }
    return {"searchSourceJSON": json.dumps(source)}


def _on(view: str) -> list[dict[str, str]]:
    return [{"name": _SEARCH_SOURCE, "type": "index-pattern", "id": view}]


def _visualization(
    prefix: str, key: str, title: str, vis_type: str, aggs: list[dict[str, Any]], view: str
) -> SavedObject:
    state = {"title": title, "type": vis_type, "params": {"addLegend": True}, "aggs": aggs}
    return {
        "type": "visualization",
        "id": f"{prefix}-{key}",
        "attributes": {
            "title": title,
            "visState": json.dumps(state),
            "uiStateJSON": "{}",
            "description": "",
            "kibanaSavedObjectMeta": _search_source(),
        },
        "references": _on(view),
    }


def _terms(field: str, size: int, schema: str = "bucket") -> dict[str, Any]:
    return {
        "id": "2",
        "type": "terms",
        "schema": schema,
        "params": {"field": field, "size": size, "order": "desc", "orderBy": "1"},
    }


COUNT = {"id": "1", "type": "count", "schema": "metric", "params": {}}


def saved_objects(index_prefix: str) -> list[SavedObject]:
    """The data view, saved search, visualizations and dashboard for ``index_prefix``."""
    alias = f"{index_prefix}-mentions"
    view = alias
    negative = {
        "type": "search",
        "id": f"{index_prefix}-negative",
        "attributes": {
            "title": "Veille: negative mentions",
            "description": "Mentions scored negative, newest first",
            "columns": ["enrichment.brands", "site", "source.name", "title", "text"],
            "sort": [["published", "desc"]],
            "kibanaSavedObjectMeta": _search_source('enrichment.sentiment.label : "negative"'),
        },
        "references": _on(view),
    }
    timeline = _visualization(
        index_prefix,
        "timeline",
        "Veille: mentions over time, by sentiment",
        "histogram",
        [
            COUNT,
            {
                "id": "2",
                "type": "date_histogram",
                "schema": "segment",
                "params": {"field": "published", "interval": "auto"},
            },
            {**_terms("enrichment.sentiment.label", 3, "group"), "id": "3"},
        ],
        view,
    )
    sites = _visualization(
        index_prefix, "top-sites", "Veille: top sites", "table", [COUNT, _terms("site", 20)], view
    )
    authors = _visualization(
        index_prefix,
        "top-authors",
        "Veille: top authors",
        "table",
        [COUNT, _terms("search.author", 20)],
        view,
    )
    panels_on = [timeline, sites, authors, negative]
    layout = [(0, 0, 48, 15), (0, 15, 24, 15), (24, 15, 24, 15), (0, 30, 48, 20)]
    panels = [
        {
            "panelIndex": str(i),
            "gridData": {"x": x, "y": y, "w": w, "h": h, "i": str(i)},
            "embeddableConfig": {},
            "panelRefName": f"panel_{i}",
        }
        for i, (x, y, w, h) in enumerate(layout)
    ]
    dashboard = {
        "type": "dashboard",
        "id": f"{index_prefix}-overview",
        "attributes": {
            "title": "Veille: overview",
            "description": "What is said about the brands, how it feels, where and by whom",
            "panelsJSON": json.dumps(panels),
            "optionsJSON": json.dumps({"useMargins": True, "hidePanelTitles": False}),
            "timeRestore": True,
            "timeFrom": "now-7d",
            "timeTo": "now",
            "kibanaSavedObjectMeta": {
                "searchSourceJSON": json.dumps({"query": {"query": "", "language": "kuery"}})
            },
        },
        "references": [
            {"name": f"panel_{i}", "type": o["type"], "id": o["id"]}
            for i, o in enumerate(panels_on)
        ],
    }
    data_view = {
        "type": "index-pattern",
        "id": view,
        "attributes": {"title": alias, "name": "Veille mentions", "timeFieldName": "published"},
        "references": [],
    }
    return [data_view, negative, timeline, sites, authors, dashboard]


def _json_field(obj: SavedObject, path: str, value: Any) -> Any:
    if not isinstance(value, str):
        raise VeilleError(f"{obj['type']}:{obj['id']}: {path} must be a JSON string")
    try:
        return json.loads(value)
    except ValueError as exc:
        raise VeilleError(f"{obj['type']}:{obj['id']}: {path} is not valid JSON: {exc}") from None


def validate(objects: Sequence[SavedObject]) -> None:
    """Refuse what Kibana's import would refuse; raise `VeilleError` naming the object."""
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        missing = {"type", "id", "attributes", "references"} - set(obj)
        if missing:
            raise VeilleError(f"saved object without {', '.join(sorted(missing))}: {obj}")
        key = (obj["type"], obj["id"])
        if key in seen:
            raise VeilleError(f"{key[0]}:{key[1]} appears twice")
        seen.add(key)
    for obj in objects:
        where = f"{obj['type']}:{obj['id']}"
        names = {ref["name"] for ref in obj["references"]}
        for ref in obj["references"]:
            if (ref["type"], ref["id"]) not in seen:
                raise VeilleError(f"{where} refers to {ref['type']}:{ref['id']}, not in the file")
        attributes = obj["attributes"]
        for field in _JSON_FIELDS:
            if field in attributes:
                _json_field(obj, field, attributes[field])
        meta = attributes.get("kibanaSavedObjectMeta", {})
        if "searchSourceJSON" in meta:
            source = _json_field(obj, "searchSourceJSON", meta["searchSourceJSON"])
            if "indexRefName" in source and source["indexRefName"] not in names:
                raise VeilleError(f"{where}: no reference named {source['indexRefName']}")
        if "panelsJSON" in attributes:
            for panel in json.loads(attributes["panelsJSON"]):
                if panel.get("panelRefName") not in names:
                    raise VeilleError(f"{where}: panel {panel.get('panelIndex')} has no reference")


def to_ndjson(objects: Iterable[SavedObject]) -> bytes:
    return b"".join(json.dumps(o, ensure_ascii=False).encode() + b"\n" for o in objects)


class KibanaClient:
    """Kibana's saved objects API, with the configured credentials."""

    def __init__(self, settings: KibanaSettings, *, timeout: float = 30.0) -> None:
        if not settings.url:
            raise ConfigError("store.kibana.url is not set (for example http://localhost:5601)")
        headers = {"kbn-xsrf": "true"}
        auth: tuple[str, str] | None = None
        if settings.api_key is not None:
            headers["Authorization"] = f"ApiKey {settings.api_key.get_secret_value()}"
        elif settings.username:
            if settings.password is None:
                raise ConfigError("store.kibana: a username needs a password")
            auth = (settings.username, settings.password.get_secret_value())
        verify: bool | str = settings.ca_certs or settings.verify_certs
        base = settings.url.rstrip("/")
        if settings.space:
            base += f"/s/{settings.space}"
        self.display = display_url(settings.url)
        self._http = httpx.Client(
            base_url=base, headers=headers, auth=auth, verify=verify, timeout=timeout
        )

    def import_objects(self, objects: Sequence[SavedObject], *, overwrite: bool = True) -> int:
        """Import ``objects``; return how many Kibana took. Raise `VeilleError` with Kibana's
        reasons if any was refused."""
        validate(objects)
        try:
            response = self._http.post(
                "/api/saved_objects/_import",
                params={"overwrite": str(overwrite).lower()},
                files={"file": ("veille.ndjson", to_ndjson(objects), "application/ndjson")},
            )
        except httpx.HTTPError as exc:
            raise VeilleError(f"Kibana at {self.display} is out of reach: {exc}") from exc
        if response.status_code != 200:
            raise VeilleError(
                f"Kibana at {self.display} refused the import (HTTP {response.status_code}): "
                f"{response.text[:300]}"
            )
        result = response.json()
        if not result.get("success"):
            reasons = [
                f"{e.get('type')}:{e.get('id')}: {e.get('error', {}).get('type')}"
                for e in result.get("errors", [])
            ]
            raise VeilleError(f"Kibana refused some objects: {'; '.join(reasons)}")
        return int(result.get("successCount", 0))

    def close(self) -> None:
        self._http.close()
