"""Tiller's own chat models (the OpenAI adapter and the spec factory live in ``factory``).

- :class:`OfflineChatModel`: the embedded default; deterministic, no network, honest about reach.
- :class:`ScriptedChatModel`: plays a script of turns, for tests.
- :class:`ReplayChatModel` / :class:`CassetteRecorder`: play back / record model turns.

All are LangChain chat models; bind tools as ``ToolSpec.model_schema()`` dicts with
``bind_tools``. Errors are described in :mod:`agent.models.errors`.
"""

from agent.models.base import ToolBindingChatModel
from agent.models.errors import CassetteError, ModelAdapterError, ScriptExhausted, ToolChoiceViolated
from agent.models.offline import OfflineChatModel
from agent.models.offline.select import ExampleMiss, examples_leave_one_out
from agent.models.replay import Cassette, CassetteRecorder, CassetteTurn, ReplayChatModel, load_cassette, save_cassette
from agent.models.scripted import ScriptedCall, ScriptedChatModel

__all__ = [
    "Cassette",
    "CassetteError",
    "CassetteRecorder",
    "CassetteTurn",
    "ExampleMiss",
    "ModelAdapterError",
    "OfflineChatModel",
    "ReplayChatModel",
    "ScriptExhausted",
    "ScriptedCall",
    "ScriptedChatModel",
    "ToolBindingChatModel",
    "ToolChoiceViolated",
    "examples_leave_one_out",
    "load_cassette",
    "save_cassette",
]
