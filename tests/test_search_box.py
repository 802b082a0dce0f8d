"""The notes search box on the real index with the real embedder: query expansion from the question bank, the fitted
'not in the notes' gate and its fit, the dev/test split of the learner queries, and the notes view that never shows
an empty list when dense search is up."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.metrics import split_of
from app.library import open_library
from app.rag.evaluate import evaluate, filter_split, read_queries
from app.rag.gate import GATE_FILE, fit_gate, load_gate, save_gate
from app.rag.index import Retriever, cue_model, question_cues, sync_cues
from app.storage import index_store
from app.storage.bank import load_questions, open_bank

LEARNER = sorted((Path(__file__).resolve().parent.parent / "content" / "queries" / "learner").glob("*.jsonl"))


@pytest.fixture(scope="module")
def cued_bank(indexed_bank, embedder, tmp_path_factory) -> tuple[Path, list]:
    """The indexed bank with the question bank's scenarios embedded too (what open_library does)."""
    from conftest import copy_bank
    path = copy_bank(indexed_bank[0], tmp_path_factory.mktemp("cued") / "bank.db")
    db = open_bank(path)
    cues = question_cues(load_questions(db))
    assert sync_cues(db, cues, embedder, embedder.model_id) == len({c.digest for c in cues})
    db.conn.close()
    return path, cues


@pytest.fixture(scope="module")
def retriever(cued_bank, embedder) -> Retriever:
    return Retriever(str(cued_bank[0]), embedder, embedder.model_id, cued_bank[1])


def test_expansion_from_the_question_bank_gains_on_the_dev_queries(retriever: Retriever, indexed_bank, embedder) -> None:
    plain = Retriever(str(indexed_bank[0]), embedder, embedder.model_id)
    assert retriever.expands and not plain.expands
    dev = filter_split(read_queries(LEARNER), "dev")
    expanded = evaluate(retriever, dev, methods=("hybrid",))["hybrid"]
    before = evaluate(plain, dev, methods=("hybrid",))["hybrid"]
    assert expanded["recall_at_5"] >= before["recall_at_5"] + 0.03 and expanded["mrr"] >= before["mrr"]
    assert expanded["by_kind"]["own-words"]["recall_at_5"] > before["by_kind"]["own-words"]["recall_at_5"]


def test_the_graders_boosted_search_is_not_expanded(retriever: Retriever, indexed_bank, embedder) -> None:
    plain = Retriever(str(indexed_bank[0]), embedder, embedder.model_id)
    query = "my fine tuned model forgot how to do basic math"
    assert ([h.section_id for h in retriever.search(query, 5, boost_notes=["peft"])]
            == [h.section_id for h in plain.search(query, 5, boost_notes=["peft"])])


def test_cues_are_embedded_once_and_only_the_changed_one_again(cued_bank, embedder, tmp_path: Path) -> None:
    from conftest import copy_bank
    path = copy_bank(cued_bank[0], tmp_path / "bank.db")
    db = open_bank(path)
    cues = cued_bank[1]
    assert sync_cues(db, cues, embedder, embedder.model_id) == 0
    changed = [*cues[:-1], type(cues[-1])(cues[-1].topic, cues[-1].text + " A new sentence.")]
    assert sync_cues(db, changed, embedder, embedder.model_id) == 1
    stored = index_store.stored_vector_digests(db, cue_model(embedder.model_id))
    assert stored == {c.digest for c in changed}  # the old version's vector is gone
    assert index_store.stored_vector_digests(db, embedder.model_id)  # the chunk vectors are untouched
    assert Retriever(str(path), embedder, embedder.model_id, cues).expands is False  # a cue without a vector


def test_the_shipped_gate_was_fitted_for_the_shipped_embedding_model(retriever: Retriever, embedder) -> None:
    data = json.loads(GATE_FILE.read_text(encoding="utf-8"))
    assert data["command"].startswith("python -m app fit-gate") and data["fitted_on"]["split"] == "dev"
    assert retriever.gate is not None and retriever.gate.model_id == embedder.model_id


