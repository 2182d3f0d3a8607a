"""Settings index owns: where the store is, and how to reach Elasticsearch and Kibana."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, SecretStr

from ingest.settings import Duration, Strict


class ElasticSettings(Strict):
    """Connection and index options for Elasticsearch (ignored by SQLite)."""

    index_prefix: str = "veille"
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    ca_certs: str | None = None
    verify_certs: bool = True
    shards: int = Field(default=1, ge=1)
    replicas: int = Field(default=0, ge=0)
    request_timeout: Duration = timedelta(seconds=30)


class KibanaSettings(Strict):
    """Where ``veille kibana setup`` installs its saved objects."""

    url: str | None = None
    space: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    ca_certs: str | None = None
    verify_certs: bool = True


class StoreSettings(Strict):
    """The mention store: ``sqlite://PATH`` (embedded) or ``http(s)://HOST:9200``."""

    url: str | None = Field(default=None, description="default: sqlite://<data_dir>/veille.db")
    elastic: ElasticSettings = ElasticSettings()
    kibana: KibanaSettings = KibanaSettings()
