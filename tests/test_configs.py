"""The example configurations under configs/ are valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from veille.settings import load_settings

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("name", ["veille.yaml", "scale-out.yaml"])
def test_example_configuration_loads(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_PASSWORD", "example")
    monkeypatch.setenv("ELASTIC_API_KEY", "example")
    settings = load_settings(CONFIGS / name)
    assert [b.name for b in settings.brands] == ["Velora", "Lumen Télécom"]
    assert len(settings.sources.feeds) == 3
    assert settings.bus_url.startswith("kafka://" if "scale" in name else "local://")
    if name == "veille.yaml":
        [weekly] = settings.reports
        assert (weekly.period, weekly.when.day, weekly.when.hour) == ("weekly", 0, 8)
