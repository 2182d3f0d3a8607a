"""The project's own test servers from an awkward checkout: run as root from a folder only root can
enter (a ``mktemp -d`` folder, ``/root``), Elasticsearch, which refuses to run as root, must still
start as its own user, from a copy that user can reach (issue 11, item 12)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.hostile, pytest.mark.slow]


def _free_port() -> int:
    """A port with the next hundred free too (Elasticsearch's transport takes port + 100)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        with socket.socket() as transport:
            try:
                transport.bind(("127.0.0.1", port + 100))
            except OSError:
                continue
        return port


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs Elasticsearch as another user")
def test_elasticsearch_starts_from_a_checkout_its_user_cannot_enter() -> None:
    cache = ROOT / ".cache" / "services"
    if not any(cache.glob("elasticsearch-*/bin/elasticsearch")):
        pytest.skip("Elasticsearch is not fetched yet (scripts/services fetch)")
    closed = Path(tempfile.mkdtemp())  # 0700, root's
    stage = Path(tempfile.mkdtemp(dir="/var/tmp"))
    stage.chmod(0o755)
    port = _free_port()
    checkout = closed / "veille"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "services", checkout / "scripts" / "services")
    # The downloads are shared; the unpacked server and its data are the checkout's own.
    shutil.copytree(
        cache, checkout / ".cache" / "services", ignore=shutil.ignore_patterns("run", "kafka*")
    )
    env = {**os.environ, "VEILLE_ES_PORT": str(port), "VEILLE_ES_STAGE": str(stage / "es")}
    script = str(checkout / "scripts" / "services")
    try:
        started = subprocess.run(
            [script, "start", "elasticsearch"], env=env, capture_output=True, text=True, check=False
        )
        assert started.returncode == 0, started.stderr
        assert f"cannot enter {closed}" in started.stderr
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_cluster/health") as answer:
            assert b'"status"' in answer.read()
    finally:
        subprocess.run([script, "stop", "elasticsearch"], env=env, check=False)
        shutil.rmtree(closed, ignore_errors=True)
        shutil.rmtree(stage, ignore_errors=True)
