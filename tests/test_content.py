"""content/: validation with file:line errors, the `content check` command, and compiling the bank."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.content.compile import compile_bank
from app.content.errors import ContentInvalid
from app.content.load import load_content
from app.storage.bank import bank_meta, load_notes, load_questions, open_bank

REPO_ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = "questions/fine-tuning-vs-rag.toml"
NOTE = "notes/fine-tuning-vs-rag.md"


def replace_line(path: Path, number: int, new: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[number - 1] = new
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if line.strip() == text)


def errors_for(root: Path, file_suffix: str) -> list:
    return [e for e in load_content(root).errors if e.file.endswith(file_suffix)]


def test_real_content_has_no_errors(content_dir: Path) -> None:
    content = load_content(content_dir)
    assert [str(e) for e in content.errors] == []
    assert len(content.notes) >= 32 and len(content.questions) >= 224


def test_broken_toml_names_file_and_line(content_copy: Path) -> None:
    path = content_copy / QUESTIONS
    replace_line(path, 5, 'prompt = """unterminated')  # also swallows the rest of the file into a string
    replace_line(path, 3, "difficulty = = oops")
    errors = errors_for(content_copy, QUESTIONS)
    assert len(errors) == 1
    assert errors[0].line == 3 and "not valid TOML" in errors[0].message
    assert str(errors[0]).startswith(f"content/{QUESTIONS}:3:")


def test_correct_not_an_option_names_file_and_line(content_copy: Path) -> None:
    path = content_copy / QUESTIONS
    number = line_of(path, 'correct = "fine-tune"')  # the second question's answer
    replace_line(path, number, 'correct = "retrain-everything"')
    errors = [e for e in errors_for(content_copy, QUESTIONS) if "'correct'" in e.message]
    assert [(e.file, e.line) for e in errors] == [(f"content/{QUESTIONS}", number)]
    assert "retrain-everything" in errors[0].message and "fine-tuning-vs-rag-002" in errors[0].message


def test_missing_required_section_names_file_and_line(content_copy: Path) -> None:
    path = content_copy / NOTE
    replace_line(path, line_of(path, "## In interviews"), "## Interview tips")
    title_line = line_of(path, "# Fine-tuning vs RAG: choosing how to customise an LLM")
    errors = [e for e in errors_for(content_copy, NOTE) if "required section" in e.message]
    assert [(e.file, e.line) for e in errors] == [(f"content/{NOTE}", title_line)]
    assert "'## In interviews'" in errors[0].message


def test_broken_link_names_file_and_line(content_copy: Path) -> None:
    path = content_copy / NOTE
    number = line_of(path, "## Related notes") + 2
    replace_line(path, number, "- [Gone](no-such-note.md#nowhere): a link that resolves to nothing.")
    errors = [e for e in errors_for(content_copy, NOTE) if "link" in e.message]
    assert [(e.file, e.line) for e in errors] == [(f"content/{NOTE}", number)]
    assert "no-such-note#nowhere" in errors[0].message


def test_link_to_missing_section_of_existing_note(content_copy: Path) -> None:
    path = content_copy / NOTE
    number = line_of(path, "## Related notes") + 1
    replace_line(path, number, "- [RAG](rag.md#no-such-heading): the pipeline.")
    errors = [e for e in errors_for(content_copy, NOTE) if "link" in e.message]
    assert [(e.file, e.line) for e in errors] == [(f"content/{NOTE}", number)]


def test_broken_related_names_its_line(content_copy: Path) -> None:
    path = content_copy / NOTE
    number = next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith("related:"))
    replace_line(path, number, "related: rag, no-such-note")
    errors = [e for e in errors_for(content_copy, NOTE) if "related" in e.message]
    assert [(e.file, e.line) for e in errors] == [(f"content/{NOTE}", number)]


def run_check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", "content", "check", "--dir", str(root)],
                          cwd=REPO_ROOT, capture_output=True, text=True, check=False)


def test_content_check_command_passes_on_real_content(content_dir: Path) -> None:
    result = run_check(content_dir)
    assert result.returncode == 0, result.stderr
    assert "content OK" in result.stdout


def test_content_check_command_fails_with_file_and_line(content_copy: Path) -> None:
    path = content_copy / QUESTIONS
    number = line_of(path, 'correct = "rag"')
    replace_line(path, number, 'correct = "nope"')
    result = run_check(content_copy)
    assert result.returncode == 1
    assert f"content/{QUESTIONS}:{number}:" in result.stderr
    assert "problem(s) found" in result.stderr


def test_compile_is_idempotent_and_follows_changes(content_copy: Path, tmp_path: Path) -> None:
    db = open_bank(tmp_path / "bank.db")
    first = compile_bank(db, content_copy)
    content = load_content(content_copy, with_labels=False)
    assert first.compiled and first.notes == len(content.notes) >= 32 and first.questions == len(content.questions) >= 224
    assert compile_bank(db, content_copy).compiled is False
    path = content_copy / NOTE
    path.write_text(path.read_text(encoding="utf-8").replace("Fine-tuning and retrieval-augmented generation",
                                                             "Fine-tuning and RAG (retrieval-augmented generation)"))
    again = compile_bank(db, content_copy)
    assert again.compiled and again.content_hash != first.content_hash
    note = next(n for n in load_notes(db) if n.id == "fine-tuning-vs-rag")
    assert "Fine-tuning and RAG (retrieval-augmented generation)" in note.body


def test_broken_content_keeps_previous_bank(content_copy: Path, tmp_path: Path) -> None:
    db = open_bank(tmp_path / "bank.db")
    good = compile_bank(db, content_copy)
    before = [q.to_dict() for q in load_questions(db)]
    path = content_copy / QUESTIONS
    replace_line(path, line_of(path, 'correct = "rag"'), 'correct = "nope"')
    with pytest.raises(ContentInvalid) as caught:
        compile_bank(db, content_copy)
    assert any(e.file.endswith(QUESTIONS) and "nope" in e.message for e in caught.value.errors)
    assert bank_meta(db, "content_hash") == good.content_hash
    assert [q.to_dict() for q in load_questions(db)] == before
    assert len(load_notes(db)) == good.notes
