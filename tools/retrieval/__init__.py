"""Retrieval over the knowledge base: Markdown documents → chunks → BM25 (+ dense) index → tool.

Typical use by the runtime::

    index = build_or_load(docs_dir, tiller_home / "index")   # rebuilds only when docs change
    registry.register(*knowledge_tools(index))                # the search_knowledge_base tool

Importing this package does not import torch or sentence-transformers; they load only when a
hybrid index is built or first searched.
"""

from tools.retrieval.dense import EmbeddingsUnavailable, dense_available
from tools.retrieval.documents import (
    Chunk,
    ChunkingParams,
    Document,
    chunk_document,
    chunk_documents,
    load_documents,
    make_document,
)
from tools.retrieval.index import IndexParams, KnowledgeIndex, Passage, RetrievalMode, build_index
from tools.retrieval.kb_tool import SearchKnowledgeBaseArgs, SearchKnowledgeBaseResult, knowledge_tools
from tools.retrieval.store import build_or_load

__all__ = [
    "Chunk",
    "ChunkingParams",
    "Document",
    "EmbeddingsUnavailable",
    "IndexParams",
    "KnowledgeIndex",
    "Passage",
    "RetrievalMode",
    "SearchKnowledgeBaseArgs",
    "SearchKnowledgeBaseResult",
    "build_index",
    "build_or_load",
    "chunk_document",
    "chunk_documents",
    "dense_available",
    "knowledge_tools",
    "load_documents",
    "make_document",
]
