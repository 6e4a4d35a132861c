"""The offline model: Tiller's embedded default, a deterministic tool-calling chat model.

It needs no network and no key, and the same conversation always gets the same reply (tool
call ids included). It reads the conversation and the bound tools (``ToolSpec.model_schema()``
dicts; plain OpenAI function dicts work too, minus what ``x-tiller`` adds) and, per turn:

- **Selects a tool** for the last user message: BM25 (bm25s, English stemming) over each tool's
  name, description and ``x-tiller.examples``, chosen only when it clearly beats the others.
  General questions ("how long does shipping take?") and problem descriptions no tool fits go
  to the knowledge-base search tool (the tool whose only required argument is a free-text
  ``query``); questions ("where is my order?") only go to read tools; when unsure but the user
  typed an id, it looks that id up with a read tool. ``examples_leave_one_out`` checks that a
  tool set's examples are distinctive enough.
- **Fills arguments** from the args schema: ``pattern`` fields by regex (order and customer
  ids), emails, dates, enum values from their words ("arrived damaged" → ``damaged``, "didn't
  receive it" → ``not_received``, or phrases listed under the field's ``x-aliases``), amounts
  ("$42", "42.00 dollars", "credit 20"), a postal address, a person's name, the query text,
  short reasons and subjects, and any field written as ``field: value``. A field with
  ``x-default-from: <key>`` takes that key from an earlier tool result when the user gave none.
- **Chains a lookup**: if the tool's ``x-tiller.lookup_first`` names a bound tool that has not
  yet succeeded for the same id in the conversation, it calls that first, then the action.
- **Asks** a clarifying question naming what is missing, with an example ("Which ticket do you
  mean? Please give the ticket number, e.g. T1234567."), and reads the reply together with the
  original request. Several ids for one field ("close T1 and T2") get "which one?".
- **Answers** from tool results only: a result's ``summary`` or its key fields; knowledge-base
  passages as the one or two best-matching sentences with ``[doc#chunk]`` citations; errors
  (business rules, not found, rejected by a reviewer, denied by policy) explained with their
  message; a reviewer's ``note`` mentioned.

Its reach is deliberately narrow and it says so: one intent per message. A request it cannot
map to a tool, a question the knowledge base does not answer, or one asking for two actions
("cancel T1000001 and close T1000002") gets "I can't help with that request on my own" and an
offer to open a support ticket for a human (a "yes" opens it, if a ticket tool is bound). It
does not paraphrase, reason across several results, fill free-text fields it cannot see in the
message, or retry a failed call with new arguments. With no tools bound (the runtime's
limit-reached mode) it summarises the results gathered so far and says it stopped before
finishing.

Each reply carries ``response_metadata["tiller_offline"] = {"kind", "tool", "confident"}``;
``confident`` is false for refusals and fallback guesses, which a model router can use to
escalate to a stronger model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agent.models.base import ToolBindingChatModel, estimate_usage, resolve_tool_choice, stable_call_id
from agent.models.offline.answer import (
    action_phrase,
    answer_from_results,
    cannot_help,
    clarifying_question,
    describe,
    is_not_found,
    smalltalk_reply,
    stopped_summary,
)
from agent.models.offline.args import Filled, default_from, fill_args, find_all, in_schema_order
from agent.models.offline.conversation import METADATA_KEY, CallRecord, Conversation, read_conversation
from agent.models.offline.fields import FieldView, field_views
from agent.models.offline.select import Intent, ToolInfo, bm25_scores, choose_intent, is_smalltalk, tool_infos

_BACK_REFERENCE = re.compile(r"\b(it|that|this|same|the (order|one|same))\b", re.I)
_TICKET_WORDS = ("ticket", "escalat", "handoff", "human")


@dataclass(frozen=True)
class Reply:
    """The offline model's decision for one turn: text, or tool calls, and how it got there."""

    kind: str
    content: str = ""
    calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    tool: str | None = None
    confident: bool = True
    offer: bool = False


@dataclass(frozen=True)
class _Plan:
    intent: Intent
    text: str
    filled: Filled


def _ticket_tool(infos: Sequence[ToolInfo]) -> ToolInfo | None:
    return next((i for i in infos if any(w in i.name for w in _TICKET_WORDS) and i.has_side_effects), None)


def _request_text(conv: Conversation, infos: Sequence[ToolInfo]) -> tuple[Intent, str]:
    """The intent and the text to read it from, joining a reply to a clarifying question."""
    ticket = _ticket_tool(infos)
    if conv.offered and conv.affirms and ticket is not None:
        return Intent("tool", ticket), conv.offered
    now = choose_intent(infos, conv.request)
    if not conv.clarified or now.kind == "smalltalk":
        return now, conv.request
    combined_text = " ".join((*conv.clarified, conv.request))
    combined = choose_intent(infos, combined_text)
    # A confident new request replaces the pending one; anything else answers our question.
    if now.confident and now.kind in ("tool", "knowledge") and now.tool != combined.tool:
        return now, conv.request
    return combined, combined_text


