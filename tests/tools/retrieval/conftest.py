"""Fixtures for the retrieval tests: the real knowledge base and a small throw-away one."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
KB_DIR = REPO / "tools" / "commerce" / "kb"
QUESTIONS = REPO / "scenarios" / "commerce" / "kb_questions.yaml"

SMALL_KB = {
    "returns": "# Returns\n\nItems can be returned within 30 days of delivery.\n\n"
    "## Electronics\n\nElectronics can be returned within 15 days if unopened or defective.\n",
    "shipping": "# Shipping\n\n## Canada\n\nWe ship to Canada in 5-10 business days.\n\n"
    "## European Union\n\nWe ship to the EU in 7-14 business days.\n",
    "privacy": "# Privacy\n\nWe never sell your personal information.\n",
}


@pytest.fixture
def kb_dir() -> Path:
    """The commerce knowledge base shipped in scenarios/ (read only)."""
    return KB_DIR


@pytest.fixture
def questions_path() -> Path:
    """The labelled questions for the commerce knowledge base."""
    return QUESTIONS


@pytest.fixture
def small_kb(tmp_path: Path) -> Path:
    """A three-document knowledge base in a temporary directory (safe to edit)."""
    docs = tmp_path / "kb"
    docs.mkdir()
    for doc_id, text in SMALL_KB.items():
        (docs / f"{doc_id}.md").write_text(text, encoding="utf-8")
    return docs
