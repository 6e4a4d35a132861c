"""A domain's tools as the runtime registers them: its own, plus the search over its knowledge base."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent.config import Settings, domain_of
from tools.contract import ToolSpec
from tools.domain import Domain
from tools.registry import ToolRegistry


def knowledge_dirs(settings: Settings, domain: Domain) -> tuple[Path, Path] | None:
    """``(documents, index directory)`` of the domain's knowledge base (``None``: it has none).
    ``TILLER_KB_DIR`` replaces the documents of the settings' own domain; each domain keeps its
    index under ``TILLER_HOME/index/<domain>``."""
    if domain.knowledge is None:
        return None
    own = domain is domain_of(settings)
    documents = settings.kb_dir if own and settings.kb_dir is not None else domain.knowledge.documents
    return documents, settings.index_dir / domain.name


def domain_registry(
    settings: Settings, domain: Domain, closers: list[Callable[[], None]] | None = None
) -> ToolRegistry:
    """Every tool an agent of ``domain`` may call: its own, the search over its knowledge base,
    and the tools of its MCP servers (the domain's file, and ``TILLER_MCP_SERVERS`` for the
    settings' own domain). The MCP sessions' ``close`` is appended to ``closers``."""
    from tools.retrieval import build_or_load, knowledge_tools

    specs = domain.tool_specs()
    specs += mcp_specs(settings, domain, closers if closers is not None else [])
    dirs = knowledge_dirs(settings, domain)
    if dirs is not None and domain.knowledge is not None:
        index = build_or_load(dirs[0], dirs[1], mode=settings.retrieval_mode)
        kb = domain.knowledge
        specs += knowledge_tools(index, kb.retrieval, description=kb.tool_description, examples=kb.tool_examples)
    return ToolRegistry(specs)


def mcp_specs(settings: Settings, domain: Domain, closers: list[Callable[[], None]]) -> list[ToolSpec]:
    """The tools of the domain's MCP servers files, their sessions opened (and closed by ``closers``)."""
    files = [domain.mcp_servers] if domain.mcp_servers is not None else []
    if settings.mcp_servers is not None and domain is domain_of(settings):
        files.append(settings.mcp_servers)
    if not files:
        return []
    from tools.mcp import McpTools

    specs: list[ToolSpec] = []
    for path in files:
        mcp = McpTools.from_file(path)
        closers.append(mcp.close)
        specs += mcp.specs()
    return specs


def build_index(settings: Settings, *, force: bool = False) -> str:
    """Build (or check) the domain's knowledge-base index; a one-line report."""
    import shutil
    import time

    from agent.errors import ConfigError
    from tools.retrieval import build_or_load

    domain = domain_of(settings)
    dirs = knowledge_dirs(settings, domain)
    if dirs is None:
        return f"{domain.name} has no knowledge base: nothing to index"
    documents, index_dir = dirs
    if not documents.is_dir():
        raise ConfigError(f"knowledge base folder {documents} does not exist; set TILLER_KB_DIR")
    started = time.perf_counter()
    if force:
        shutil.rmtree(index_dir, ignore_errors=True)
    index = build_or_load(documents, index_dir, mode=settings.retrieval_mode)
    took = time.perf_counter() - started
    verb = f"rebuilt ({index.rebuild_reason})" if index.rebuilt else "up to date"
    return f"index {verb}: {len(index)} chunks from {documents} in {took:.2f}s → {index_dir}"
