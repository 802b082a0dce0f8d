"""Import and export of notes and questions as JSON: round trip, and bad files import nothing."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.content.exchange import ImportRefused, export_content, import_content
from app.content.load import load_content

REPO_CONTENT = Path(__file__).resolve().parent.parent / "content"


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(REPO_CONTENT, root)
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_export_then_import_into_empty_content_gives_the_same_bank(content_copy: Path, tmp_path: Path) -> None:
    exported = export_content(load_content(content_copy, with_labels=False))
    dump = tmp_path / "bank.json"
    dump.write_text(json.dumps(exported))
    empty = tmp_path / "empty"
    (empty / "notes").mkdir(parents=True)
    (empty / "questions").mkdir()
    done = import_content(dump, empty)
    assert (done.notes, done.questions) == (len(exported["notes"]), len(exported["questions"]))
    again = load_content(empty, with_labels=False)
    assert [e for e in again.errors if e.blocking] == []
    assert {q.id: q for q in again.questions} == {q.id: q for q in load_content(content_copy, with_labels=False).questions}


def test_a_bad_question_imports_nothing_and_names_the_field(content_copy: Path, tmp_path: Path) -> None:
    question = export_content(load_content(content_copy, with_labels=False))["questions"][0]
    good = dict(question, id="brand-new-001")
    bad = dict(question, id="brand-new-002", correct="no-such-option")
    path = tmp_path / "import.json"
    path.write_text(json.dumps({"questions": [good, bad]}))
    before = _snapshot(content_copy)
    with pytest.raises(ImportRefused) as caught:
        import_content(path, content_copy)
    message = str(caught.value)
    assert "questions[1]" in message and "'correct'" in message and "no-such-option" in message
    assert _snapshot(content_copy) == before


def test_duplicate_ids_and_broken_json_are_refused(content_copy: Path, tmp_path: Path) -> None:
    question = export_content(load_content(content_copy, with_labels=False))["questions"][0]
    duplicate = tmp_path / "dup.json"
    duplicate.write_text(json.dumps({"questions": [question]}))
    with pytest.raises(ImportRefused, match="already exists"):
        import_content(duplicate, content_copy)
    broken = tmp_path / "broken.json"
    broken.write_text('{"questions": [\n  {"id": "x",\n}')
    with pytest.raises(ImportRefused, match="line 3"):
        import_content(broken, content_copy)


def test_any_unicode_imports_as_valid_toml(content_copy: Path, tmp_path: Path) -> None:
    question = export_content(load_content(content_copy, with_labels=False))["questions"][0]
    fancy = dict(question, id="unicode-001", prompt=question["prompt"] + ' Emoji 😀, music 𝄞, "quotes", back\\slash.',
                 rationale="Ünïcödé – and a tab\there.")
    path = tmp_path / "unicode.json"
    path.write_text(json.dumps({"questions": [fancy]}, ensure_ascii=True))
    assert import_content(path, content_copy)[:2] == (0, 1)
    again = {q.id: q for q in load_content(content_copy, with_labels=False).questions}
    assert again["unicode-001"].prompt.endswith('Emoji 😀, music 𝄞, "quotes", back\\slash.')
    assert again["unicode-001"].rationale == "Ünïcödé – and a tab\there."


def test_a_refused_note_leaves_no_file_behind(content_copy: Path, tmp_path: Path) -> None:
    fine = {"id": "fine-note", "title": "Fine", "related": [], "body": "## Definition\nText.\n"}
    broken = {"id": "broken-note", "title": "Broken", "related": ["no-such-note"], "body": "No sections at all."}
    path = tmp_path / "notes.json"
    path.write_text(json.dumps({"notes": [fine, broken]}))
    before = _snapshot(content_copy)
    with pytest.raises(ImportRefused, match="nothing was imported"):
        import_content(path, content_copy)
    assert _snapshot(content_copy) == before
    assert not list(content_copy.parent.glob(".import-*"))
