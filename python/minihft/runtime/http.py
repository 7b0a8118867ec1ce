"""Per-service HTTP endpoint: /metrics (Prometheus), /healthz (loop alive), /readyz (can work).

Runs in a daemon thread so a slow scrape never stalls the service loop.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST


class ProbeServer:
    def __init__(
        self,
        host: str,
        port: int,
        metrics: Callable[[], bytes],
        healthy: Callable[[], tuple[bool, dict[str, object]]],
        ready: Callable[[], tuple[bool, dict[str, object]]],
    ) -> None:
        routes: dict[str, Callable[[], tuple[int, str, bytes]]] = {
            "/metrics": lambda: (200, CONTENT_TYPE_LATEST, metrics()),
            "/healthz": lambda: _json(*healthy()),
            "/readyz": lambda: _json(*ready()),
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = routes.get(self.path.split("?", 1)[0])
                if route is None:
                    code, ctype, body = 404, "text/plain", b"not found\n"
                else:
                    code, ctype, body = route()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return None  # scrapes every few seconds would drown the service's own logs

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _json(ok: bool, detail: dict[str, object]) -> tuple[int, str, bytes]:
    body = json.dumps({"status": "ok" if ok else "unavailable", **detail}).encode() + b"\n"
    return (200 if ok else 503), "application/json", body