def test_a_question_the_notes_answer_is_in_the_notes(retriever: Retriever) -> None:
    found = retriever.lookup("semantic caching", 5)
    assert found.in_notes and found.confidence > 0.5
    assert found.hits[0].note_id == "latency-cost" and len(found.hits) == 5


@pytest.mark.parametrize("query", ["zebra saxophone quilt", "how do I train a GAN to generate faces"])
def test_outside_the_notes_the_closest_sections_still_come_back(retriever: Retriever, query: str) -> None:
    found = retriever.lookup(query, 5)
    assert not found.in_notes and found.confidence < 0.5
    assert len(found.hits) == 5  # the closest sections, for the view to mark as such


def test_the_gate_catches_most_not_in_the_notes_dev_queries_and_never_empties_the_list(retriever: Retriever) -> None:
    report = evaluate(retriever, filter_split(read_queries(LEARNER), "dev"), methods=("hybrid",))
    gate = report["gate"]
    assert gate["decided_by"] == "fitted gate" and gate["answerable_empty"] == 0
    assert gate["not_in_notes_reported"] >= 0.8 * gate["not_in_notes"]
    assert gate["answerable_flagged"] <= 0.25 * gate["answerable"]


def test_fitting_separates_the_two_kinds_and_refuses_one_kind(tmp_path: Path) -> None:
    rows = [((0.30 + 0.01 * i, 1.5 + 0.02 * i), False) for i in range(10)]
    rows += [((0.45 + 0.01 * i, 2.5 + 0.02 * i), True) for i in range(30)]
    gate = fit_gate(rows, "some-model.gguf")
    assert all((gate.probability(f) >= gate.threshold) == ok for f, ok in rows)
    assert gate.weights[1] > 0 and gate.weights[2] > 0  # more similarity, more keyword evidence: more likely answerable
    path = tmp_path / "gate.json"
    save_gate(gate, "python -m app fit-gate X --split dev", {"split": "dev"}, path)
    assert load_gate(path) == gate
    with pytest.raises(ValueError, match="both"):
        fit_gate([((0.4, 2.0), True), ((0.5, 2.1), True)], "some-model.gguf")


def test_a_gate_file_with_other_features_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "gate.json"
    path.write_text(json.dumps({"features": ["top_cosine"], "model_id": "m", "mean": [0], "scale": [1],
                                "weights": [0, 1], "threshold": 0.5}), encoding="utf-8")
    with pytest.raises(ValueError, match="gate.json"):
        load_gate(path)


def test_the_split_is_by_the_hash_of_the_query_text() -> None:
    queries = read_queries(LEARNER)
    dev, test = filter_split(queries, "dev"), filter_split(queries, "test")
    assert len(dev) + len(test) == len(queries) and dev and test
    assert all(split_of(q["query"]) == "test" for q in test) and not {q["query"] for q in dev} & {q["query"] for q in test}
    assert any(not q["relevant"] for q in dev) and any(not q["relevant"] for q in test)


def test_the_notes_view_marks_the_closest_sections_when_the_notes_probably_do_not_answer(
        qtbot, bank_copy: Path, content_dir: Path, models_dir: Path) -> None:
    from app.ui.notes_view import NEAREST, RESULTS, NotesView
    library = open_library(content_dir, bank_copy, models_dir)
    view = NotesView(library)
    qtbot.addWidget(view)
    view.search_box.setText("how do I train a GAN to generate faces")
    assert view.list.count() == NEAREST and "Probably not in the notes" in view.mode_label.text()
    assert "may not answer it" in view.mode_label.text()
    assert library.expansion_ready
    view.search_box.setText("semantic caching")
    assert view.list.count() == RESULTS and "sections match, best first" in view.mode_label.text()
    assert view.list.item(0).data(256).startswith("latency-cost#")
