"""The demo tool set: the commerce back office plus the knowledge base."""

from __future__ import annotations

from agent.config import Settings
from tools.registry import ToolRegistry


def demo_registry(settings: Settings) -> ToolRegistry:
    from tools.commerce import commerce_tools
    from tools.retrieval import build_or_load, knowledge_tools

    index = build_or_load(settings.kb_dir, settings.index_dir, mode=settings.retrieval_mode)
    return ToolRegistry([*commerce_tools(), *knowledge_tools(index)])
