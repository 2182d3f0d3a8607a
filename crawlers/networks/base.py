"""The one interface every social-network connector implements, and what a poll returns.

A `Connector` reads one platform for one configured source. `Connector.poll` is handed the
cursors it returned last time (opaque strings it chooses: since-ids, page tokens) and returns a
`Batch`: the mentions it found, the mention ids the platform says were deleted, its new cursors,
the platform's rate-limit state, and the requests it spent. A poll that fails part way returns
what it gathered before the failure with `Batch.error` set, so the runner publishes that and
keeps the cursors that cover it; a poll that fails at once may simply raise `ConnectorError`.

The errors say what the runner should do: `RateLimited` waits until the platform's reset
(`QuotaSpent`, a daily or monthly budget used up, until the budget's renewal), `AuthFailed`
(bad or missing credentials) waits long, `PlatformError` (5xx, timeouts, a body that is not
what the API documents) backs off and retries. None of them carries a secret.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from ingest.record import Mention

Cursors = Mapping[str, str]
"""A connector's memory between polls, keyed as it likes (one key per timeline or query)."""


@dataclass(frozen=True)
class RateLimit:
    """What the platform said of its rate limit in its last answer."""

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None
    """When the window resets, as a POSIX time."""


class ConnectorError(Exception):
    """A poll that failed for a reason the platform gave; the message never holds a secret."""

    status = "error"
    http_status: int | None = None

    def __init__(
        self, message: str, *, http_status: int | None = None, reasons: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.reasons = reasons
        """The machine-readable reasons of the platform's error body (the AT Protocol's
        ``error``, such as ``ExpiredToken``; Google's ``errors[].reason`` and ``domain``; an RFC
        7807 ``title``), for a connector to tell its errors apart."""


class RateLimited(ConnectorError):
    """429, or a rate limit spent: wait until ``reset`` (a POSIX time), when known."""

    status = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        reset: float | None,
        http_status: int | None = None,
        reasons: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, http_status=http_status, reasons=reasons)
        self.reset = reset


class QuotaSpent(RateLimited):
    """The connector's budget for the period (YouTube's daily units, X's monthly posts) is
    spent, or would be by the next request: nothing more until ``reset``, the renewal."""

    status = "quota_spent"


class AuthFailed(ConnectorError):
    """401 or 403: the credentials are wrong, revoked, or lack a scope. Retrying soon will not
    help; someone must fix the configuration."""

    status = "auth_failed"


class PlatformError(ConnectorError):
    """5xx, a timeout, a closed connection, or an answer that is not what the API documents."""

    status = "platform_error"


@dataclass(frozen=True)
class Batch:
    """What one poll brought."""

    mentions: list[Mention] = field(default_factory=list)
    deletions: list[str] = field(default_factory=list)
    """Ids of mentions the platform says were deleted: a later step removes them from the store."""
    cursors: dict[str, str] = field(default_factory=dict)
    """The connector's cursors after this poll (all of them, not only those that changed)."""
    rate_limit: RateLimit | None = None
    requests: int = 0
    """Requests spent (the quota some platforms count)."""
    more: bool = False
    """Pages were left unread (``max_pages``): poll again soon rather than after the interval."""
    error: ConnectorError | None = None
    """What stopped the poll part way; what came before it is in this batch."""
    skipped: int = 0
    """Items the platform sent that could not be read (not JSON, not as documented), passed
    over; counted by the runner."""


class Connector(ABC):
    """One configured source on one social platform."""

    def __init__(self, name: str, interval: timedelta) -> None:
        self.name = name
        self.interval = interval

    @property
    @abstractmethod
    def platform(self) -> str:
        """The platform's name: ``mastodon``, ``bluesky``..."""

    @abstractmethod
    def poll(self, cursors: Cursors) -> Batch:
        """Read what is new since ``cursors``."""

    @abstractmethod
    def test(self) -> list[str]:
        """Check the credentials and that the platform answers; what was checked, one line
        each. Raise `ConnectorError` if something is wrong."""

    @abstractmethod
    def close(self) -> None:
        """Release what the connector holds (HTTP connections)."""
