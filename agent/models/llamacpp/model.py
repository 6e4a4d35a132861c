"""``LlamaCppChatModel``: a GGUF model run in-process by llama.cpp, with grammar-constrained tool calls.

Spec ``llamacpp:PATH.gguf`` (see :mod:`agent.models.factory`); needs the ``llamacpp`` extra
(llama-cpp-python, which compiles llama.cpp once per machine). One turn:

- **Prompt.** The conversation is rendered with the model's own chat template: the system
  messages, a list of the bound tools and the reply format lead; earlier tool calls become the
  JSON the model would have written, tool results become user turns ("Result of get_order: …"),
  and turns of the same role are merged (many templates insist on strict alternation).
- **Reply.** With tools bound, decoding follows a grammar built from one JSON schema:
  ``{"name": <a tool>, "arguments": <that tool's args schema>}`` or ``{"answer": <text>}``, so
  every reply is a schema-shaped tool call or a text answer (:mod:`agent.models.llamacpp.grammar`
  prepares the schemas for llama-cpp-python's grammar converter). What the grammar cannot
  express (``minimum``, ``format: email``…) is checked afterwards against the tool's real
  schema: violations are listed in ``response_metadata["llamacpp"]["schema_errors"]`` and the
  runtime's own validation hands them back to the model as an ``invalid_arguments`` tool error.
  With tools off the model answers in free text.

The ``Llama`` object is loaded lazily, once per (path, context size, threads) for the whole
process, and is not thread-safe: calls on it are serialised by a lock. ``OMP_WAIT_POLICY`` is
set to ``PASSIVE`` (unless already set) before llama.cpp is imported: with busy-waiting OpenMP
threads, generation slows about tenfold as soon as another process wants a core.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolCall, ToolMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import invalid_tool_call
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from agent.errors import ConfigError
from agent.models.base import ToolBindingChatModel, message_text, stable_call_id
from agent.models.base import tool_name as schema_name
from agent.models.llamacpp.grammar import reply_schema, resolve_ref, schema_errors, tool_parameters

ENV_THREADS = "TILLER_LLAMACPP_THREADS"
ENV_CTX = "TILLER_LLAMACPP_CTX"
ENV_MAX_TOKENS = "TILLER_LLAMACPP_MAX_TOKENS"
MAX_RESULT_CHARS = 6000
"""A tool result longer than this is cut in the prompt (the context window is the model's)."""

REPLY_FORMAT = """Reply with one JSON object and nothing else:
- to call a tool: {"name": "<tool name>", "arguments": {<its arguments>}}
- to answer the customer: {"answer": "<your reply>"}
Call a tool when you need facts or an action; answer once the tool results hold what was asked."""


class LlamaCppChatModel(ToolBindingChatModel):
    """A local GGUF chat model; bind tools with ``bind_tools`` as with any chat model.

    ``LlamaCppChatModel(model_path="model.gguf", n_threads=2)``; :meth:`from_env` reads the
    ``TILLER_LLAMACPP_*`` settings. The file is loaded on the first call.
    """

    model_path: str
    n_threads: int = Field(1, ge=1, description="CPU threads of llama.cpp; 1 on a small shared machine")
    n_ctx: int = Field(8192, ge=512, description="context window in tokens (prompt plus reply)")
    max_tokens: int = Field(512, ge=8, description="tokens one reply may take")
    temperature: float = Field(0.0, ge=0.0, description="0: greedy, the same reply for the same prompt")
    model_name: str = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not self.model_name:
            self.model_name = f"llamacpp:{Path(self.model_path).stem}"

    @classmethod
    def from_env(cls, model_path: str, environ: Mapping[str, str] = os.environ) -> LlamaCppChatModel:
        """The model at ``model_path`` with threads, context and reply size from the environment."""
        options: dict[str, Any] = {}
        for var, key in ((ENV_THREADS, "n_threads"), (ENV_CTX, "n_ctx"), (ENV_MAX_TOKENS, "max_tokens")):
            raw = environ.get(var, "").strip()
            if not raw:
                continue
            if not raw.isdigit() or int(raw) < 1:
                raise ConfigError(f"{var}={raw!r} must be a positive whole number")
            options[key] = int(raw)
        try:
            return cls(model_path=model_path, **options)
        except ValueError as exc:  # pydantic's bounds (n_ctx >= 512, max_tokens >= 8)
            raise ConfigError(f"llama.cpp settings out of range: {exc}") from None

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "n_ctx": self.n_ctx, "temperature": self.temperature}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = _chosen_tools(list(kwargs.get("tools") or []), kwargs.get("tool_choice"))
        must_call = kwargs.get("tool_choice") not in (None, "auto") and bool(tools)
        loaded = _load(self.model_path, self.n_ctx, self.n_threads)
        request: dict[str, Any] = {
            "messages": render_messages(messages, tools),
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "repeat_penalty": 1.0,  # a penalty on repeated tokens fights JSON's braces and quotes
            "stop": stop,
        }
        with loaded.lock:
            if tools:
                request["grammar"] = loaded.grammar(reply_schema(tools, must_call))
            try:
                response = loaded.llama.create_chat_completion(**request)
            except ValueError as exc:
                if "context window" not in str(exc):
                    raise
                raise ConfigError(
                    f"the conversation does not fit llama.cpp's context window ({exc}): raise {ENV_CTX} "
                    f"(now {self.n_ctx}) or lower TILLER_MAX_CONTEXT_TOKENS"
                ) from None
        choice = response["choices"][0]
        text = choice["message"].get("content") or ""
        message = read_reply(text, tools, messages, truncated=choice.get("finish_reason") == "length")
        usage = response.get("usage") or {}
        input_tokens, output_tokens = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
        message.usage_metadata = UsageMetadata(
            input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=input_tokens + output_tokens
        )
        message.response_metadata = {
            "model_name": self.model_name,
            "finish_reason": "tool_calls" if message.tool_calls else choice.get("finish_reason") or "stop",
            **message.response_metadata,
        }
        return ChatResult(generations=[ChatGeneration(message=message)])


