"""A small web on localhost: sites with real-looking host names, served through one HTTP proxy.

Clients send their requests to the proxy (``sources.http.proxy``) with absolute URLs, as they
would to any forward proxy, and the server answers for the host named in the URL. So the demo's
sites keep names such as ``blog.cyclurbain.example`` and mentions get real sites, while nothing
leaves the machine. Tests use the same server with routes of their own (slow, broken, huge).

A route is a `Response` or a callable that returns one; a route whose path has no query answers
that path with any query. Unknown hosts and paths get 404, and every host gets a permissive
robots.txt unless a route says otherwise.

Services that are servers of their own answer under a host name too: requests for a host in
``services`` go to that server's `handle` (the demo's Mastodon, as ``mastodon.example``), and a
``CONNECT`` to a host in ``tunnels`` is tunnelled to its local address (the demo's Jetstream, a
WebSocket, as ``jetstream.example``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from veille.demo.loopback import LoopbackServer, Reply, Request


@dataclass
class Response:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def text(
        cls, text: str, content_type: str = "text/html; charset=utf-8", **kwargs: object
    ) -> Response:
        return cls(text.encode("utf-8"), content_type, **kwargs)  # type: ignore[arg-type]


Route = Response | Callable[[str], Response]
Routes = dict[tuple[str, str], Route]


class Web(LoopbackServer):
    """The sample web, running in a background thread until `stop`."""

    thread_name = "sample-web"

    def __init__(
        self,
        routes: Routes,
        *,
        services: Mapping[str, LoopbackServer] | None = None,
    ) -> None:
        super().__init__()
        self.routes = routes
        self.services = dict(services or {})
        """Host to the server that answers for it."""
        self.tunnels: dict[str, tuple[str, int]] = {}
        """Host to the local address a ``CONNECT`` to it is tunnelled to."""
        self.requests: list[tuple[str, str]] = []
        """(host, path) of every request received, in order."""

    @property
    def proxy(self) -> str:
        return self.url

    def handle(self, request: Request) -> Reply:
        parts = urlsplit(request.path)
        host = (parts.hostname or request.headers.get("Host", "").split(":")[0]).lower()
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        self.requests.append((host, path))
        if host in self.services:
            return self.services[host].handle(request)
        route = self.routes.get((host, path))
        if route is None and parts.query:  # a route without a query answers any query
            route = self.routes.get((host, parts.path or "/"))
        if route is None and path.endswith("/robots.txt"):
            route = Response.text("User-agent: *\nAllow: /\n", "text/plain")
        if route is None:
            route = Response.text("<h1>Not found</h1>", status=404)
        asked = request.headers.get("If-None-Match")
        response = route(asked or "") if callable(route) else route
        if response.delay:
            time.sleep(response.delay)
        etag = response.headers.get("ETag")
        if etag and asked == etag:
            return Reply(304, [("ETag", etag)])
        headers = [("Content-Type", response.content_type), *response.headers.items()]
        return Reply(response.status, headers, response.body)

    def tunnel(self, authority: str) -> tuple[str, int] | None:
        return self.tunnels.get(authority.rsplit(":", 1)[0].lower())
