"""Retrieval over the knowledge base: Markdown documents → chunks → BM25 (+ dense) index →
query rewriting → first-stage retrieval → reranking → tool.

Typical use by the runtime::

    index = build_or_load(docs_dir, tiller_home / "index")   # rebuilds only when docs change
    registry = ToolRegistry([*domain.tool_specs(), *knowledge_tools(index, RetrievalConfig())])

``RetrievalConfig`` is the per-domain switchboard of the stages after the index;
``Retriever(index, config).search(query, k, earlier=...)`` runs them outside the tool, and
:mod:`tools.retrieval.evaluation` measures them on a domain's labelled questions.

Importing this package does not import torch or sentence-transformers; they load only when a
hybrid index is built or first searched.
"""

from tools.retrieval.config import RetrievalConfig
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
from tools.retrieval.rerank import CrossEncoderReranker, FieldedReranker, Reranker
from tools.retrieval.retriever import Retriever, SearchOutcome
from tools.retrieval.rewrite import QueryRewrite, rewrite_query
from tools.retrieval.store import build_or_load

__all__ = [
    "Chunk",
    "ChunkingParams",
    "CrossEncoderReranker",
    "Document",
    "EmbeddingsUnavailable",
    "FieldedReranker",
    "IndexParams",
    "KnowledgeIndex",
    "Passage",
    "QueryRewrite",
    "Reranker",
    "RetrievalConfig",
    "RetrievalMode",
    "Retriever",
    "SearchKnowledgeBaseArgs",
    "SearchKnowledgeBaseResult",
    "SearchOutcome",
    "build_index",
    "build_or_load",
    "chunk_document",
    "chunk_documents",
    "dense_available",
    "knowledge_tools",
    "load_documents",
    "make_document",
    "rewrite_query",
]