# --- loading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Loaded:
    llama: Any
    lock: threading.Lock

    def grammar(self, schema: dict[str, Any]) -> Any:
        return _grammar(json.dumps(schema, sort_keys=True), self)


_LOADED: dict[tuple[str, int, int], _Loaded] = {}
_LOAD_LOCK = threading.Lock()


def _load(model_path: str, n_ctx: int, n_threads: int) -> _Loaded:
    """The process-wide ``Llama`` for these settings, loaded on first use."""
    key = (str(Path(model_path).resolve()), n_ctx, n_threads)
    with _LOAD_LOCK:
        if key not in _LOADED:
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read by OpenMP when llama.cpp loads
            try:
                from llama_cpp import Llama  # noqa: PLC0415  # the llamacpp extra: optional
            except ImportError:
                raise ConfigError(
                    "llamacpp models need llama-cpp-python: pip install -e '.[llamacpp]' "
                    "(compiles llama.cpp, ~5 min once per machine)"
                ) from None
            try:
                llama = Llama(
                    model_path=key[0], n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads, verbose=False
                )
            except (ValueError, RuntimeError, OSError) as exc:
                raise ConfigError(f"llama.cpp cannot load the GGUF model {model_path}: {exc}") from None
            if not _LOADED:
                atexit.register(_close_all)
            _LOADED[key] = _Loaded(llama, threading.Lock())
        return _LOADED[key]


def _close_all() -> None:
    """Free the models while llama_cpp is still importable: left to the garbage collector at
    interpreter shutdown, ``Llama.__del__`` runs after its module globals are gone and prints
    a TypeError traceback for each model."""
    with _LOAD_LOCK:
        for loaded in _LOADED.values():
            loaded.llama.close()
        _LOADED.clear()


@lru_cache(maxsize=32)
def _grammar(schema_json: str, loaded: _Loaded) -> Any:
    """The decoding grammar for a reply schema, checked by llama.cpp's own grammar parser."""
    from llama_cpp import LlamaGrammar, llama_cpp  # noqa: PLC0415  # the llamacpp extra: optional

    grammar = LlamaGrammar.from_json_schema(schema_json, verbose=False)
    # llama.cpp returns NULL for a grammar it cannot parse, and a NULL sampler crashes the
    # process at the first token: parse it once here and fail with an exception instead.
    vocab = getattr(getattr(loaded.llama, "_model", None), "vocab", None)  # private in llama-cpp-python 0.3
    if vocab is None:
        return grammar
    sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar._grammar.encode(), grammar._root.encode())
    if not sampler:
        raise ValueError(f"llama.cpp rejected the tool-call grammar built from {schema_json[:300]}")
    llama_cpp.llama_sampler_free(sampler)
    return grammar


# --- which tools -------------------------------------------------------------------------


def _chosen_tools(tools: list[dict[str, Any]], tool_choice: Any) -> list[dict[str, Any]]:
    """The tools the reply may call: all, none (``"none"``) or the one ``tool_choice`` names."""
    if tool_choice == "none":
        return []
    name = tool_choice if isinstance(tool_choice, str) else None
    if isinstance(tool_choice, Mapping):
        name = tool_choice.get("function", {}).get("name") or tool_choice.get("name")
    if name and name not in ("auto", "any", "required"):
        return [t for t in tools if schema_name(t) == name]
    return tools


# --- prompt and reply ----------------------------------------------------------------------


