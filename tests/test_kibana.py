"""``veille kibana setup``: saved objects that Kibana's import accepts, sent the way its API
wants them. No Kibana runs here, so the client is tested against a local server that enforces
the contract of ``POST /api/saved_objects/_import``; with ``KIBANA_URL`` set, a live test runs
against that Kibana too."""

from __future__ import annotations

import copy
import email
import json
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from click.testing import CliRunner

from index.elastic.kibana import KibanaClient, SavedObject, saved_objects, validate
from index.settings import KibanaSettings
from ingest.errors import VeilleError
from veille.cli import cli
from veille.demo.loopback import LoopbackServer, Reply, Request


def _answer(status: int, body: dict[str, Any]) -> Reply:
    return Reply(status, [("Content-Type", "application/json")], json.dumps(body).encode())


def _bad(message: str) -> Reply:
    return _answer(400, {"statusCode": 400, "error": "Bad Request", "message": message})


class FakeKibana(LoopbackServer):
    """Kibana's import endpoint as documented: conflicts without overwrite, missing references,
    a Kibana-shaped answer; it keeps what it imported."""

    methods = ("POST",)

    def __init__(self, authorization: str | None = None) -> None:
        super().__init__()
        self.authorization = authorization
        self.saved: dict[tuple[str, str], SavedObject] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []

    def handle(self, request: Request) -> Reply:
        url = urlsplit(request.path)
        headers = request.headers
        self.requests.append((url.path, dict(headers)))
        if url.path not in ("/api/saved_objects/_import", "/s/veille/api/saved_objects/_import"):
            return _answer(404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"})
        if headers.get("kbn-xsrf") is None:
            return _bad("Request must contain a kbn-xsrf header.")
        if headers.get("Authorization") != self.authorization:
            return _answer(401, {"statusCode": 401, "error": "Unauthorized"})
        overwrite = parse_qs(url.query).get("overwrite", ["false"])[0]
        if overwrite not in ("true", "false"):
            return _bad("[request query.overwrite]: expected value of type [boolean]")
        message = email.message_from_bytes(
            f"Content-Type: {headers.get('Content-Type')}\r\n\r\n".encode() + request.body
        )
        parts = {
            part.get_param("name", header="content-disposition"): part
            for part in (message.get_payload() if message.is_multipart() else [])
        }
        if "file" not in parts:
            return _bad("[request body.file]: expected value of type [object] but got [undefined]")
        if not str(parts["file"].get_filename()).endswith(".ndjson"):
            return _bad("Invalid file extension .json")
        payload = parts["file"].get_payload(decode=True)
        objects = [json.loads(line) for line in payload.splitlines() if line.strip()]
        return _answer(200, self.take(objects, overwrite == "true"))

    def take(self, objects: list[SavedObject], overwrite: bool) -> dict[str, Any]:
        keys = {(o["type"], o["id"]) for o in objects} | set(self.saved)
        errors, done = [], []
        for obj in objects:
            key = (obj["type"], obj["id"])
            title = obj["attributes"].get("title")
            missing = [r for r in obj["references"] if (r["type"], r["id"]) not in keys]
            if missing:
                error = {"type": "missing_references", "references": missing}
            elif key in self.saved and not overwrite:
                error = {"type": "conflict"}
            else:
                self.saved[key] = obj
                done.append({"type": key[0], "id": key[1], "meta": {"title": title}})
                continue
            errors.append({"type": key[0], "id": key[1], "title": title, "error": error})
        answer: dict[str, Any] = {
            "success": not errors,
            "successCount": len(done),
            "successResults": done,
        }
        if errors:
            answer["errors"] = errors
        return answer


@pytest.fixture
def kibana() -> Iterator[Callable[..., FakeKibana]]:
    with ExitStack() as servers:
        yield lambda authorization=None: servers.enter_context(FakeKibana(authorization))


def test_the_saved_objects_are_what_kibana_imports() -> None:
    objects = saved_objects("veille")
    validate(objects)
    types = [o["type"] for o in objects]
    assert types.count("index-pattern") == types.count("search") == types.count("dashboard") == 1
    view = objects[0]["attributes"]
    assert (view["title"], view["timeFieldName"]) == ("veille-mentions", "published")
    dashboard = objects[-1]
    assert len(json.loads(dashboard["attributes"]["panelsJSON"])) == len(objects) - 2


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda o: o.append(copy.deepcopy(o[1])), "appears twice"),
        (lambda o: o.pop(0), "refers to index-pattern:veille-mentions"),
        (lambda o: o[2]["attributes"].update(visState="{not json"), "visState is not valid JSON"),
        (lambda o: o[-1]["references"].pop(), "panel 3 has no reference"),
        (
            lambda o: o[1]["references"][0].update(name="other"),
            "no reference named kibanaSavedObjectMeta",
        ),
    ],
)
def test_validation_refuses_what_kibana_would(
    breakage: Callable[[list[SavedObject]], object], message: str
) -> None:
    objects = saved_objects("veille")
    breakage(objects)
    with pytest.raises(VeilleError, match=message):
        validate(objects)


