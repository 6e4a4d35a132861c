"""The persisted index: a manifest, rebuild detection and crash-safe swaps.

Layout under the index directory (the runtime passes ``<TILLER_HOME>/index``)::

    manifest.json         what the current build was made from: format, bm25s version, the
                          documents directory, index parameters (chunking, analyzer, BM25,
                          dense model),
                          the content hash of every source document, and the build's folder
    build-<fingerprint>/  bm25/ (the bm25s index), chunks.json, vectors.npy (hybrid only)

:func:`build_or_load` hashes the documents and compares them and the parameters with the
manifest: when all match it loads the build (cheap: a few .npy files and two JSON files);
otherwise it rebuilds. A build is written to a temporary folder, renamed into place, and only
then does the manifest (replaced atomically) point at it: a crash mid-build leaves the previous
index intact, and two processes rebuilding at once both end up with a complete build.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bm25s

from tools.canonical import canonical_json, digest
from tools.files import write_atomically
from tools.retrieval.documents import ChunkingParams, Document, chunk_documents, load_documents
from tools.retrieval.index import IndexParams, KnowledgeIndex, RetrievalMode, index_chunks, index_params

MANIFEST = "manifest.json"
# Bump when the on-disk layout changes, so older builds are rebuilt rather than misread.
STORE_FORMAT = 1


def build_or_load(
    docs_dir: str | Path,
    index_dir: str | Path,
    *,
    mode: RetrievalMode = "auto",
    chunking: ChunkingParams | None = None,
) -> KnowledgeIndex:
    """The index of the Markdown documents in ``docs_dir``, persisted under ``index_dir``.

    Rebuilds only when a document was added, removed or changed, when ``docs_dir`` moved, or when
    the parameters (chunking, analyzer, BM25, dense model, store format) changed; otherwise loads the saved
    build. ``index.rebuilt`` and ``index.rebuild_reason`` say which happened and why.
    ``mode="auto"`` means hybrid when the embeddings extra is installed, else BM25.
    """
    documents = load_documents(docs_dir)
    params = index_params(mode, chunking)
    root = Path(index_dir)
    wanted = _manifest(Path(docs_dir).resolve(), documents, params)
    current = _read_manifest(root)
    reason = _rebuild_reason(current, wanted)
    if reason is None and current is not None:
        try:
            return KnowledgeIndex.load(root / current["build"], params, rebuild_reason="up to date")
        except (OSError, ValueError, KeyError) as exc:
            # A half-deleted or corrupted build: rebuilding is always safe.
            reason = f"saved index unreadable ({type(exc).__name__})"
    return _rebuild(documents, params, root, wanted, reason or "no saved index")


def _manifest(docs_dir: Path, documents: list[Document], params: IndexParams) -> dict[str, Any]:
    """The manifest a build of ``documents`` with ``params`` would have (minus build bookkeeping)."""
    return {
        "format": STORE_FORMAT,
        "bm25s_version": bm25s.__version__,
        # Chunks record their source file's path, so a moved knowledge base is re-indexed.
        "docs_dir": str(docs_dir),
        # A JSON round trip so it compares equal to what was read back from disk.
        "params": json.loads(json.dumps(params.as_json())),
        "documents": {doc.doc_id: doc.content_hash for doc in documents},
    }


def _fingerprint(manifest: dict[str, Any]) -> str:
    keys = ("format", "bm25s_version", "docs_dir", "params", "documents")
    return digest(canonical_json({key: manifest[key] for key in keys}))[:16]


def _read_manifest(root: Path) -> dict[str, Any] | None:
    try:
        value = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _rebuild_reason(current: dict[str, Any] | None, wanted: dict[str, Any]) -> str | None:
    """Why the saved build cannot serve (``None`` when it can)."""
    if current is None or "build" not in current:
        return "no saved index"
    checks = (
        ("format", "store format"),
        ("bm25s_version", "bm25s version"),
        ("docs_dir", "documents directory"),
        ("params", "parameters"),
    )
    for key, what in checks:
        if current.get(key) != wanted[key]:
            return f"{what} changed"
    old, new = current.get("documents") or {}, wanted["documents"]
    changes = [
        (label, sorted(ids))
        for label, ids in (
            ("added", new.keys() - old.keys()),
            ("removed", old.keys() - new.keys()),
            ("changed", {d for d in new.keys() & old.keys() if new[d] != old[d]}),
        )
        if ids
    ]
    if not changes:
        return None
    return "; ".join(f"{label}: {', '.join(ids)}" for label, ids in changes)


def _rebuild(
    documents: list[Document], params: IndexParams, root: Path, manifest: dict[str, Any], reason: str
) -> KnowledgeIndex:
    index = index_chunks(chunk_documents(documents, params.chunking), params, rebuild_reason=reason)
    build = f"build-{_fingerprint(manifest)}"
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    try:
        index.save(staging)
        try:
            staging.rename(root / build)
        except OSError:
            if not (root / build).is_dir():
                raise
            # Another process finished the identical build first; theirs is as good as ours.
            shutil.rmtree(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    full = {**manifest, "build": build, "chunks": len(index), "built_at": datetime.now(UTC).isoformat()}
    write_atomically(root / MANIFEST, json.dumps(full, indent=2, sort_keys=True))
    _remove_old_builds(root, keep=build)
    return index


def _remove_old_builds(root: Path, keep: str) -> None:
    """Best effort: a build still being read by another process may survive until next time."""
    for old in root.glob("build-*"):
        if old.name != keep and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
