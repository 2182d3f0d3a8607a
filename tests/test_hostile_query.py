"""Hostile queries as a user meets them: through ``veille search`` on each store, and as a brand's
query in the settings file (``veille config``).

Within the limits of `ingest.query.limits` (deep, long, negated many times), every shape is
answered, and answered as the in-memory matcher answers. Past them, the query is refused before
any store is asked, with exit code 2 and the position (and, in the settings, the file, the line
and the key). An Elasticsearch node that refuses a query as too large for it (fewer clauses or
less nesting than the README asks for) gives the same kind of clear refusal, never "out of reach".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from elasticsearch import SerializationError

import ingest.query.parser
from index.elastic.client import ElasticIndices, Elasticsearch
from ingest.errors import QuerySyntaxError, TransientError, VeilleError
from ingest.query import Doc, matches, parse
from ingest.query.limits import MAX_DEPTH, MAX_LENGTH, MAX_TERMS
from ingest.store import Store
from tests.support.backends import ELASTICSEARCH_ENV, elastic_store, server_url, unique
from tests.support.corpus import corpus
from tests.support.hostile_queries import alternating, past_limits, within_limits
from veille.cli import cli

pytestmark = pytest.mark.hostile

MENTIONS = corpus(80, seed=11)
WORDS = ["acme", "service", "panne", "client", "globex", "reseau", "outage", "societe", "support"]
FIELDS = ["lang:fr", "site:forum.fr", "source:forum", "author:@jdoe", "lang:en", "site:acme.com"]
WITHIN = within_limits(WORDS, FIELDS)
PAST = past_limits(WORDS)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _settings_over(kind: str, folder: Path) -> tuple[Store, str]:
    """A store of ``kind`` holding `MENTIONS`, and a settings file that points at it."""
    store: Store
    if kind == "sqlite":
        from index.sqlite import SqliteStore

        store = SqliteStore(folder / "store.db")
        store.setup()
        settings: dict[str, object] = {"url": f"sqlite://{folder / 'store.db'}"}
    else:
        prefix = unique("test-")
        store = elastic_store(prefix)
        url = server_url(ELASTICSEARCH_ENV, "Elasticsearch")
        settings = {"url": url, "elastic": {"index_prefix": prefix}}
    store.upsert(MENTIONS)
    store.refresh()
    path = folder / "veille.yaml"
    path.write_text(
        yaml.safe_dump({"brands": [{"name": "Acme", "query": "acme"}], "store": settings})
    )
    return store, str(path)


@pytest.fixture(scope="module", params=["sqlite", "elastic"])
def config(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A settings file whose store (SQLite, then Elasticsearch) holds `MENTIONS`."""
    store, path = _settings_over(request.param, tmp_path_factory.mktemp(request.param))
    yield path
    store.close()


@pytest.fixture(scope="module")
def elastic_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store, path = _settings_over("elastic", tmp_path_factory.mktemp("elastic"))
    yield path
    store.close()


def _found(result: Result) -> set[str]:
    return {json.loads(line)["id"] for line in result.output.splitlines()}


@pytest.mark.parametrize("name", WITHIN)
def test_search_answers_every_shape_within_the_limits(config: str, name: str) -> None:
    query = WITHIN[name]
    tree = parse(query)
    want = {m.id for m in MENTIONS if matches(tree, Doc.of(m))}
    for sort in ("date", "relevance"):
        result = invoke(
            "--config",
            config,
            "search",
            query,
            "--sort",
            sort,
            "--format",
            "json",
            "--size",
            "1000",
        )
        assert result.exit_code == 0, result.output
        assert _found(result) == want, sort


@pytest.mark.parametrize("name", PAST)
def test_search_refuses_a_query_past_the_limits_with_its_position(config: str, name: str) -> None:
    query, says = PAST[name]
    with pytest.raises(QuerySyntaxError) as refused:
        parse(query)
    position = refused.value.position
    result = CliRunner().invoke(cli, ["--config", config, "search", query])
    assert result.exit_code == 2
    first, shown, caret = result.output.splitlines()[:3]
    assert first.startswith("error: invalid query: ")
    assert says in first
    assert first.endswith(f" at position {position}")
    # The caret is under the place, in what is shown of the query: the part around it if long.
    assert len(shown) < 120
    assert shown[caret.index("^")] == query[position]


def test_a_node_that_refuses_a_query_as_too_large_is_a_query_error(
    elastic_config: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Limits lifted, as if the node were smaller than the README asks: Elasticsearch's own
    refusals (too many clauses, nested too deep) are a clear query error, exit 2, not the
    cluster "out of reach" (which the workers would retry forever)."""
    monkeypatch.setattr(ingest.query.parser, "MAX_DEPTH", 1_000)
    monkeypatch.setattr(ingest.query.parser, "MAX_TERMS", 100_000)
    monkeypatch.setattr(ingest.query.parser, "MAX_LENGTH", 1_000_000)
    too_many = " ".join(f"w{i}" for i in range(20_000))
    for query, says in [(too_many, "maxClauseCount"), (alternating(WORDS, 40), "nested depth")]:
        result = CliRunner().invoke(cli, ["--config", elastic_config, "search", query])
        assert result.exit_code == 2, result.output
        assert "error: invalid query: " in result.output
        assert "cannot run a query this large" in result.output
        assert says in result.output
        assert "out of reach" not in result.output


def test_a_request_that_cannot_be_encoded_is_not_the_cluster_out_of_reach() -> None:
    """The client's serializer failing (it did on a DSL nested 150 deep) is not a passing
    failure: retrying would fail the same way."""
    indices = ElasticIndices(Elasticsearch("http://127.0.0.1:9"))

    def encode() -> None:
        raise SerializationError("Recursion limit reached")

    with pytest.raises(VeilleError) as caught:
        indices.call("search", encode)
    assert not isinstance(caught.value, TransientError)
    assert "out of reach" not in str(caught.value)


def _brands_file(folder: Path, query: str) -> Path:
    path = folder / "veille.yaml"
    # Written by hand, so the line of each key is known: brands[1].query is on line 5.
    path.write_text(
        f"brands:\n  - name: Acme\n    query: acme\n  - name: Hostile\n    query: '{query}'\n"
    )
    return path


@pytest.mark.parametrize("name", PAST)
def test_a_brand_query_past_the_limits_names_the_file_line_and_key(
    tmp_path: Path, name: str
) -> None:
    query, says = PAST[name]
    path = _brands_file(tmp_path, query)
    result = CliRunner().invoke(cli, ["--config", str(path), "config"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"{path}:5: brands[1].query: invalid query: " in result.output
    assert says in result.output
    assert "at position " in result.output


@pytest.mark.parametrize("name", WITHIN)
def test_a_brand_query_within_the_limits_is_accepted(tmp_path: Path, name: str) -> None:
    path = _brands_file(tmp_path, WITHIN[name])
    result = invoke("--config", str(path), "config")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["brands"][1]["query"] == WITHIN[name]


def test_the_readme_states_the_limits() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for limit in (f"{MAX_LENGTH:,} characters", f"{MAX_DEPTH} levels", f"{MAX_TERMS:,} terms"):
        assert limit in readme