def test_setup_imports_into_kibana_and_can_run_again(
    kibana: Callable[..., FakeKibana], write_config: Callable[..., Path]
) -> None:
    server = kibana("ApiKey a2liYW5hOnNlY3JldA==")
    config = write_config(
        {
            "store": {
                "elastic": {"index_prefix": "acme"},
                "kibana": {"url": server.url, "space": "veille", "api_key": "a2liYW5hOnNlY3JldA=="},
            }
        }
    )
    runner = CliRunner()
    for _ in range(2):  # idempotent: the second run overwrites
        result = runner.invoke(cli, ["--config", str(config), "kibana", "setup"])
        assert result.exit_code == 0, result.output
        assert "6 saved objects imported" in result.output
    assert ("dashboard", "acme-overview") in server.saved
    assert (
        server.saved[("index-pattern", "acme-mentions")]["attributes"]["title"] == "acme-mentions"
    )
    path, headers = server.requests[-1]
    assert path == "/s/veille/api/saved_objects/_import"
    assert headers["kbn-xsrf"] == "true"
    assert "a2liYW5hOnNlY3JldA==" not in result.output


def test_refusals_are_reported_with_kibanas_reasons(kibana: Callable[..., FakeKibana]) -> None:
    server = kibana()
    client = KibanaClient(KibanaSettings(url=server.url))
    try:
        assert client.import_objects(saved_objects("veille")) == 6
        with pytest.raises(VeilleError, match="dashboard:veille-overview: conflict"):
            client.import_objects(saved_objects("veille"), overwrite=False)
    finally:
        client.close()
    wrong = KibanaClient(KibanaSettings(url=server.url, username="u", password="p"))  # type: ignore[arg-type]
    server.authorization = "Basic other"
    with pytest.raises(VeilleError, match="HTTP 401"):
        wrong.import_objects(saved_objects("veille"))
    wrong.close()


def test_export_writes_ndjson_for_the_import_page(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    target = tmp_path / "veille.ndjson"
    result = CliRunner().invoke(
        cli, ["--config", str(write_config({})), "kibana", "setup", "--export", str(target)]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    validate(lines)
    assert len(lines) == 6


@pytest.mark.skipif(not os.environ.get("KIBANA_URL"), reason="KIBANA_URL is not set")
def test_a_real_kibana_imports_the_objects() -> None:
    url = os.environ["KIBANA_URL"]
    client = KibanaClient(KibanaSettings(url=url))
    try:
        assert client.import_objects(saved_objects("veille-live-test")) == 6
    finally:
        client.close()
    found = httpx.get(f"{url}/api/saved_objects/dashboard/veille-live-test-overview", timeout=30)
    assert found.status_code == 200
    assert found.json()["attributes"]["title"] == "Veille: overview"
