"""Recorded model turns: play them back (``ReplayChatModel``) or record them (``CassetteRecorder``).

A cassette is a YAML file::

    version: 1
    model: openai:gpt-4o-mini          # the model spec that was recorded
    turns:
      - content: ""
        tool_calls: [{name: get_ticket, args: {ticket_id: T1000001}, id: call_abc}]
        usage: {input_tokens: 812, output_tokens: 19, total_tokens: 831}
      - content: Ticket T1000001 was closed on 2 May.
        usage: {input_tokens: 870, output_tokens: 12, total_tokens: 882}

The turn replayed is the number of AI messages already in the input (as for the scripted
model), so a resumed graph re-calling the model for the same step gets the same turn. Recorded
tool call ids come back as recorded (none where the provider sent none): they are the provider's
metadata, and the runtime names each call itself (``agent.loop.identity``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Final, Literal

import yaml
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from agent.models.base import (
    USAGE_ESTIMATED,
    ToolBindingChatModel,
    as_ai_message,
    count_ai_messages,
    enforce_tool_choice,
    estimate_usage,
    message_text,
    resolve_tool_choice,
    without_extensions,
)
from agent.models.errors import CassetteError
from tools.files import write_atomically

CASSETTE_VERSION: Final = 1


class RecordedCall(BaseModel):
    """One tool call of a recorded turn."""

    model_config = ConfigDict(extra="forbid")

    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None


class RecordedUsage(BaseModel):
    """Token usage of a recorded turn."""

    model_config = ConfigDict(extra="forbid")

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


class CassetteTurn(BaseModel):
    """One recorded model turn: text and/or tool calls, with its usage."""

    model_config = ConfigDict(extra="forbid")

    content: str = ""
    tool_calls: list[RecordedCall] = Field(default_factory=list)
    usage: RecordedUsage | None = None


class Cassette(BaseModel):
    """A recorded conversation's model turns, in order."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = CASSETTE_VERSION
    model: str = ""
    turns: list[CassetteTurn] = Field(default_factory=list)


def _problems(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in error.errors())


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: ~8x faster on a cassette


def load_cassette(path: str | os.PathLike[str]) -> Cassette:
    """Read and validate a cassette; raise :class:`CassetteError` naming the file on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CassetteError(f"{path}: cassette not found") from None
    except OSError as exc:
        raise CassetteError(f"{path}: cannot read cassette ({exc.strerror})") from None
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise CassetteError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise CassetteError(f"{path}: a cassette must be a mapping with version, model and turns")
    try:
        return Cassette.model_validate(data)
    except ValidationError as exc:
        raise CassetteError(f"{path}: malformed cassette: {_problems(exc)}") from None


def save_cassette(path: str | os.PathLike[str], cassette: Cassette) -> None:
    """Write a cassette as YAML, atomically (a crash never leaves half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(
        cassette.model_dump(mode="json", exclude_none=True), sort_keys=False, allow_unicode=True, width=100
    )
    write_atomically(path, text)


class ReplayChatModel(ToolBindingChatModel):
    """Replays the turns of a cassette file: ``ReplayChatModel("scenarios/x.cassette.yaml")``
    (or ``ReplayChatModel(cassette_path=...)``).

    The cassette is read once, at construction. Raises :class:`CassetteError` naming the file
    when it is missing or malformed, and when a turn is asked for that it does not hold.
    """

    generates_in_place: ClassVar[bool] = True  # pure-Python turns: awaited on the loop, no thread hop

    cassette_path: Path
    cassette: Cassette
    model_name: str = ""
    """The recorded model's spec (the cassette's ``model``), or ``replay`` when it names none."""

    def __init__(self, cassette_path: str | os.PathLike[str], **kwargs: Any) -> None:
        cassette = load_cassette(cassette_path)
        kwargs.setdefault("model_name", cassette.model or "replay")
        super().__init__(cassette_path=Path(cassette_path), cassette=cassette, **kwargs)

    @property
    def _llm_type(self) -> str:
        return "tiller-replay"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"cassette": str(self.cassette_path), "model_name": self.model_name}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        index = count_ai_messages(messages)
        turns = self.cassette.turns
        if index >= len(turns):
            raise CassetteError(
                f"{self.cassette_path}: cassette exhausted: it holds {len(turns)} turn(s) but turn {index + 1} was "
                "requested (the conversation went further than the recording)"
            )
        message = as_ai_message(turns[index].model_dump(exclude_none=True))
        enforce_tool_choice(message, kwargs, f"{self.cassette_path}: recorded turn {index + 1}")
        tools, _ = resolve_tool_choice(list(kwargs.get("tools") or []), kwargs.get("tool_choice"))
        estimated = message.usage_metadata is None  # a turn recorded without the provider's usage
        if estimated:
            message.usage_metadata = estimate_usage(messages, tools, message)
        message.response_metadata = {"model_name": self.model_name, "replay_turn": index}
        if estimated:
            message.response_metadata[USAGE_ESTIMATED] = True
        return ChatResult(generations=[ChatGeneration(message=message)])


