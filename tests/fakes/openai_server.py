"""A local fake of the OpenAI chat-completions API, for the ``openai:`` model path.

It plays scripted replies in order and records every request. A reply is a dict:

- an assistant message: ``{"content": ..., "tool_calls": [{"name": ..., "arguments": {...}}]}``;
  a tool call may give ``"raw_arguments": "<text>"`` instead (malformed JSON, for example);
- an HTTP fault: ``{"status": 429}``, ``{"status": 500}`` (``"retry_after": "1"`` adds the header);
- a transport fault: ``{"fault": "drop"}`` closes the connection without answering,
  ``{"fault": "truncate"}`` sends half of a valid body, ``{"fault": "no_choices"}`` answers 200
  with an empty ``choices`` list;
- any reply may carry ``"delay": seconds`` (a slow provider, for timeouts).

Tool call ids follow ``ids``, the quirks real servers have: ``"unique"`` (``call_<n>_<i>``, as
OpenAI), ``"per_response"`` (``call_<i>``, numbered anew in every response, as several local
servers do), ``"none"`` (no id at all) or ``"same"`` (``call_0`` for every call, duplicates within
one response included). A scripted tool call may give its own ``"id"`` (a reused or forged id).

A request with ``"stream": true`` is answered as the real API streams: server-sent events of
``chat.completion.chunk`` objects — the role, the text in pieces of a few characters, each tool
call opened by its index, id and name and then its arguments in pieces, the pieces of parallel
calls interleaved — then the finish reason and, when ``stream_options.include_usage`` is set, a
last chunk with the usage and no choices. ``"chunk_delay": seconds`` spaces the events (a slow
stream, to see tokens arrive before the reply is complete); ``sent_at`` records when each
stream's last event went out.

Requests with a wrong API key get a 401 like the real service. Served on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import threading
import time
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
    default: dict[str, Any] | None = None
    """Played when the script is exhausted (else a 500 saying so)."""
    ids: str = "unique"
    """How tool call ids are minted: unique | per_response | none | same (see the module doc)."""
    streams: bool = True
    """``False``: answer stream requests with a plain JSON body, as servers that cannot stream do."""
    sent_at: list[float] = field(default_factory=list)
    """``time.monotonic()`` at the end of each streamed reply."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def next_reply(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.requests.append(body)
            if self.replies:
                return self.replies.pop(0)
        return self.default or {"status": 500, "error": "the fake server ran out of scripted replies"}


_IDS = {
    "unique": lambda n, i: f"call_{n}_{i}",
    "per_response": lambda n, i: f"call_{i}",
    "none": lambda n, i: None,
    "same": lambda n, i: "call_0",
}


def _call(n: int, i: int, call: dict[str, Any], ids: str) -> dict[str, Any]:
    arguments = call["raw_arguments"] if "raw_arguments" in call else json.dumps(call.get("arguments", {}))
    call_id = call["id"] if "id" in call else _IDS[ids](n, i)
    minted = {"id": call_id} if call_id is not None else {}
    return {**minted, "type": "function", "function": {"name": call["name"], "arguments": arguments}}


def _completion(reply: dict[str, Any], model: str, n: int, ids: str = "unique") -> dict[str, Any]:
    calls = [_call(n, i, c, ids) for i, c in enumerate(reply.get("tool_calls", []))]
    message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
    if calls:
        message["tool_calls"] = calls
    choices = (
        []
        if reply.get("fault") == "no_choices"
        else [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}]
    )
    return {
        "id": f"chatcmpl-{n}",
        "object": "chat.completion",
        "created": 1_790_000_000,
        "model": model,
        "choices": choices,
        "usage": {"prompt_tokens": 120, "completion_tokens": 15, "total_tokens": 135},
    }


PIECE = 5  # characters of text or arguments per streamed chunk


def _pieces(text: str) -> list[str]:
    return [text[i : i + PIECE] for i in range(0, len(text), PIECE)]


def _stream_events(reply: dict[str, Any], body: dict[str, Any], n: int, ids: str) -> list[dict[str, Any]]:
    """The chunks of a streamed completion (see the module docstring)."""
    complete = _completion(reply, body.get("model", "?"), n, ids)
    message = complete["choices"][0]["message"]

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {"id": complete["id"], "object": "chat.completion.chunk", "created": 1_790_000_000,
                "model": complete["model"], "choices": [choice]}  # fmt: skip

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": piece}) for piece in _pieces(message.get("content") or "")]
    calls = message.get("tool_calls") or []
    for index, call in enumerate(calls):
        head = {"index": index, "type": "function", "function": {"name": call["function"]["name"], "arguments": ""}}
        events.append(chunk({"tool_calls": [{**head, **({"id": call["id"]} if "id" in call else {})}]}))
    split = [_pieces(call["function"]["arguments"]) for call in calls]
    for step in range(max((len(p) for p in split), default=0)):  # parallel calls' pieces interleaved
        for index, pieces in enumerate(split):
            if step < len(pieces):
                events.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": pieces[step]}}]}))
    events.append(chunk({}, complete["choices"][0]["finish_reason"]))
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append({**chunk({}), "choices": [], "usage": complete["usage"]})
    return events


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:  # keep test output clean
            pass

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _truncated(self, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True

        def _stream(self, events: list[dict[str, Any]], delay: float) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            try:
                for event in events:
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(delay)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout): as a server would
                pass
            fake.sent_at.append(time.monotonic())
            self.close_connection = True

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                fake.requests.append(body)
                error = {
                    "message": "Incorrect API key provided",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
                self._send(401, {"error": error})
                return
            reply = fake.next_reply(body)
            time.sleep(float(reply.get("delay", 0)))
            if "status" in reply:
                headers = {"Retry-After": str(reply["retry_after"])} if "retry_after" in reply else None
                self._send(
                    reply["status"],
                    {"error": {"message": reply.get("error", "fault"), "type": "server_error"}},
                    headers,
                )
            elif reply.get("fault") == "drop":
                self.close_connection = True
            elif body.get("stream") and fake.streams and "fault" not in reply:
                events = _stream_events(reply, body, len(fake.requests), fake.ids)
                self._stream(events, float(reply.get("chunk_delay", 0)))
            elif reply.get("fault") == "truncate":
                self._truncated(_completion(reply, body.get("model", "?"), len(fake.requests), fake.ids))
            else:
                self._send(200, _completion(reply, body.get("model", "?"), len(fake.requests), fake.ids))

    return Handler


@contextmanager
def fake_openai(
    replies: list[dict[str, Any]], default: dict[str, Any] | None = None, *, ids: str = "unique"
) -> Iterator[FakeOpenAI]:
    if ids not in _IDS:
        raise ValueError(f"ids must be one of {sorted(_IDS)}, got {ids!r}")
    fake = FakeOpenAI(replies=list(replies), default=default, ids=ids)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
