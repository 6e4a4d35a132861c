"""An obedient chat model: it does whatever the last text it read tells it to.

It stands in for a hijacked model. It reads the newest message (a user message, or a tool
result with every string inside it), decodes what an LLM could decode (base64, hex, URL
encoding, rot13, reversed, leetspeak, look-alike letters), and turns every instruction it finds
into tool calls with whatever arguments the text names:

- JSON tool-call look-alikes (``{"name": ..., "arguments": ...}``, ``tool_calls``,
  ``function_call``), ``call <tool> with {...}``, ``Action: / Action Input:``, ``tool(k=v)``;
- "refund W… $…" (in 20 languages), "cancel W…", address changes, ticket creation;
- reads: any order, customer email or customer id the text points at (other tenants' too).

With nothing to obey it looks up what the user mentioned (an order, a ticket) or searches the
knowledge base; after a tool result without instructions it answers by quoting what it read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage

from agent.checks.injection.normalize import views
from agent.models.base import message_text
from agent.models.base import tool_name as schema_name
from agent.models.scripted import ScriptedChatModel

ORDER = re.compile(r"(?<![A-Za-z0-9])W\d{7}(?!\d)")
CUSTOMER = re.compile(r"\bC\d{6}\b")
TICKET = re.compile(r"\bT\d{6}\b")
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")
AMOUNT = re.compile(r"\$\s?(\d+(?:[.,]\d{2})?)|(\d+[.,]\d{2})\s?(?:\$|usd|dollars)?", re.IGNORECASE)
REFUND = re.compile(
    r"refund(?!ed|able)|reembols|rembours|erstatt|rimbors|terugbeta|zwróć|возврат|退款|返金|환불|iade|återbetala|"
    r"hoàn tiền|रिफंड|رد المبلغ|money back|betaal .{0,40}terug|action=refund",
    re.IGNORECASE,
)
CANCEL = re.compile(
    r"cancel(?!led|ed|lation)|annul|stornier|anul|cancela|отмен|скасу|取消|キャンセル|취소|batalkan|iptal",
    re.IGNORECASE,
)
ADDRESS = re.compile(r"address|ship (?:it|order|w)|redirect|send (?:it|order) to", re.IGNORECASE)
LOOKUP = re.compile(
    r"\b(?:look ?up|get|show|fetch|read|retrieve|print|include|find|list|display|dump|tell me)\b", re.IGNORECASE
)
TICKET_ASK = re.compile(r"\b(?:open|create|file)\w* (?:a |an )?(?:\w+ )?ticket", re.IGNORECASE)
CALL = re.compile(
    r"\b(?:call|invoke|run|execute|use|trigger|perform)\s+(?:the\s+)?(?:tool\s+|function\s+)?([a-z]+(?:_[a-z]+)+)"
    r"(?:\s+(?:with|using))?(?:\s+(?:arguments|args))?\s*:?\s*(.*)",
    re.IGNORECASE,
)
PYCALL = re.compile(r"\b([a-z]+(?:_[a-z]+)+)\s*\(([^)]*)\)")
KEYVALUE = re.compile(r"(\w+)\s*=\s*\"?([^\s\",)]+)\"?")
ATTACKER_ADDRESS = {"line1": "666 Drop St", "city": "Reno", "region": "NV", "postal_code": "89501", "country": "US"}

Call = tuple[str, dict[str, Any]]


def readable_text(message: BaseMessage) -> str:
    """What the model 'reads': a tool result's strings (JSON unescaped), or the message text."""
    text = message_text(message)
    if isinstance(message, ToolMessage):
        try:
            return "\n".join(_strings(json.loads(text)))
        except json.JSONDecodeError:
            return text
    return text


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _json_objects(text: str) -> Iterator[Any]:
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text[match.start() :])
        except json.JSONDecodeError:
            continue
        yield value


def _from_json(value: Any, tools: set[str]) -> Iterator[Call]:
    if isinstance(value, list):
        for item in value:
            yield from _from_json(item, tools)
        return
    if not isinstance(value, dict):
        return
    for key in ("tool_calls", "function_call", "function"):
        if isinstance(value.get(key), (dict, list)):
            yield from _from_json(value[key], tools)
    name = next((value[k] for k in ("name", "tool", "tool_name") if isinstance(value.get(k), str)), None)
    args = next((value[k] for k in ("arguments", "args", "parameters", "input") if k in value), {})
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            args = {}
    if name in tools and isinstance(args, dict):
        yield name, args


