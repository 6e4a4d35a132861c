"""A fixed-latency fake of the OpenAI chat-completions API, for the load test's ``slow:<ms>`` model.

``tiller serve`` runs with ``TILLER_MODEL=openai:load-fake`` and ``OPENAI_BASE_URL`` pointing here,
so every model call goes through the real provider path (langchain-openai, the SDK's HTTP client,
retries, breakers, usage and cost accounting). Each answer takes exactly ``delay_ms`` (the reply is
computed in microseconds, then the handler sleeps), so a run's model time is its number of model
calls × the delay, and everything else is the framework's.

The replies play a support agent for the load test's three kinds of message, from the last user
message and the tool calls already made after it:

- ``refund $N on order W…`` → ``get_order``, then ``issue_refund`` (a reviewer approves), then an answer;
- any other message naming an order → ``get_order``, then an answer;
- anything else → ``search_knowledge_base``, then an answer quoting the result.

Run it alone with ``python -m bench.load_model --delay-ms 200``: it prints ``listening on PORT``.
``GET /stats`` returns the number of completions served.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ORDER_ID = re.compile(r"\bW\d{7}\b")
AMOUNT = re.compile(r"\$(\d+(?:\.\d{1,2})?)")
API_KEY = "sk-load-fake"
MODEL_NAME = "load-fake"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _tool_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    # Unique ids: the idempotency ledger keys side effects by tool call id.
    call_id = "call_" + uuid.uuid4().hex[:20]
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def plan_reply(body: dict[str, Any]) -> dict[str, Any]:
    """The assistant message for a chat-completions request body."""
    messages = body.get("messages", [])
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    text = _text(messages[last_user].get("content")) if last_user >= 0 else ""
    turn = messages[last_user + 1 :]
    called = {tc["function"]["name"] for m in turn for tc in (m.get("tool_calls") or [])}
    results = [_text(m.get("content")) for m in turn if m.get("role") == "tool"]
    order = ORDER_ID.search(text)
    call: dict[str, Any] | None = None
    if body.get("tools"):
        if order and "refund" in text.lower():
            amount = AMOUNT.search(text)
            if "get_order" not in called:
                call = _tool_call("get_order", {"order_id": order.group()})
            elif "issue_refund" not in called:
                args = {"order_id": order.group(), "amount": amount.group(1) if amount else "1.00", "reason": "damaged"}
                call = _tool_call("issue_refund", args)
        elif order and "get_order" not in called:
            call = _tool_call("get_order", {"order_id": order.group()})
        elif not order and "search_knowledge_base" not in called:
            call = _tool_call("search_knowledge_base", {"query": text[:400] or "help"})
    if call is not None:
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    found = results[-1][:300] if results else "I could not find anything about that."
    return {"role": "assistant", "content": f"Here is what I found: {found}"}


def completion(body: dict[str, Any], raw_size: int) -> dict[str, Any]:
    message = plan_reply(body)
    output_tokens = 25 if message.get("tool_calls") else 60
    return {
        "id": "chatcmpl-" + uuid.uuid4().hex[:12],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "load-fake"),
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}
        ],
        # Roughly four bytes a token, so token limits and cost accounting see plausible numbers.
        "usage": {"prompt_tokens": raw_size // 4, "completion_tokens": output_tokens},
    }


def stream_body(body: dict[str, Any], answer: dict[str, Any]) -> bytes:
    """``answer`` as the server-sent events of a streamed completion (Tiller's ``openai:`` model
    streams): the message in one delta, the finish reason, then the usage when asked for."""
    choice = answer["choices"][0]
    head = {k: answer[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return head | {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    message = choice["message"]
    events = [chunk({"role": "assistant", "content": message.get("content") or ""})]
    events += [chunk({"tool_calls": [{"index": i, **c}]}) for i, c in enumerate(message.get("tool_calls") or [])]
    events.append(chunk({}, choice["finish_reason"]))
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append(head | {"choices": [], "usage": answer["usage"]})
    return b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events) + b"data: [DONE]\n\n"


class FixedLatencyServer(ThreadingHTTPServer):
    """Answers every completion after exactly ``delay_s``; counts what it served."""

    daemon_threads = True

    def __init__(self, port: int, delay_s: float) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.delay_s = delay_s
        self.calls = 0
        self._lock = threading.Lock()

    def count(self) -> None:
        with self._lock:
            self.calls += 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the SDK's connection pool reuses connections
    server: FixedLatencyServer

    def log_message(self, *_: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any], stream: bytes | None = None) -> None:
        data = json.dumps(body).encode() if stream is None else stream
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if stream is None else "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send(200, {"calls": self.server.calls, "delay_s": self.server.delay_s})

    def do_POST(self) -> None:
        started = time.perf_counter()
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            self._send(401, {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}})
            return
        request = json.loads(raw or b"{}")
        answer = completion(request, len(raw))
        self.server.count()
        time.sleep(max(0.0, self.server.delay_s - (time.perf_counter() - started)))
        self._send(200, answer, stream_body(request, answer) if request.get("stream") else None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load_model", description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay-ms", type=float, default=200.0, help="latency of every completion")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: a free one)")
    args = parser.parse_args(argv)
    server = FixedLatencyServer(args.port, args.delay_ms / 1000)
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
