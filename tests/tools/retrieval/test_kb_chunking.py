"""Loading Markdown documents and cutting them into chunks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.retrieval import Document, chunk_document, load_documents, make_document

DOC = """# Returns policy

Intro paragraph.

## Window

Thirty days.

### Electronics

Fifteen days.

## Empty section
## Costs

Labels cost $6.95.
"""


def test_chunks_follow_sections_and_keep_the_heading_path_as_title() -> None:
    chunks = chunk_document(make_document("returns-policy", DOC))

    assert [(c.chunk_id, c.title, c.text) for c in chunks] == [
        ("returns-policy#0", "Returns policy", "Intro paragraph."),
        ("returns-policy#1", "Returns policy › Window", "Thirty days."),
        ("returns-policy#2", "Returns policy › Window › Electronics", "Fifteen days."),
        ("returns-policy#3", "Returns policy › Costs", "Labels cost $6.95."),
    ]
    assert {c.doc_id for c in chunks} == {"returns-policy"}


def test_long_sections_split_on_paragraph_boundaries_within_max_chars() -> None:
    paragraphs = [f"Paragraph {i} " + "word " * 30 for i in range(12)]
    doc = make_document("long", "# Long\n\n## Body\n\n" + "\n\n".join(p.strip() for p in paragraphs))

    chunks = chunk_document(doc, max_chars=400)

    assert len(chunks) > 1
    assert all(len(c.text) <= 400 for c in chunks)
    assert all(c.title == "Long › Body" for c in chunks)
    # Nothing lost, nothing cut mid-paragraph: every chunk is whole paragraphs.
    rejoined = [p for c in chunks for p in c.text.split("\n\n")]
    assert rejoined == [p.strip() for p in paragraphs]
    assert [c.chunk_id for c in chunks] == [f"long#{i}" for i in range(len(chunks))]


def test_an_oversized_paragraph_splits_on_sentences_then_words() -> None:
    sentence = "This sentence is about returning a tent within thirty days. "
    long_word = "x" * 250
    doc = make_document("p", "# P\n\n" + sentence * 20 + "\n\n" + long_word)

    chunks = chunk_document(doc, max_chars=200)

    assert all(len(c.text) <= 200 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks[:-2])
    assert "".join(c.text for c in chunks[-2:]).endswith(long_word[-50:])


def test_headings_inside_code_fences_are_text() -> None:
    doc = make_document("code", "# Code\n\n```\n# not a heading\n```\n\nAfter.\n")

    chunks = chunk_document(doc)

    assert len(chunks) == 1
    assert "# not a heading" in chunks[0].text


def test_title_falls_back_to_the_doc_id_without_a_top_heading() -> None:
    assert make_document("faq", "Just text.").title == "faq"
    assert chunk_document(make_document("faq", "Just text."))[0].title == "faq"


def test_max_chars_must_be_sensible() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        chunk_document(make_document("a", "# A\n\ntext"), max_chars=10)


def test_load_documents_reads_markdown_files_by_stem(tmp_path: Path) -> None:
    (tmp_path / "b-doc.md").write_text("# B\n\ntext b", encoding="utf-8")
    (tmp_path / "a-doc.md").write_text("# A title\n\ntext a", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")

    docs = load_documents(tmp_path)

    assert [(d.doc_id, d.title) for d in docs] == [("a-doc", "A title"), ("b-doc", "B")]
    assert docs[0].source_path == str(tmp_path / "a-doc.md")


def test_load_documents_rejects_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_documents(tmp_path / "nope")


def test_content_hash_changes_with_the_text() -> None:
    a = Document(doc_id="a", title="A", text="one")
    assert a.content_hash == Document(doc_id="a", title="A", text="one").content_hash
    assert a.content_hash != Document(doc_id="a", title="A", text="two").content_hash


def test_the_commerce_knowledge_base_is_well_formed(kb_dir: Path) -> None:
    docs = load_documents(kb_dir)

    assert len(docs) >= 22
    for doc in docs:
        words = len(doc.text.split())
        assert doc.text.startswith("# "), doc.doc_id
        assert "\n## " in doc.text, doc.doc_id
        assert 250 <= words <= 700, (doc.doc_id, words)
        chunks = chunk_document(doc)
        assert all(len(c.text) <= 800 for c in chunks), doc.doc_id
        assert all(c.title.startswith(doc.title) for c in chunks), doc.doc_id