def recorded_turn(message: AIMessage) -> CassetteTurn:
    """A model's reply as a cassette turn (text, tool calls with their ids, usage)."""
    usage = message.usage_metadata
    return CassetteTurn(
        content=message_text(message),
        tool_calls=[RecordedCall(name=c["name"], args=dict(c["args"]), id=c.get("id")) for c in message.tool_calls],
        usage=RecordedUsage(
            input_tokens=int(usage.get("input_tokens", 0)),
            output_tokens=int(usage.get("output_tokens", 0)),
            total_tokens=int(usage.get("total_tokens", 0)),
        )
        if usage
        else None,
    )


class CassetteRecorder(ToolBindingChatModel):
    """Wraps a chat model and records every turn it produces into a cassette file.

    ``CassetteRecorder(inner, path, model="openai:gpt-4o-mini")``. Each turn is written at the
    index given by the number of AI messages in the input, dropping any later turns (the
    conversation took a new path from there), and the file is saved after every turn so an
    interrupted recording keeps what it has. An existing cassette is continued.
    """

    inner: BaseChatModel
    path: Path
    model: str = ""
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, inner: BaseChatModel, path: str | os.PathLike[str], *, model: str = "", **kwargs: Any) -> None:
        super().__init__(inner=inner, path=Path(path), model=model, **kwargs)

    @property
    def _llm_type(self) -> str:
        return "tiller-recorder"

    def _bound_inner(self, kwargs: dict[str, Any]) -> Runnable[LanguageModelInput, BaseMessage]:
        tools: Sequence[dict[str, Any]] = kwargs.pop("tools", None) or []
        if tools:
            if not getattr(self.inner, "accepts_tiller_extensions", False):
                tools = without_extensions(tools)
            return self.inner.bind_tools(tools, **kwargs)
        return self.inner.bind(**kwargs) if kwargs else self.inner

    def _record(self, messages: list[BaseMessage], reply: BaseMessage) -> ChatResult:
        if not isinstance(reply, AIMessage):
            raise CassetteError(f"{self.path}: the recorded model returned {type(reply).__name__}, not an AIMessage")
        index = count_ai_messages(messages)
        with self._lock:
            cassette = load_cassette(self.path) if self.path.exists() else Cassette(model=self.model)
            if index > len(cassette.turns):
                raise CassetteError(
                    f"{self.path}: cannot record turn {index + 1}: the cassette holds only {len(cassette.turns)} "
                    "turn(s); record the conversation from its first model turn"
                )
            cassette.turns = [*cassette.turns[:index], recorded_turn(reply)]
            cassette.model = self.model or cassette.model
            save_cassette(self.path, cassette)
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self._bound_inner(kwargs).invoke(messages, stop=stop)
        return self._record(messages, reply)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = await self._bound_inner(kwargs).ainvoke(messages, stop=stop)
        return self._record(messages, reply)
