"""A small web on localhost: sites with real-looking host names, served through one HTTP proxy.

Clients send their requests to the proxy (``sources.http.proxy``) with absolute URLs, as they
would to any forward proxy, and the server answers for the host named in the URL. So the demo's
sites keep names such as ``blog.cyclurbain.example`` and mentions get real sites, while nothing
leaves the machine. Tests use the same server with routes of their own (slow, broken, huge).

A route is a `Response` or a callable that returns one; a route whose path has no query answers
that path with any query. Unknown hosts and paths get 404, and every host gets a permissive
robots.txt unless a route says otherwise.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


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


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle's algorithm and the client's
    # delayed ACK hold every response back about 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        host = (parts.hostname or self.headers.get("Host", "").split(":")[0]).lower()
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        self.server.requests.append((host, path))
        route = self.server.routes.get((host, path))
        if route is None and parts.query:  # a route without a query answers any query
            route = self.server.routes.get((host, parts.path or "/"))
        if route is None and path.endswith("/robots.txt"):
            route = Response.text("User-agent: *\nAllow: /\n", "text/plain")
        if route is None:
            route = Response.text("<h1>Not found</h1>", status=404)
        response = route(self.headers.get("If-None-Match", "")) if callable(route) else route
        if response.delay:
            time.sleep(response.delay)
        etag = response.headers.get("ETag")
        if etag and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that hangs up (a crawler refusing a page too large) is not an error here.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]

    def __init__(self, routes: Routes) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes = routes
        self.requests: list[tuple[str, str]] = []


class Web:
    """The sample web, running in a background thread until `stop`."""

    def __init__(self, routes: Routes) -> None:
        self._server = _Server(routes)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sample-web", daemon=True
        )

    @property
    def routes(self) -> Routes:
        return self._server.routes

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(host, path) of every request received, in order."""
        return self._server.requests

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Web:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Web:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
