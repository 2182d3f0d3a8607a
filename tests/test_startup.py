"""What each command imports at start: the libraries its job and its configuration need, no
more (issue 12, item 6). Reading the SQLite store needs none of the pipeline's heavy libraries;
reading Elasticsearch needs its client, not the HTTP libraries and serializers the client would
load for what Veille does not use; a Kafka bus is loaded by the commands that read the bus.
`bench/startup.py` measures the time this saves."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from index.sqlite import SqliteStore
from tests.support.backends import (
    ELASTICSEARCH_ENV,
    KAFKA_ENV,
    elastic_store,
    server_url,
    unique,
)
from tests.support.corpus import corpus

HEAVY = (
    "aiohttp",
    "elasticsearch",
    "httpx",
    "kafka",
    "lingua",
    "numpy",
    "pyarrow",
    "requests",
    "scipy",
    "scrapy",
    "sklearn",
    "spacy",
    "torch",
    "transformers",
    "twisted",
)

READING = (
    ("search", "acme"),
    ("search", "acme", "--all"),
    ("report",),
    ("status",),
    ("authors", "top"),
    ("alerts", "list"),
    ("alerts", "rebuild"),
    ("index", "setup"),
)


def _imports(config: Path, commands: list[tuple[str, ...]]) -> dict[str, list[str]]:
    """The heavy libraries each command loads (run one after the other in one interpreter,
    each charged with what it adds), after checking that each succeeded."""
    code = f"""
import json, sys
from veille.cli import cli
heavy = set({HEAVY!r})
seen, found = set(), {{}}
for args in {commands!r}:
    try:
        cli(["--config", {str(config)!r}, *args], prog_name="veille")
    except SystemExit as exc:
        assert not exc.code, (args, exc.code)
    loaded = {{m.split(".")[0] for m in list(sys.modules)}} & heavy
    found[" ".join(args)] = sorted(loaded - seen)
    seen |= loaded
print(json.dumps(found), file=sys.stderr)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found: dict[str, list[str]] = json.loads(done.stderr.strip().splitlines()[-1])
    return found


def _config(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text(
        '{"text": "Acme est génial", "label": "positive"}\n'
        '{"text": "Acme est nul", "label": "negative"}\n'
    )
    return {
        "data_dir": str(tmp_path / "data"),
        "brands": [{"name": "Acme", "query": "acme"}],
        "sources": {"feeds": [{"name": "f", "url": "http://127.0.0.1:9/feed.xml"}]},
        **sections,
    }


def test_reading_commands_on_sqlite_load_none_of_the_pipeline(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(_config(tmp_path))
    (tmp_path / "data").mkdir()
    store = SqliteStore(tmp_path / "data" / "veille.db")
    store.setup()
    store.upsert(corpus(120))
    store.close()
    commands = [
        ("config",),
        ("feeds",),
        *READING,
        ("dead",),
        # The lexicon: the trained backend (the default) needs scikit-learn by nature.
        ("sentiment", "eval", "--data", str(tmp_path / "labelled.jsonl"), "--backend", "lexicon"),
    ]
    assert _imports(config, commands) == {" ".join(c): [] for c in commands}


def test_reading_commands_on_elasticsearch_and_kafka_load_their_clients_alone(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    bus = server_url(KAFKA_ENV, "Kafka")
    prefix = unique("startup-")
    store = elastic_store(prefix)
    try:
        store.setup()
        store.upsert(corpus(120))
        config = write_config(
            _config(
                tmp_path,
                bus={"url": bus, "topic_prefix": f"{prefix}."},
                store={
                    "url": server_url(ELASTICSEARCH_ENV, "Elasticsearch"),
                    "elastic": {"index_prefix": prefix},
                },
            )
        )
        found = _imports(config, [("config",), *READING, ("dead",)])
    finally:
        store.close()
    # The first to read the store loads the client; status and dead read the bus too.
    assert found == {
        "config": [],
        "search acme": ["elasticsearch"],
        "search acme --all": [],
        "report": [],
        "status": ["kafka"],
        "authors top": [],
        "alerts list": [],
        "alerts rebuild": [],
        "index setup": [],
        "dead": [],
    }
