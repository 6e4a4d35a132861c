"""Errors of Tiller's own model adapters (offline, scripted, replay).

    TillerError (agent.errors)
    └── ModelAdapterError      misuse or broken inputs of a model adapter; never transient, never retried
        ├── ScriptExhausted    a ScriptedChatModel was asked for more turns than its script holds
        ├── CassetteError      a replay cassette is missing, malformed or exhausted (names the file)
        └── ToolChoiceViolated a scripted or recorded turn contradicts the call's ``tool_choice``

The offline model raises nothing for odd conversations: it answers, asks or declines instead.
"""

from __future__ import annotations

from agent.errors import TillerError


class ModelAdapterError(TillerError):
    """A model adapter cannot produce a turn because of how it was set up or fed."""


class ScriptExhausted(ModelAdapterError):
    """The scripted model ran out of turns."""


class CassetteError(ModelAdapterError):
    """A cassette file cannot be used; the message names the file and what is wrong."""


class ToolChoiceViolated(ModelAdapterError):
    """A scripted or recorded turn does not do what ``tool_choice`` demands (a provider never
    would): the script or cassette does not fit the request it was played for."""