def render_messages(messages: Sequence[BaseMessage], tools: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The conversation as ``{"role", "content"}`` turns any chat template accepts."""
    leading = 0
    while leading < len(messages) and isinstance(messages[leading], SystemMessage):
        leading += 1
    system = [message_text(m) for m in messages[:leading]]
    if tools:
        system += [describe_tools(tools), REPLY_FORMAT]
    system_text = "\n\n".join(s for s in system if s)
    turns = [{"role": "system", "content": system_text}] if system_text else []
    names = {c["id"]: c["name"] for m in messages if isinstance(m, AIMessage) for c in m.tool_calls if c["id"]}
    for message in messages[leading:]:
        role, content = _turn(message, names, bool(tools))
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n\n" + content
        else:
            turns.append({"role": role, "content": content})
    return turns


def _turn(message: BaseMessage, names: Mapping[str, str], json_replies: bool) -> tuple[str, str]:
    text = message_text(message)
    if isinstance(message, AIMessage):
        if message.tool_calls:
            calls = [json.dumps({"name": c["name"], "arguments": c["args"]}) for c in message.tool_calls]
            return "assistant", "\n".join(calls)
        return "assistant", json.dumps({"answer": text}) if json_replies else text
    if isinstance(message, ToolMessage):
        name = message.name or names.get(message.tool_call_id, "the tool")
        cut = text if len(text) <= MAX_RESULT_CHARS else text[:MAX_RESULT_CHARS] + " …[cut]"
        return "user", f"Result of {name}: {cut}"
    if isinstance(message, SystemMessage):
        return "user", f"(Instruction) {text}"
    return "user", text


def describe_tools(tools: Sequence[Mapping[str, Any]]) -> str:
    """The bound tools in a few lines each: name, what it does, its arguments."""
    lines = ["Tools you can call:"]
    for tool in tools:
        function = tool.get("function", {})
        summary = next(iter(str(function.get("description", "")).strip().splitlines()), "")
        lines.append(f"- {function.get('name')}: {summary}")
        params = tool_parameters(tool)
        required = set(params.get("required", []))
        for name, prop in (params.get("properties") or {}).items():
            lines.append(f"    {name}: {_describe_field(prop, name in required, params)}")
    return "\n".join(lines)


def _describe_field(prop: Mapping[str, Any], required: bool, root: Mapping[str, Any]) -> str:
    options = [resolve_ref(root, p["$ref"]) or {} if "$ref" in p else p for p in prop.get("anyOf", [prop])]
    options = [p for p in options if p.get("type") != "null"]
    kinds = [str(p["type"]) for p in options if "type" in p]
    notes = ["/".join(kinds) or "value", "required" if required else "optional"]
    enums = [v for p in options for v in p.get("enum", [])]
    if enums:
        notes.append("one of " + ", ".join(map(str, enums)))
    if prop.get("examples"):
        notes.append(f"e.g. {prop['examples'][0]}")
    description = str(prop.get("description", "")).strip()
    return f"({'; '.join(notes)}) {description}".strip()


def read_reply(
    text: str, tools: Sequence[Mapping[str, Any]], messages: Sequence[BaseMessage], *, truncated: bool = False
) -> AIMessage:
    """The model's text as an ``AIMessage``: a tool call, a text answer, or an invalid tool call."""
    if not tools:
        return AIMessage(content=text.strip())
    try:
        reply = json.loads(text, strict=False)  # the grammar's strings admit raw control characters
    except json.JSONDecodeError:
        return _unfinished(text, messages, truncated)
    if "answer" in reply:
        return AIMessage(content=str(reply["answer"]).strip())
    name, args = str(reply["name"]), reply.get("arguments") or {}
    call_id = stable_call_id(messages, 0, name)
    tool = next(t for t in tools if schema_name(t) == name)
    errors = schema_errors(args, tool_parameters(tool))
    call = ToolCall(name=name, args=args, id=call_id, type="tool_call")
    meta = {"llamacpp": {"schema_errors": errors}} if errors else {}
    return AIMessage(content="", tool_calls=[call], response_metadata=meta)


_NAME_SO_FAR = re.compile(r'^\s*\{\s*"name"\s*:\s*"([^"]+)"')
_ANSWER_SO_FAR = re.compile(r'^\s*\{\s*"answer"\s*:\s*"(.*)', re.S)


def _unfinished(text: str, messages: Sequence[BaseMessage], truncated: bool) -> AIMessage:
    """A reply the grammar did not get to close (it ran into ``max_tokens``)."""
    why = "the reply was cut off at the token limit" if truncated else "the reply is not complete JSON"
    answer = _ANSWER_SO_FAR.match(text)
    if answer:
        try:
            return AIMessage(content=json.loads('"' + answer.group(1).rstrip("\\") + '"').strip() + " …")
        except json.JSONDecodeError:
            return AIMessage(content=answer.group(1).strip() + " …")
    found = _NAME_SO_FAR.match(text)
    name = found.group(1) if found else None
    call_id = stable_call_id(messages, 0, name or "tool")
    return AIMessage(content="", invalid_tool_calls=[invalid_tool_call(name=name, args=text, id=call_id, error=why)])
