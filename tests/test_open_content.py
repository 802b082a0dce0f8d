"""Follow-ups and design rounds in content/: validation naming file, line and field, `content check`, the compiled
bank, and JSON import/export."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.content import load
from app.content.compile import compile_bank
from app.content.exchange import ImportRefused, export_content, import_content
from app.content.load import load_content
from app.core.open_items import STAGE_IDS
from app.storage.bank import load_designs, load_followups, open_bank

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "data" / "content"
FOLLOWUPS = "followups/rag.toml"
DESIGN = "design/design-support-assistant.toml"


@pytest.fixture
def open_content(content_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real notes and questions with the test follow-ups and design round instead of the real ones. That set is
    deliberately partial, so in this process a question short of follow-ups only warns (`content check` run as a
    command still requires them)."""
    monkeypatch.setattr(load, "FOLLOWUP_COVERAGE_REQUIRED", False)
    for folder in ("followups", "design"):
        shutil.rmtree(content_copy / folder, ignore_errors=True)
        shutil.copytree(FIXTURES / folder, content_copy / folder)
    return content_copy


def edit(path: Path, old: str, new: str, count: int = 1) -> int:
    """Replace the first `count` occurrences of old; returns the line of the first."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return line


def problems(root: Path, suffix: str) -> list:
    return [e for e in load_content(root).errors if e.file.endswith(suffix)]


def run_check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", "content", "check", "--dir", str(root)],
                          cwd=REPO_ROOT, capture_output=True, text=True, check=False)


def test_fixtures_load_without_problems(open_content: Path) -> None:
    content = load_content(open_content)
    assert [str(e) for e in content.errors] == []
    assert [f.id for f in content.followups] == ["rag-006-f1", "rag-006-f2", "rag-003-f1"]
    assert content.followups[0].topic == "rag" and content.followups[0].misconceptions[0].correction
    (design,) = content.designs
    assert tuple(s.id for s in design.stages) == STAGE_IDS
    assert sum(s.minutes for s in design.stages) == design.minutes == 30


def test_content_check_rejects_a_bad_followup_key_point_id(open_content: Path) -> None:
    line = edit(open_content / FOLLOWUPS, 'id = "kp2"', 'id = "point-two"')
    result = run_check(open_content)
    assert result.returncode == 1
    assert f"content/{FOLLOWUPS}:{line}: follow-up 'rag-006-f1': key_points id 'point-two' is not valid" \
           in result.stderr


def test_duplicate_key_point_unknown_question_and_bad_note_are_named(open_content: Path) -> None:
    path = open_content / FOLLOWUPS
    edit(path, 'id = "kp2"', 'id = "kp1"')
    line = edit(path, 'question = "rag-003"', 'question = "rag-999"')
    edit(path, 'id = "rag-003-f1"', 'id = "rag-999-f1"')
    note_line = edit(path, '"latency-cost"', '"latency-cost#no-such-section"')
    found = {e.message: e.line for e in problems(open_content, FOLLOWUPS)}
    assert any("key_points ids repeat: kp1" in m for m in found)
    start = line - 2  # the [[followup]] line of rag-999-f1
    assert found["follow-up 'rag-999-f1': question 'rag-999' is not in the bank"] == start
    assert found["follow-up 'rag-006-f2': cited note or section 'latency-cost#no-such-section' does not resolve"] \
        == note_line


def test_a_design_round_needs_the_five_stages(open_content: Path) -> None:
    path = open_content / DESIGN
    edit(path, 'id = "evaluation"', 'id = "testing"')
    (error,) = problems(open_content, DESIGN)
    assert "needs exactly the five [[stage]] tables requirements, architecture, data, evaluation, risks" \
           in error.message
    assert "'testing'" in error.message


def test_a_stage_without_mistakes_and_a_missing_correction_are_named(open_content: Path) -> None:
    path = open_content / DESIGN
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('correction = "Six million tokens do not fit, and 30,000 calls a day would cost far '
                                 'more than the budget."\n', ""), encoding="utf-8")
    (error,) = problems(open_content, DESIGN)
    assert not error.blocking and "stage 'data': mistakes 'm1' needs a 'correction'" in error.message
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[error.line - 1].strip() == 'id = "m1"' and "Put all the manuals" in lines[error.line]


def test_followup_coverage_is_required_by_content_check(open_content: Path, content_dir: Path) -> None:
    content = load_content(open_content)  # this process only warns (see the fixture)
    hard = sum(q.difficulty == "hard" for q in content.questions) - 1    # rag-006 has its two
    medium = sum(q.difficulty == "medium" for q in content.questions) - 1  # rag-003 has its one
    assert len([w for w in content.warnings if "follow-up(s)" in w.message]) == hard + medium
    result = run_check(open_content)
    assert result.returncode == 1
    assert "content/questions/agents.toml" in result.stderr and "follow-up(s); 2 needed" in result.stderr
    assert (f"follow-ups: 3; by question difficulty: hard 2 ({hard} questions short), medium 1 ({medium} questions "
            "short)") in result.stdout
    real = load_content(content_dir)
    assert not [w for w in real.warnings if "follow-up(s)" in w.message]
    assert not [e for e in real.errors if "follow-up(s)" in e.message]


def test_the_bank_holds_followups_and_design_rounds(open_content: Path, tmp_path: Path) -> None:
    db = open_bank(tmp_path / "bank.db")
    assert compile_bank(db, open_content).compiled
    content = load_content(open_content, with_labels=False)
    assert load_followups(db) == sorted(content.followups, key=lambda f: f.id)
    assert load_designs(db) == content.designs
    edit(open_content / DESIGN, "Kelvin Appliances sells", "Kelvin Home sells")
    assert compile_bank(db, open_content).compiled  # the hash covers design/ too
    assert "Kelvin Home" in load_designs(db)[0].prompt


def test_export_then_import_carries_followups_and_rounds(open_content: Path, tmp_path: Path) -> None:
    exported = export_content(load_content(open_content, with_labels=False))
    assert len(exported["followups"]) == 3 and len(exported["design_rounds"]) == 1
    dump = tmp_path / "bank.json"
    dump.write_text(json.dumps(exported))
    empty = tmp_path / "empty"
    (empty / "notes").mkdir(parents=True)
    (empty / "questions").mkdir()
    done = import_content(dump, empty)
    assert (done.followups, done.designs) == (3, 1)
    again = load_content(empty, with_labels=False)
    assert [e for e in again.errors if e.blocking] == []
    original = load_content(open_content, with_labels=False)
    assert sorted(again.followups, key=lambda f: f.id) == sorted(original.followups, key=lambda f: f.id)
    assert again.designs == original.designs


def test_a_bad_followup_imports_nothing(open_content: Path, tmp_path: Path) -> None:
    exported = export_content(load_content(open_content, with_labels=False))
    good = dict(exported["followups"][0], id="rag-006-f7")
    bad = dict(exported["followups"][1], id="rag-006-f8", key_points=[{"id": "kp1", "text": "Only one point."}])
    path = tmp_path / "import.json"
    path.write_text(json.dumps({"followups": [good, bad]}))
    before = (open_content / FOLLOWUPS).read_bytes()
    with pytest.raises(ImportRefused) as caught:
        import_content(path, open_content)
    assert "followups[1]" in str(caught.value) and "'key_points' must have 2-4 entries, has 1" in str(caught.value)
    assert (open_content / FOLLOWUPS).read_bytes() == before


def test_more_than_three_followups_for_a_question_is_a_problem(open_content: Path) -> None:
    path = open_content / FOLLOWUPS
    text = path.read_text(encoding="utf-8")
    first = text[text.index("[[followup]]"): text.index("[[followup]]", text.index("[[followup]]") + 1)]
    path.write_text(text + "\n" + first.replace("rag-006-f1", "rag-006-f3") + "\n"
                    + first.replace("rag-006-f1", "rag-006-f4"), encoding="utf-8")
    (error,) = [e for e in load_content(open_content).errors if "follow-ups; at most" in e.message]
    assert "question 'rag-006' has 4 follow-ups; at most 3" in error.message
    assert error.file == "content/questions/rag.toml"
