"""The envelope of tool messages: what the model reads back after a tool call.

Every ``ToolMessage`` the runtime writes carries JSON of one of two shapes::

    {"ok": true,  "tool": "get_order", "data": {...result...}, "note": "optional"}
    {"ok": false, "tool": "issue_refund", "error": {"kind": "business_rule", "message": "..."}}

Error kinds: the ``kind`` of the tool error (``invalid_arguments``, ``not_found``,
``business_rule``, ``unavailable``, ``tool_error``) or a runtime verdict (``rejected`` by a
reviewer, ``denied`` by policy, ``limit`` reached, ``unknown_tool``, ``timeout``).
Tool output is data, never instructions: models are told so in the system prompt.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import BaseMessage, ToolMessage


def tool_result_message(tool: str, call_id: str, data: dict[str, Any], note: str | None = None) -> ToolMessage:
    envelope: dict[str, Any] = {"ok": True, "tool": tool, "data": data}
    if note:
        envelope["note"] = note
    return ToolMessage(content=json.dumps(envelope, ensure_ascii=False), tool_call_id=call_id, name=tool)


def tool_error_message(tool: str, call_id: str, kind: str, message: str) -> ToolMessage:
    envelope = {"ok": False, "tool": tool, "error": {"kind": kind, "message": message}}
    return ToolMessage(
        content=json.dumps(envelope, ensure_ascii=False), tool_call_id=call_id, name=tool, status="error"
    )


def read_envelope(message: BaseMessage) -> dict[str, Any]:
    """The envelope of a tool message; a foreign tool message becomes ``{"ok": ..., "data": text}``."""
    content = message.content if isinstance(message.content, str) else json.dumps(message.content)
    try:
        value = json.loads(content)
    except json.JSONDecodeError:
        value = None
    if isinstance(value, dict) and "ok" in value:
        return value
    ok = getattr(message, "status", "success") != "error"
    return {"ok": ok, "tool": getattr(message, "name", None) or "", "data": {"text": content}}
