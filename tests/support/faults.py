"""Faults on demand between a client and a real server, for the fault tests.

- `TcpProxy` forwards a loopback port to a server; `cut()` drops every connection and refuses
  new ones (the server looks down), `restore()` brings the route back on the same port.
- `ElasticFaults` is an HTTP proxy in front of Elasticsearch that answers like a throttled
  cluster: it rejects the first documents of the next bulk requests with 429, item by item, as
  Elasticsearch does when its write queue is full, and forwards everything else. It logs the
  requests it forwards (``requests``), and can answer like a cluster without points in time
  (``points_in_time = False``).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from typing import Any

import httpx

from veille.demo.loopback import LoopbackServer, Reply, Request


class TcpProxy:
    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut or stopped
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._open.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                self._close(s)

    def _close(self, s: socket.socket) -> None:
        with self._lock:
            self._open.discard(s)
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        s.close()

    def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        if self._listener is not None:
            # shutdown wakes the thread blocked in accept(); close alone would leave it waiting
            # and the port accepting.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets = list(self._open)
        for s in sockets:
            self._close(s)

    def restore(self) -> None:
        if self._listener is None:
            self.start()

    def stop(self) -> None:
        self.cut()


_HOP_BY_HOP = ("content-length", "content-encoding", "transfer-encoding", "connection")


class ElasticFaults(LoopbackServer):
    methods = ("GET", "HEAD", "POST", "PUT", "DELETE")

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self.client = httpx.Client(base_url=upstream, timeout=60)
        self.bulk_requests = 0
        self._to_reject = 0
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []
        """(method, path without the query) of each request, in order."""
        self.points_in_time = True

    def throttle(self, documents: int) -> None:
        """Reject the next ``documents`` documents written with 429."""
        with self._lock:
            self._to_reject = documents

    def stop(self) -> None:
        super().stop()
        self.client.close()

    def handle(self, request: Request) -> Reply:
        body = request.body
        path = request.path.split("?")[0]
        with self._lock:
            self.requests.append((request.method, path))
        if not self.points_in_time and (path.endswith("/_pit") or path == "/_pit"):
            # What a cluster answers for an endpoint it does not have.
            error = f"no handler found for uri [{request.path}] and method [{request.method}]"
            headers = {"X-Elastic-Product": "Elasticsearch", "content-type": "application/json"}
            return _reply(400, headers, json.dumps({"error": error, "status": 400}).encode())
        rejected: list[dict[str, Any]] = []
        if request.path.split("?")[0].endswith("/_bulk"):
            self.bulk_requests += 1
            body, rejected = self._reject_some(body)
        if rejected and not body:  # every document rejected: answer without asking upstream
            return _answer(200, {"X-Elastic-Product": "Elasticsearch"}, {"items": rejected})
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        upstream = self.client.request(request.method, request.path, content=body, headers=headers)
        if rejected:
            answer = upstream.json()
            answer["items"] = rejected + answer.get("items", [])
            return _answer(upstream.status_code, dict(upstream.headers), answer)
        return _reply(upstream.status_code, dict(upstream.headers), upstream.content)

    def _reject_some(self, body: bytes) -> tuple[bytes, list[dict[str, Any]]]:
        """Take the first documents out of a bulk body; return what is left and their 429s."""
        lines = body.splitlines()
        with self._lock:
            count = min(self._to_reject, len(lines) // 2)
            self._to_reject -= count
        rejected = []
        for i in range(count):
            action = json.loads(lines[2 * i])
            op, meta = next(iter(action.items()))
            rejected.append(
                {
                    op: {
                        "_index": meta.get("_index"),
                        "_id": meta.get("_id"),
                        "status": 429,
                        "error": {
                            "type": "es_rejected_execution_exception",
                            "reason": "rejected execution (write queue full)",
                        },
                    }
                }
            )
        rest = lines[2 * count :]
        return (b"\n".join(rest) + b"\n" if rest else b""), rejected


def _answer(status: int, headers: dict[str, str], answer: dict[str, Any]) -> Reply:
    answer.setdefault("took", 0)
    answer["errors"] = True
    headers["content-type"] = "application/json"
    return _reply(status, headers, json.dumps(answer).encode())


def _reply(status: int, headers: dict[str, str], content: bytes) -> Reply:
    kept = [(name, value) for name, value in headers.items() if name.lower() not in _HOP_BY_HOP]
    return Reply(status, kept, content)
