"""A server too slow to be polite to: it sends its status line, then one header byte at a time,
``interval`` seconds apart, for as long as the client listens (HTTP that no per-read timeout
ever cuts). ``/robots.txt`` is answered at once with a 404 (no rules), so the drip is met on the
page itself.

Raw sockets, not `veille.demo.loopback.LoopbackServer`: that one writes whole replies.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Self

_ROBOTS_404 = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class DripServer:
    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self.started: list[float] = []
        """When each drip began (its status line sent), on `time.monotonic`."""
        self.drips: list[tuple[float, float]] = []
        """(start, end) of each drip that ended (the client hung up, or the server stopped)."""

    @property
    def in_flight(self) -> bool:
        with self._lock:
            return len(self.started) > len(self.drips)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def start(self) -> Self:
        threading.Thread(target=self._accept, name="drip-server", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        # A client that hangs up (a cut fetch) is the point: it ends the drip, not the server.
        with client, contextlib.suppress(OSError):
            request = b""
            while b"\r\n\r\n" not in request:
                data = client.recv(4096)
                if not data:
                    return
                request += data
            if request.split(b" ", 2)[1].endswith(b"/robots.txt"):
                client.sendall(_ROBOTS_404)
                return
            started = time.monotonic()
            with self._lock:
                self.started.append(started)
            try:
                client.sendall(b"HTTP/1.1 200 OK\r\n")
                while not self._stopped.wait(self.interval):
                    client.sendall(b"X")
            finally:
                with self._lock:
                    self.drips.append((started, time.monotonic()))
