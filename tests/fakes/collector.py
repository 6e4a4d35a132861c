"""A local HTTP receiver that records every request (for LangSmith and OTLP export tests)."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        data = gzip.decompress(self.body) if self.headers.get("content-encoding") == "gzip" else self.body
        return json.loads(data)


@dataclass
class Collector:
    url: str = ""
    requests: list[Received] = field(default_factory=list)


@contextmanager
def collector() -> Iterator[Collector]:
    """Answers 200 with ``{}`` to everything on 127.0.0.1 and keeps what it was sent."""
    box = Collector()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _record(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            box.requests.append(Received(self.command, self.path, headers, body))
            payload = b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_POST = do_PATCH = do_PUT = do_GET = _record

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()