def _from_context(view: FieldView, conv: Conversation, text: str) -> Any:
    """An id the user refers back to ("close it"), if earlier messages name exactly one."""
    if view.kind != "pattern" or not view.pattern or not _BACK_REFERENCE.search(text):
        return None
    for earlier in conv.earlier:
        found = find_all(view.pattern, earlier)
        if found:
            return found[0] if len(found) == 1 else None
    return None


def _plan(conv: Conversation, infos: Sequence[ToolInfo]) -> _Plan:
    intent, text = _request_text(conv, infos)
    if intent.tool is None:
        return _Plan(intent, text, Filled())
    fields = field_views(intent.tool.parameters)
    filled = fill_args(fields, text)
    for view in list(filled.missing):
        value = _from_context(view, conv, text)
        if value is not None:
            filled.args[view.name] = value
            filled.missing.remove(view)
    return _Plan(intent, text, filled)


def _agrees(record: CallRecord, args: Mapping[str, Any]) -> bool:
    return all(record.args.get(k) == v for k, v in args.items() if k in record.args)


def _lookup_record(conv: Conversation, lookup: ToolInfo, shared: Mapping[str, Any]) -> CallRecord | None:
    """The lookup's latest success for these args, or its failure in the current turn."""
    for record in reversed(conv.calls):
        if record.name != lookup.name or record.result is None or not _agrees(record, shared):
            continue
        if record.ok or record.current:
            return record
    return None


def _fill_defaults(fields: list[FieldView], args: dict[str, Any], conv: Conversation) -> None:
    """Fill ``x-default-from`` fields from the latest successful result that agrees on the ids."""
    for view in fields:
        if view.default_from is None or view.name in args:
            continue
        for record in reversed(conv.calls):
            if record.ok and view.default_from in record.data and _agrees(record, args):
                value = default_from(view, record.data)
                if value is not None:
                    args[view.name] = value
                break


def _below_minimum(fields: list[FieldView], args: Mapping[str, Any]) -> tuple[FieldView, Any] | None:
    """A number the conversation supplied that its field's minimum forbids."""
    for view in fields:
        value = args.get(view.name)
        if view.minimum is None or value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if number < view.minimum or (view.exclusive and number == view.minimum):
            return view, value
    return None


def _refusal(infos: Sequence[ToolInfo], why: str = "", tool: str | None = None) -> Reply:
    ticket = _ticket_tool(infos)
    return Reply(
        "refuse", cannot_help(ticket.name if ticket else None, why), tool=tool, confident=False, offer=bool(ticket)
    )


def _act(conv: Conversation, infos: Sequence[ToolInfo], plan: _Plan, tool: ToolInfo) -> Reply:
    """Ask, look up, or call ``tool``: whatever the request still needs."""
    filled = plan.filled
    if filled.unsupported:
        labels = ", ".join(v.label for v in filled.unsupported)
        return _refusal(infos, f"I can't fill in the {labels} to {action_phrase(tool.name)}", tool.name)
    if filled.missing or filled.ambiguous or filled.one_of:
        return Reply("clarify", clarifying_question(filled.missing, filled.ambiguous, filled.one_of), tool=tool.name)
    args = dict(filled.args)
    lookup = next((i for i in infos if i.name == tool.lookup_first and i != tool), None)
    if lookup is not None:
        shared = {k: v for k, v in args.items() if k in lookup.properties}
        if shared and all(r in shared for r in lookup.required):
            record = _lookup_record(conv, lookup, shared)
            if record is None:
                return Reply("call", calls=((lookup.name, shared),), tool=tool.name)
            if not record.ok:
                return Reply("answer", describe(record, plan.text), tool=tool.name)
    fields = field_views(tool.parameters)
    _fill_defaults(fields, args, conv)
    if too_small := _below_minimum(fields, args):
        # e.g. a credit of what is left to credit, when nothing is: say so, never call with it
        view, value = too_small
        bound = "more than" if view.exclusive else "at least"
        said = f"I can't {action_phrase(tool.name)}: the {view.label} would be {value}, and it must be {bound} "
        said += f"{view.minimum:g}."
        looked = next((r for r in reversed(conv.calls) if r.ok and view.default_from in r.data), None)
        return Reply("answer", said + (f" {describe(looked)}" if looked else ""), tool=tool.name)
    missing = [f for f in fields if f.required and f.name not in args]
    if missing:
        return Reply("clarify", clarifying_question(missing, {}), tool=tool.name)
    return Reply(
        "call", calls=((tool.name, in_schema_order(fields, args)),), tool=tool.name, confident=plan.intent.confident
    )


