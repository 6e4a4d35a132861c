"""Knowledge-base documents: loading Markdown files and cutting them into citable chunks.

A document is one Markdown file; its id is the file stem (``returns-policy.md`` → ``returns-policy``)
and its title is the first ``# `` heading. Chunks follow the Markdown sections: each keeps its
heading path as its title ("Returns policy › Electronics"), so a passage read on its own still
says what it is about. A section longer than ``max_chars`` is split on paragraph boundaries
(then sentences, then words, for paragraphs that are themselves too long). Chunk ids are
``<doc_id>#<n>``, numbered from 0 in reading order.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

# Bump when the chunking algorithm changes, so persisted indexes built by the old one rebuild.
CHUNKER_VERSION = 1
DEFAULT_MAX_CHARS = 800
TITLE_SEPARATOR = " › "

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class Document(BaseModel):
    """One source document: its id (file stem), title, full Markdown text and where it came from."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    title: str
    text: str
    source_path: str | None = None

    @property
    def content_hash(self) -> str:
        """SHA-256 of the document's id and text: what the persisted index compares to decide a rebuild."""
        return hashlib.sha256(f"{self.doc_id}\x1f{self.text}".encode()).hexdigest()


class Chunk(BaseModel):
    """A citable piece of a document: one Markdown section, or part of a long one."""

    model_config = ConfigDict(frozen=True)

    chunk_id: str
    doc_id: str
    title: str
    text: str
    source_path: str | None = None


@dataclass(frozen=True)
class ChunkingParams:
    """How documents are cut; part of the persisted manifest, so changing it forces a rebuild."""

    max_chars: int = DEFAULT_MAX_CHARS
    """Upper bound on a chunk's text length (the title is not counted)."""
    version: int = CHUNKER_VERSION
    """The chunking algorithm's version."""


def load_documents(docs_dir: str | Path) -> list[Document]:
    """Every ``*.md`` file directly in ``docs_dir``, sorted by doc id."""
    root = Path(docs_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"knowledge-base directory not found: {root}")
    return [read_document(path) for path in sorted(root.glob("*.md"))]


def read_document(path: str | Path) -> Document:
    """One Markdown file as a :class:`Document` (title from its first ``# `` heading, else its id)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    return make_document(path.stem, text, source_path=str(path))


def make_document(doc_id: str, text: str, *, source_path: str | None = None) -> Document:
    """A :class:`Document` from in-memory Markdown (benchmarks and tests build corpora this way)."""
    title = doc_id
    for line in text.splitlines():
        match = _HEADING.match(line)
        if match and len(match.group(1)) == 1:
            title = match.group(2)
            break
    return Document(doc_id=doc_id, title=title, text=text, source_path=source_path)


def chunk_documents(documents: Iterable[Document], params: ChunkingParams | None = None) -> list[Chunk]:
    """All chunks of all documents, in document order."""
    params = params or ChunkingParams()
    return [chunk for doc in documents for chunk in chunk_document(doc, params.max_chars)]


def chunk_document(doc: Document, max_chars: int = DEFAULT_MAX_CHARS) -> list[Chunk]:
    """Cut one document into chunks of at most ``max_chars`` characters of text."""
    if max_chars < 80:
        raise ValueError(f"max_chars must be at least 80, got {max_chars}")
    chunks: list[Chunk] = []
    for path, body in _sections(doc):
        title = TITLE_SEPARATOR.join(path) if path else doc.title
        for piece in _pack(_paragraphs(body), max_chars):
            chunks.append(
                Chunk(
                    chunk_id=f"{doc.doc_id}#{len(chunks)}",
                    doc_id=doc.doc_id,
                    title=title,
                    text=piece,
                    source_path=doc.source_path,
                )
            )
    return chunks


def _sections(doc: Document) -> Iterator[tuple[list[str], str]]:
    """(heading path, body) for each section that has text; headings inside code fences are text."""
    path: list[tuple[int, str]] = []
    body: list[str] = []
    in_fence = False
    for line in doc.text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            body.append(line)
            continue
        if "".join(body).strip():
            yield [title for _, title in path], "\n".join(body)
        body = []
        level = len(match.group(1))
        path = [(lvl, title) for lvl, title in path if lvl < level] + [(level, match.group(2))]
    if "".join(body).strip():
        yield [title for _, title in path], "\n".join(body)


def _paragraphs(body: str) -> list[str]:
    """Blank-line separated blocks, each with its lines' trailing space removed."""
    blocks = re.split(r"\n\s*\n", body.strip())
    return ["\n".join(line.rstrip() for line in block.strip().splitlines()) for block in blocks if block.strip()]


def _pack(paragraphs: list[str], max_chars: int) -> list[str]:
    """Greedily join paragraphs into pieces of at most ``max_chars``, splitting oversized ones."""
    pieces: list[str] = []
    current = ""
    for para in paragraphs:
        for part in _split_long(para, max_chars):
            candidate = f"{current}\n\n{part}" if current else part
            if len(candidate) <= max_chars:
                current = candidate
            else:
                pieces.append(current)
                current = part
    if current:
        pieces.append(current)
    return pieces


def _split_long(text: str, max_chars: int) -> list[str]:
    """A paragraph as parts of at most ``max_chars``: on sentence ends, then on spaces, then hard."""
    if len(text) <= max_chars:
        return [text]
    parts: list[str] = []
    current = ""
    for unit in _units(text, max_chars):
        candidate = f"{current} {unit}" if current else unit
        if len(candidate) <= max_chars:
            current = candidate
        else:
            parts.append(current)
            current = unit
    if current:
        parts.append(current)
    return parts


def _units(text: str, max_chars: int) -> Iterator[str]:
    """Sentences no longer than ``max_chars``; longer ones broken into words, and words into slices."""
    for sentence in _SENTENCE_END.split(text):
        if len(sentence) <= max_chars:
            yield sentence
            continue
        for word in sentence.split():
            for start in range(0, len(word), max_chars):
                yield word[start : start + max_chars]
