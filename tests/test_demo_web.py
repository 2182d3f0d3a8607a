"""The sample web as the demo's one proxy for the social networks: a host served by another
server (the demo's Mastodon) and a ``CONNECT`` tunnel (RFC 9110, section 9.3.6: what a
WebSocket client sends to an HTTP proxy) to the demo's Jetstream."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from websockets.exceptions import InvalidProxyStatus
from websockets.sync.client import connect

from veille.demo.jetstream import FakeJetstream
from veille.demo.social import JETSTREAM_HOST, MASTODON_HOST, mastodon, tunnels
from veille.demo.web import Web


def test_connect_tunnels_a_websocket_to_the_jetstream_and_refuses_other_hosts() -> None:
    jetstream = FakeJetstream().start()
    try:
        with Web({}) as web:
            web.tunnels.update(tunnels(jetstream))
            url = f"ws://{JETSTREAM_HOST}/subscribe?wantedCollections=app.bsky.feed.post&cursor=0"
            uri = jetstream.post("Panne Lumen ?", did="did:plc:someone")
            with connect(url, proxy=web.proxy, open_timeout=5) as ws:
                event = json.loads(ws.recv(timeout=5))
            assert event["commit"]["rkey"] == uri.rsplit("/", 1)[1]
            # A proxy answers 502 Bad Gateway for a host it cannot reach.
            with pytest.raises(InvalidProxyStatus) as refused:
                connect("ws://elsewhere.example/subscribe", proxy=web.proxy, open_timeout=5)
            assert refused.value.response.status_code == 502
    finally:
        jetstream.stop()


def test_the_mastodon_host_is_answered_by_the_local_instance() -> None:
    with (
        mastodon(datetime.now(UTC)) as instance,
        Web({}, services={MASTODON_HOST: instance}) as web,
        httpx.Client(proxy=web.proxy) as client,
    ):
        page = client.get(f"http://{MASTODON_HOST}/api/v1/timelines/tag/lumentelecom")
        other = client.get("http://elsewhere.example/api/v1/timelines/tag/lumentelecom")
    assert page.status_code == 200
    assert page.headers["X-RateLimit-Limit"] == "300"  # the instance's contract, not a page's
    assert page.json()
    assert all(s["url"].startswith(f"http://{MASTODON_HOST}/@") for s in page.json())
    assert other.status_code == 404
