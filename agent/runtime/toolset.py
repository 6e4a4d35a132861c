"""A domain's tools as the runtime registers them: its own, plus the search over its knowledge base."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from agent.config import Settings, domain_of
from agent.errors import ConfigError, StorageUnwritable
from agent.persistence.storage import directory_problem, is_permission_error, readable_file
from tools.contract import ToolSpec
from tools.domain import Domain
from tools.registry import ToolRegistry
from tools.retrieval import build_or_load, knowledge_tools
from tools.retrieval.index import KnowledgeIndex, RetrievalMode
from tools.retrieval.store import MANIFEST


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
    specs = domain.tool_specs()
    specs += mcp_specs(settings, domain, closers if closers is not None else [])
    dirs = knowledge_dirs(settings, domain)
    if dirs is not None and domain.knowledge is not None:
        index = open_index(dirs[0], dirs[1], settings.retrieval_mode)
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
    from tools.mcp import McpTools  # noqa: PLC0415  # the mcp extra: optional, for domains with MCP servers

    specs: list[ToolSpec] = []
    for path in files:
        mcp = McpTools.from_file(path)
        closers.append(mcp.close)
        specs += mcp.specs()
    return specs


def open_index(documents: Path, index_dir: Path, mode: RetrievalMode) -> KnowledgeIndex:
    """The knowledge base's index, built or loaded; an index directory this user cannot write (or
    documents it cannot read) is a ``StorageUnwritable`` naming the path and the fix."""
    fix = f"Give this user write access to it (e.g. `chmod -R u+rwX {index_dir}`), or set TILLER_HOME elsewhere."
    # No saved index to load: say so before a build that may take minutes and then fail to save.
    if not readable_file(index_dir / MANIFEST) and (problem := directory_problem(index_dir)):
        raise StorageUnwritable(f"the search index directory {index_dir} {problem}. {fix}")
    try:
        return build_or_load(documents, index_dir, mode=mode)
    except OSError as exc:
        if not is_permission_error(exc):
            raise
        where = Path(exc.filename) if exc.filename else index_dir
        if documents in (where, *where.parents):
            read_fix = "Give this user read access to it, or set TILLER_KB_DIR to a readable folder."
            raise StorageUnwritable(
                f"the knowledge-base documents {where} cannot be read ({exc.strerror}). {read_fix}"
            ) from None
        raise StorageUnwritable(
            f"the search index directory {index_dir} cannot be written ({exc.strerror}). {fix}"
        ) from None


def build_index(settings: Settings, *, force: bool = False) -> str:
    """Build (or check) the domain's knowledge-base index; a one-line report."""
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
    index = open_index(documents, index_dir, settings.retrieval_mode)
    took = time.perf_counter() - started
    verb = f"rebuilt ({index.rebuild_reason})" if index.rebuilt else "up to date"
    return f"index {verb}: {len(index)} chunks from {documents} in {took:.2f}s → {index_dir}"