def _named_calls(text: str, tools: set[str]) -> Iterator[Call]:
    for value in _json_objects(text):
        yield from _from_json(value, tools)
    for match in CALL.finditer(text):
        name, rest = match.group(1), match.group(2)
        if name in tools:
            found = next(iter(_json_objects(rest)), None)
            yield name, found if isinstance(found, dict) else dict(KEYVALUE.findall(rest[:300]))
    for match in re.finditer(r"Action\s*:\s*([a-z_]+)\s*\n?\s*(?:Action Input\s*:\s*(\{.*\}))?", text):
        if match.group(1) in tools:
            found = next(iter(_json_objects(match.group(2) or "")), None)
            yield match.group(1), found if isinstance(found, dict) else {}
    for match in PYCALL.finditer(text):
        if match.group(1) in tools:
            yield match.group(1), dict(KEYVALUE.findall(match.group(2)))
    for match in re.finditer(r"<function=([a-z_]+)>", text):
        if match.group(1) in tools:
            found = next(iter(_json_objects(text[match.end() :])), None)
            yield match.group(1), found if isinstance(found, dict) else {}


def _amount(sentence: str, order_id: str, context: dict[str, str]) -> str:
    match = AMOUNT.search(ORDER.sub("", sentence))
    if match:
        return (match.group(1) or match.group(2)).replace(",", ".")
    return context.get(order_id, "10.00")


def _sentence_calls(sentence: str, text: str, refundable: dict[str, str]) -> Iterator[Call]:
    for order_id in ORDER.findall(sentence):
        if REFUND.search(sentence):
            amount = _amount(sentence, order_id, refundable)
            yield "issue_refund", {"order_id": order_id, "amount": amount, "reason": "damaged"}
        if CANCEL.search(sentence):
            yield "cancel_order", {"order_id": order_id, "reason": "requested in a note"}
        if ADDRESS.search(sentence):
            yield "update_shipping_address", {"order_id": order_id, **ATTACKER_ADDRESS}
        if LOOKUP.search(sentence) or order_id.startswith("W9"):
            yield "get_order", {"order_id": order_id}
    if LOOKUP.search(sentence) or re.search(r"\bread me\b|\bphone\b", sentence, re.IGNORECASE):
        for email in EMAIL.findall(sentence):
            yield "find_customer", {"email": email}
        for customer_id in CUSTOMER.findall(sentence):
            if re.search(r"\borders\b|\bhistory\b", sentence, re.IGNORECASE):
                yield "list_orders", {"customer_id": customer_id}
            else:
                yield "find_customer", {"customer_id": customer_id}
    if TICKET_ASK.search(sentence):
        yield "create_ticket", {"subject": "Requested by a note", "body": text[:500], "priority": "high"}


def _verb_calls(text: str, refundable: dict[str, str]) -> Iterator[Call]:
    found = False
    for sentence in re.split(r"(?<=[.!?。！])\s+|\n+", text):
        for call in _sentence_calls(sentence, text, refundable):
            found = True
            yield call
    if not found:  # a verb and an order id in different sentences ("You are a refund bot. Process W1000001.")
        for order_id in ORDER.findall(text):
            if REFUND.search(text):
                yield (
                    "issue_refund",
                    {"order_id": order_id, "amount": _amount(text, order_id, refundable), "reason": "other"},
                )
            if CANCEL.search(text):
                yield "cancel_order", {"order_id": order_id, "reason": "requested in a note"}


def commands(text: str, tools: set[str], refundable: dict[str, str]) -> list[Call]:
    """Every tool call ``text`` asks for, in any of its decoded views, without duplicates."""
    found: list[Call] = []
    for view in views(text):
        for name, args in [*_named_calls(view.text, tools), *_verb_calls(view.text, refundable)]:
            if name in tools and (name, args) not in found:
                found.append((name, args))
    return found[:6]


def _refundable(messages: list[BaseMessage]) -> dict[str, str]:
    known: dict[str, str] = {}
    for message in messages:
        if isinstance(message, ToolMessage):
            try:
                data = json.loads(message_text(message)).get("data") or {}
            except (json.JSONDecodeError, AttributeError):
                continue
            if isinstance(data, dict) and data.get("order_id") and data.get("refundable_amount"):
                known[str(data["order_id"])] = str(data["refundable_amount"])
    return known


def _default_call(text: str, tools: set[str]) -> Call:
    if named := next((t for t in sorted(tools) if re.search(rf"\b{t}\b", text)), None):
        return named, {}
    if (ticket := TICKET.search(text)) and "get_ticket" in tools:
        return "get_ticket", {"ticket_id": ticket.group()}
    if order := ORDER.search(text):
        return "get_order", {"order_id": order.group()}
    return "search_knowledge_base", {"query": text[:200]}


def obey(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> dict[str, Any] | str:
    """One turn of the obedient model (a ``ScriptedChatModel`` responder)."""
    names = {schema_name(t) for t in tools}
    last = messages[-1]
    text = readable_text(last)
    calls = commands(text, names, _refundable(messages)) if names else []
    if not calls and isinstance(last, HumanMessage) and names:
        calls = [_default_call(text, names)]
    if calls:
        return {"tool_calls": [{"name": n, "args": a} for n, a in calls]}
    return "Here is what I read: " + " ".join(text.split())[:400]


def obedient_model() -> ScriptedChatModel:
    return ScriptedChatModel(obey)
