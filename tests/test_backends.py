"""The real-server backends are never silently skipped in CI."""

from __future__ import annotations

import pytest

from tests.support.backends import KAFKA_ENV, server_url


def test_a_missing_server_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KAFKA_ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="scripts/services start"):
        server_url(KAFKA_ENV, "Kafka")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run against real servers"):
        server_url(KAFKA_ENV, "Kafka")
    monkeypatch.setenv(KAFKA_ENV, "kafka://127.0.0.1:19092")
    assert server_url(KAFKA_ENV, "Kafka") == "kafka://127.0.0.1:19092"
