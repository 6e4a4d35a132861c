"""Local GGUF models in-process with llama-cpp-python, tool calls decoded under a grammar built
from the tools' schemas (``model.LlamaCppChatModel``, ``grammar``)."""

from agent.models.llamacpp.model import LlamaCppChatModel, read_reply, render_messages

__all__ = ["LlamaCppChatModel", "read_reply", "render_messages"]
