"""The embedded offline model: deterministic tool calling from the user's words and the tools'
schemas, no network, honest about its reach (``model.OfflineChatModel``)."""

from agent.models.offline.model import OfflineChatModel

__all__ = ["OfflineChatModel"]