def _decide_with_tools(conv: Conversation, infos: Sequence[ToolInfo]) -> Reply:
    if not conv.request or (is_smalltalk(conv.request) and not conv.offered):
        return Reply("smalltalk", smalltalk_reply(conv.request or "hello", [i.name for i in infos]))
    plan = _plan(conv, infos)
    intent = plan.intent
    if intent.kind == "smalltalk":
        return Reply("smalltalk", smalltalk_reply(conv.request, [i.name for i in infos]))
    if intent.kind == "multiple":
        actions = " and ".join(action_phrase(n) for n in intent.others)
        return _refusal(infos, f"I can only do one thing per message, and this asks me to {actions}")
    if intent.tool is None:
        return _refusal(infos)
    tool = intent.tool
    done = [r for r in conv.current_calls if r.name == tool.name and r.result is not None]
    if not done:
        return _act(conv, infos, plan, tool)
    text = answer_from_results(conv.current_calls, tool.name, plan.text)
    if intent.kind == "knowledge" and is_not_found(text):
        return _refusal(infos, text.rstrip("."), tool.name)
    return Reply("answer", text, tool=tool.name, confident=intent.confident)


def decide(messages: Sequence[BaseMessage], tools: Sequence[Mapping[str, Any]]) -> Reply:
    """The offline model's next turn for ``messages`` with ``tools`` bound (none: tools off)."""
    conv = read_conversation(messages)
    if not tools:
        return Reply("summary", stopped_summary(conv.current_calls, conv.request), confident=False)
    return _decide_with_tools(conv, tool_infos(tools))


def _forced_call(messages: Sequence[BaseMessage], tools: Sequence[Mapping[str, Any]], must: str) -> Reply:
    """A call where ``tool_choice`` demands one and the request alone led to none: the named
    tool, or the best-scoring one, with the arguments the request states (maybe none)."""
    conv = read_conversation(messages)
    infos = tool_infos(tools)
    scores = bm25_scores(infos, conv.request or "")
    tool = next((i for i in infos if i.name == must), None) or infos[max(range(len(infos)), key=scores.__getitem__)]
    fields = field_views(tool.parameters)
    filled = fill_args(fields, conv.request or "")
    return Reply("call", calls=((tool.name, in_schema_order(fields, filled.args)),), tool=tool.name, confident=False)


def decide_with_choice(messages: Sequence[BaseMessage], tools: Sequence[Mapping[str, Any]], tool_choice: Any) -> Reply:
    """:func:`decide`, honouring ``tool_choice``: ``"none"`` never calls (its text replies stay,
    a call becomes the tools-off answer); ``"any"`` or a name always calls (see :func:`_forced_call`)."""
    offered, must = resolve_tool_choice(tools, tool_choice)
    if tool_choice == "none":
        reply = decide(messages, tools)
        return decide(messages, []) if reply.calls else reply
    reply = decide(messages, offered)
    if must is not None and not reply.calls:
        return _forced_call(messages, offered, must)
    return reply


class OfflineChatModel(ToolBindingChatModel):
    """Tiller's embedded, deterministic tool-calling model (see the module docstring for its reach).

    Use it like any LangChain chat model::

        model = OfflineChatModel().bind_tools([spec.model_schema() for spec in registry])
        reply = model.invoke(messages)
    """

    generates_in_place: ClassVar[bool] = True  # pure-Python turns: awaited on the loop, no thread hop

    model_name: str = "offline"

    @property
    def _llm_type(self) -> str:
        return "tiller-offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = list(kwargs.get("tools") or [])
        reply = decide_with_choice(messages, tools, kwargs.get("tool_choice"))
        calls = [
            {"name": name, "args": args, "id": stable_call_id(messages, i, name), "type": "tool_call"}
            for i, (name, args) in enumerate(reply.calls)
        ]
        meta = {"kind": reply.kind, "tool": reply.tool, "confident": reply.confident}
        if reply.offer:
            meta["offer"] = "ticket"
        message = AIMessage(
            content=reply.content,
            tool_calls=calls,
            response_metadata={
                "model_name": self.model_name,
                "finish_reason": "tool_calls" if calls else "stop",
                METADATA_KEY: meta,
            },
        )
        message.usage_metadata = estimate_usage(messages, tools, message)
        return ChatResult(generations=[ChatGeneration(message=message)])
