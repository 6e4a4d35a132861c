"""The provenance of a planned call, from what the thread holds so far (``tools.provenance``).

The user's messages, the system prompt and every executed call's result are replayed in the
order the run met them: a result goes to the trusted or the untrusted pool by its tool's
declaration (``ToolSpec.untrusted_fields``) — and wholly to the untrusted pool when the call
that produced it was itself steered by untrusted content (an id read from a note). What the
pools hold is what the model saw: results as the tool-output guard left them. The values of a
direct call (``agent.loop.direct``) are the user's: the calling program asked for them itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import HumanMessage

from agent.loop.direct import DirectCall
from agent.loop.state import AgentState, CallStatus
from tools.contract import ToolSpec
from tools.provenance import CallProvenance, Evidence, Source, fixed_args, leaves
from tools.registry import ToolRegistry

_RAN = {CallStatus.EXECUTED.value, CallStatus.REPLAYED.value}


def _defaults(spec: ToolSpec) -> dict[str, Any]:
    return {
        name: f.default
        for name, f in spec.args_model.model_fields.items()
        if not f.is_required() and f.default_factory is None
    }


def label_call(spec: ToolSpec, args: Mapping[str, Any], evidence: Evidence) -> CallProvenance:
    """Where each free argument of a call of ``spec`` came from."""
    fixed = fixed_args(spec.args_schema(), args, _defaults(spec))
    return evidence.label(args, fixed)


def run_evidence(state: AgentState, registry: ToolRegistry, system_prompt: str) -> Evidence:
    """The thread's texts by origin, up to the calls being planned now."""
    evidence = Evidence()
    evidence.add_text(Source.SYSTEM, system_prompt, "the system prompt")
    for message in state.get("messages", []):
        if not isinstance(message, HumanMessage):
            continue
        if (direct := DirectCall.of_message(message)) is None:
            evidence.add_text(Source.USER, message.text, "the user's message")
            continue
        for _, value in leaves(direct.args):  # the program's own values as it gave them (the text says the same)
            evidence.add_text(Source.USER, str(value), "the calling program's call")
    for record in state.get("trajectory", []):
        if record.get("status") not in _RAN or record.get("result") is None:
            continue
        spec = registry.get(record["tool"])
        declared = spec.untrusted_fields if spec is not None else None
        steered = spec is not None and label_call(spec, record.get("args", {}), evidence).influence() is not None
        evidence.add_result(record["tool"], record["id"], record["result"], declared, influenced=steered)
    return evidence
