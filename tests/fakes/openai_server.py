"""A local fake of the OpenAI chat-completions API, for the ``openai:`` model path.

It plays scripted replies in order and records every request. A reply is a dict: an assistant
message (``{"content": ..., "tool_calls": [{"name": ..., "arguments": {...}}]}``) or a fault
(``{"status": 429}``, ``{"status": 500}``). Requests with a wrong API key get a 401 like the real
service. Served on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "sk-test-local-fake"


@dataclass
class FakeOpenAI:
    replies: list[dict[str, Any]]
    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""

    def next_reply(self) -> dict[str, Any]:
        if not self.replies:
            return {"status": 500, "error": "the fake server ran out of scripted replies"}
        return self.replies.pop(0)


def _completion(reply: dict[str, Any], model: str, n: int) -> dict[str, Any]:
    calls = [
        {
            "id": f"call_{n}_{i}",
            "type": "function",
            "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
        }
        for i, c in enumerate(reply.get("tool_calls", []))
    ]
    message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": f"chatcmpl-{n}",
        "object": "chat.completion",
        "created": 1_790_000_000,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 15, "total_tokens": 135},
    }


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:  # keep test output clean
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            fake.requests.append(body)
            if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                self._send(
                    401,
                    {
                        "error": {
                            "message": "Incorrect API key provided",
                            "type": "invalid_request_error",
                            "code": "invalid_api_key",
                        }
                    },
                )
                return
            reply = fake.next_reply()
            if "status" in reply:
                self._send(reply["status"], {"error": {"message": reply.get("error", "fault"), "type": "server_error"}})
                return
            self._send(200, _completion(reply, body.get("model", "?"), len(fake.requests)))

    return Handler


@contextmanager
def fake_openai(replies: list[dict[str, Any]]) -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(replies=list(replies))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
