"""The persisted index: load when nothing changed, rebuild when documents or parameters did."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tools.retrieval import ChunkingParams, build_or_load
from tools.retrieval import store as store_module


def _forbid_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the index was rebuilt")

    monkeypatch.setattr(store_module, "index_chunks", fail)


def test_first_call_builds_and_second_loads_without_rebuilding(
    small_kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir = tmp_path / "index"
    first = build_or_load(small_kb, index_dir, mode="bm25")
    _forbid_rebuild(monkeypatch)

    second = build_or_load(small_kb, index_dir, mode="bm25")

    assert (first.rebuilt, first.rebuild_reason) == (True, "no saved index")
    assert (second.rebuilt, second.rebuild_reason) == (False, "up to date")
    assert second.chunks == first.chunks
    assert second.search("electronics returned") == first.search("electronics returned")


def test_manifest_records_document_hashes_and_parameters(small_kb: Path, tmp_path: Path) -> None:
    build_or_load(small_kb, tmp_path / "index", mode="bm25", chunking=ChunkingParams(max_chars=500))

    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())

    assert set(manifest["documents"]) == {"returns", "shipping", "privacy"}
    assert all(len(h) == 64 for h in manifest["documents"].values())
    assert manifest["params"]["chunking"]["max_chars"] == 500
    assert manifest["params"]["dense_model"] is None
    assert (tmp_path / "index" / manifest["build"] / "bm25").is_dir()


def test_changing_a_document_rebuilds(small_kb: Path, tmp_path: Path) -> None:
    build_or_load(small_kb, tmp_path / "index", mode="bm25")
    (small_kb / "privacy.md").write_text("# Privacy\n\nWe keep order records for 7 years.\n", encoding="utf-8")

    index = build_or_load(small_kb, tmp_path / "index", mode="bm25")

    assert index.rebuilt and index.rebuild_reason == "changed: privacy"
    assert index.search("order records years")[0].doc_id == "privacy"
    assert not build_or_load(small_kb, tmp_path / "index", mode="bm25").rebuilt


def test_adding_and_removing_documents_rebuilds(small_kb: Path, tmp_path: Path) -> None:
    build_or_load(small_kb, tmp_path / "index", mode="bm25")
    (small_kb / "warranty.md").write_text("# Warranty\n\nTwo years on Acme gear.\n", encoding="utf-8")

    added = build_or_load(small_kb, tmp_path / "index", mode="bm25")
    (small_kb / "shipping.md").unlink()
    removed = build_or_load(small_kb, tmp_path / "index", mode="bm25")

    assert added.rebuilt and added.rebuild_reason == "added: warranty"
    assert removed.rebuilt and removed.rebuild_reason == "removed: shipping"
    assert "shipping" not in removed.doc_ids


def test_changing_chunking_parameters_rebuilds(small_kb: Path, tmp_path: Path) -> None:
    build_or_load(small_kb, tmp_path / "index", mode="bm25")

    index = build_or_load(small_kb, tmp_path / "index", mode="bm25", chunking=ChunkingParams(max_chars=300))

    assert index.rebuilt and index.rebuild_reason == "parameters changed"


def test_only_the_current_build_is_kept(small_kb: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build_or_load(small_kb, index_dir, mode="bm25")
    (small_kb / "privacy.md").write_text("# Privacy\n\nChanged.\n", encoding="utf-8")
    build_or_load(small_kb, index_dir, mode="bm25")

    assert len(list(index_dir.glob("build-*"))) == 1
    assert not list(index_dir.glob(".staging-*"))


def test_a_damaged_saved_index_is_rebuilt(small_kb: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build_or_load(small_kb, index_dir, mode="bm25")
    manifest = json.loads((index_dir / "manifest.json").read_text())
    shutil.rmtree(index_dir / manifest["build"] / "bm25")

    index = build_or_load(small_kb, index_dir, mode="bm25")

    assert index.rebuilt and index.rebuild_reason.startswith("saved index unreadable")
    assert index.search("personal information")[0].doc_id == "privacy"


def test_an_unreadable_manifest_means_a_rebuild(small_kb: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build_or_load(small_kb, index_dir, mode="bm25")
    (index_dir / "manifest.json").write_text("{not json", encoding="utf-8")

    index = build_or_load(small_kb, index_dir, mode="bm25")

    assert index.rebuilt and index.rebuild_reason == "no saved index"


def test_moving_the_knowledge_base_rebuilds_so_source_paths_stay_true(small_kb: Path, tmp_path: Path) -> None:
    build_or_load(small_kb, tmp_path / "index", mode="bm25")
    moved = small_kb.rename(tmp_path / "moved-kb")

    index = build_or_load(moved, tmp_path / "index", mode="bm25")

    assert index.rebuilt and index.rebuild_reason == "documents directory changed"
    assert all(c.source_path and c.source_path.startswith(str(moved)) for c in index.chunks)
