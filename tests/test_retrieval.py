"""The retrieval index over the real notes with the real embedder: search, incremental sync, BM25 fallback."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import json
import threading

import numpy as np
import pytest

from app.content.compile import compile_bank
from app.library import open_library
from app.rag import index
from app.rag.chunking import chunk_notes, plain_text
from app.rag.evaluate import evaluate, read_queries
from app.rag.index import Retriever, embed_pending, fuse, sync_index
from app.storage.bank import load_notes, open_bank

NONSENSE = "zebra saxophone quilt"


class CountingEmbed:
    """The real embedder, with a record of every text it was asked to embed."""

    def __init__(self, embed) -> None:
        self.embed, self.texts = embed, []

    def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts += list(texts)
        return self.embed(texts)


@pytest.fixture(scope="module")
def retriever(indexed_bank, embedder) -> Retriever:
    return Retriever(str(indexed_bank[0]), embedder, embedder.model_id)


def test_first_build_embeds_every_chunk(indexed_bank) -> None:
    report = indexed_bank[1]
    assert report.skipped is False and report.mode == "hybrid"
    assert report.chunks > 100 and report.embedded == report.chunks


def test_semantic_caching_finds_the_latency_cost_note(retriever: Retriever) -> None:
    assert retriever.mode == "hybrid"
    hits = retriever.search("semantic caching", 5)
    assert hits and hits[0].note_id == "latency-cost"
    assert "latency-cost#exact-and-semantic-caching" in [h.section_id for h in hits[:3]]
    assert all(h.cosine >= 0.30 for h in hits)
    assert len({h.section_id for h in hits}) == len(hits)


def test_nonsense_query_returns_nothing(retriever: Retriever) -> None:
    assert retriever.search(NONSENSE, 5) == []
    assert retriever.search(NONSENSE, 5, gate=False) != []  # the gate, not an empty index, removed them


def test_second_sync_is_skipped_and_embeds_nothing(bank_copy: Path, embedder) -> None:
    db = open_bank(bank_copy)
    counting = CountingEmbed(embedder)
    report = sync_index(db, load_notes(db), counting, embedder.model_id)
    assert report.skipped is True and report.embedded == 0 and counting.texts == []


def edit_note(root: Path, note_id: str, old: str, new: str) -> None:
    path = root / "notes" / f"{note_id}.md"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_changed_section_re_embeds_only_that_chunk(bank_copy: Path, content_copy: Path, embedder) -> None:
    db = open_bank(bank_copy)
    edit_note(content_copy, "quantization", "## Definition\n", "## Definition\nA new first sentence about int4 weights.\n")
    assert compile_bank(db, content_copy).compiled
    counting = CountingEmbed(embedder)
    report = sync_index(db, load_notes(db), counting, embedder.model_id)
    assert report.skipped is False and report.embedded == 1
    assert len(counting.texts) == 1 and "A new first sentence about int4 weights." in counting.texts[0]
    assert db["vectors"].count == report.chunks  # the old vector of that chunk is gone


def rename_quantization_note(bank: Path, content: Path):
    """Retitle the quantization note and recompile: every chunk of that note needs a new vector."""
    db = open_bank(bank)
    path = content / "notes" / "quantization.md"
    title = next(line for line in path.read_text().splitlines() if line.startswith("title: "))[7:]
    edit_note(content, "quantization", f"title: {title}", "title: Quantisation, renamed")
    assert compile_bank(db, content).compiled
    notes = load_notes(db)
    return db, notes, [c for c in chunk_notes(notes) if c.note_id == "quantization"]


def test_renamed_note_re_embeds_only_its_chunks(bank_copy: Path, content_copy: Path, embedder) -> None:
    db, notes, own = rename_quantization_note(bank_copy, content_copy)
    counting = CountingEmbed(embedder)
    report = sync_index(db, notes, counting, embedder.model_id)
    assert report.embedded == len(own) > 1
    assert sorted(counting.texts) == sorted(c.embed_text for c in own)
    assert all(text.startswith("Quantisation, renamed") for text in counting.texts)


def test_without_embeddings_the_retriever_uses_bm25(bank_copy: Path) -> None:
    db = open_bank(bank_copy)
    report = sync_index(db, load_notes(db), None, "none")
    assert report.mode == "bm25" and report.embedded == 0
    bm25 = Retriever(str(bank_copy), None, "none")
    assert bm25.dense is False and "bm25" in bm25.mode
    hits = bm25.search("semantic caching", 3)
    assert hits and hits[0].note_id == "latency-cost" and all(h.cosine == 0.0 and h.bm25 >= 2.0 for h in hits)
    assert bm25.search(NONSENSE, 5) == []


def test_open_library_reuses_the_index(bank_copy: Path, content_dir: Path, models_dir: Path) -> None:
    library = open_library(content_dir, bank_copy, models_dir)
    assert library.problems == []
    assert library.timings["index_embedded"] == 0
    hits, mode = library.retrieve("semantic caching", 3)
    assert mode == "hybrid" and hits[0].note_id == "latency-cost"


def test_open_library_without_an_embedding_model(bank_copy: Path, content_dir: Path, tmp_path: Path) -> None:
    library = open_library(content_dir, bank_copy, tmp_path)
    assert library.embedder is None
    assert any("BM25" in p for p in library.problems)
    hits, mode = library.retrieve("semantic caching", 3)
    assert "bm25" in mode and hits and hits[0].note_id == "latency-cost"


def test_plain_text_keeps_the_words_and_drops_the_markdown() -> None:
    text = "| Situation | Choose |\n|---|:--:|\n| **Codes** in *queries* | [Hybrid search](hybrid-search.md#how-it-works) |"
    assert plain_text(text).split() == ["Situation", "Choose", "Codes", "in", "queries", "Hybrid", "search"]
    assert plain_text("2*3 = 6, `k` = 5") == "2*3 = 6, k = 5"


def test_link_targets_are_not_indexed(bank_copy: Path) -> None:
    db = open_bank(bank_copy)
    assert db.execute("SELECT count(*) FROM chunks WHERE text LIKE '%.md#%'").fetchone()[0] > 0
    assert db.execute("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH '\"md\"'").fetchone()[0] == 0


def test_fusion_keeps_score_gaps_that_rank_fusion_loses() -> None:
    # chunk 0 is first for BM25 by a hair, chunk 1 first for cosine by far: reciprocal ranks would tie them
    fused = fuse(np.array([10.0, 9.9, 0.0]), np.array([0.2, 0.9, 0.1]))
    assert fused[1] > fused[0] > fused[2]
    assert fuse(np.array([4.0, 2.0, 0.0]), None).tolist() == [1.0, 0.5, 0.0]


def test_a_new_index_format_rebuilds_without_re_embedding(bank_copy: Path, embedder, monkeypatch) -> None:
    db = open_bank(bank_copy)
    monkeypatch.setattr(index, "INDEX_FORMAT", index.INDEX_FORMAT + 1)
    counting = CountingEmbed(embedder)
    report = sync_index(db, load_notes(db), counting, embedder.model_id)
    assert report.skipped is False and report.embedded == 0 and counting.texts == []
    assert sync_index(db, load_notes(db), counting, embedder.model_id).skipped is True


def test_hybrid_ranks_the_labelled_sections_at_least_as_well_as_either_part(retriever: Retriever,
                                                                            content_dir: Path) -> None:
    queries = read_queries(sorted((content_dir / "queries").glob("*.jsonl")))
    report = evaluate(retriever, queries)
    assert report["hybrid"]["recall_at_5"] >= max(report["bm25"]["recall_at_5"], report["dense"]["recall_at_5"])
    assert report["hybrid"]["mrr"] >= max(report["bm25"]["mrr"], report["dense"]["mrr"])


def test_deferred_embedding_searches_by_keywords_then_resumes_after_a_cancel(
        bank_copy: Path, content_copy: Path, embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    # the GUI's first start: chunks written at once, vectors embedded later in batches that survive a cancel
    monkeypatch.setattr(index, "EMBED_BATCH", 2)
    db, notes, own = rename_quantization_note(bank_copy, content_copy)
    counting = CountingEmbed(embedder)
    report = sync_index(db, notes, counting, embedder.model_id, defer_embedding=True)
    assert report.pending == len(own) > 3 and report.embedded == 0 and counting.texts == []
    waiting = Retriever(str(bank_copy), embedder, embedder.model_id)
    assert waiting.dense is False and "still building" in waiting.mode
    assert waiting.search("semantic caching", 3)[0].note_id == "latency-cost"  # BM25 meanwhile

    cancel = threading.Event()
    seen = []
    first = embed_pending(db, notes, counting, embedder.model_id, lambda done, total: (seen.append((done, total)),
                                                                                        cancel.set()), cancel)
    assert seen == [(2, len(own))] and first.embedded == 2 and first.pending == len(own) - 2
    assert sync_index(db, notes, counting, embedder.model_id, defer_embedding=True).pending == len(own) - 2

    rest = CountingEmbed(embedder)
    second = embed_pending(db, notes, rest, embedder.model_id)
    assert second.embedded == len(own) - 2 and second.pending == 0
    assert sorted(counting.texts + rest.texts) == sorted(c.embed_text for c in own)
    assert sync_index(db, notes, rest, embedder.model_id).skipped is True
    assert db["vectors"].count == report.chunks
    assert Retriever(str(bank_copy), embedder, embedder.model_id).mode == "hybrid"


def test_not_in_the_notes_queries_are_scored_by_the_gated_search(retriever: Retriever, tmp_path: Path) -> None:
    rows = [{"query": "how much memory does a 4-bit quantized 70B model need", "relevant": ["quantization#definition"]},
            {"query": "training a GAN to generate faces", "relevant": [], "kind": "not-in-notes"}]
    good = tmp_path / "queries.jsonl"
    good.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    report = evaluate(retriever, read_queries([good]))
    assert report["hybrid"]["queries"] == 1 and report["gate"]["not_in_notes"] == 1
    assert report["gate"]["answerable_empty"] == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"query": "an answerable query with no label", "relevant": []}), encoding="utf-8")
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        read_queries([bad])
