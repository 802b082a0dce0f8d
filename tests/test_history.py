"""History: filters, verdict overrides stored beside the grader's and used by statistics, export-overrides."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from history_data import DAY, add_attempt

from app.core import stats
from app.core.review import recent_verdict_mastery, section_for_point, weakest_points
from app.core.stats import HistoryFilter, filter_attempts
from app.evaluation import read_cases
from app.storage import history

REPO_ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 3, 2, 10, 0).timestamp()


@pytest.fixture
def filled(db, questions) -> dict[str, int]:
    return {"rag_correct": add_attempt(db, questions["rag-001"], "correct", T0),
            "rag_wrong": add_attempt(db, questions["rag-001"], "incorrect", T0 + 3 * DAY),
            "agents_partial": add_attempt(db, questions["agents-001"], "partial", T0 + DAY, mode="interview"),
            "chunking_correct": add_attempt(db, questions["chunking-001"], "correct", T0 + 5 * DAY)}


def ids(rows: list[dict]) -> list[int]:
    return [r["id"] for r in rows]


def test_filters(db, questions, filled) -> None:
    rows = history.all_attempts(db)
    everything = filter_attempts(rows, questions, HistoryFilter())
    assert ids(everything) == [filled[k] for k in ("chunking_correct", "rag_wrong", "agents_partial", "rag_correct")]
    assert ids(filter_attempts(rows, questions, HistoryFilter(topic="rag"))) == [filled["rag_wrong"], filled["rag_correct"]]
    assert ids(filter_attempts(rows, questions, HistoryFilter(verdict="correct"))) == [filled["chunking_correct"],
                                                                                      filled["rag_correct"]]
    since = datetime.fromtimestamp(T0 + 3 * DAY).date()
    assert ids(filter_attempts(rows, questions, HistoryFilter(since=since))) == [filled["chunking_correct"],
                                                                                filled["rag_wrong"]]
    assert ids(filter_attempts(rows, questions, HistoryFilter(until=date.fromtimestamp(T0)))) == [filled["rag_correct"]]
    assert ids(filter_attempts(rows, questions, HistoryFilter(mode="interview"))) == [filled["agents_partial"]]
    wrong_answer = history.get_attempt(db, filled["rag_wrong"])["answer"]
    assert ids(filter_attempts(rows, questions, HistoryFilter(text=wrong_answer[10:40].upper()))) == [filled["rag_wrong"]]
    prompt_words = questions["agents-001"].prompt[:30]
    assert ids(filter_attempts(rows, questions, HistoryFilter(text=prompt_words))) == [filled["agents_partial"]]
    assert filter_attempts(rows, questions, HistoryFilter(topic="rag", verdict="partial")) == []


def test_override_is_stored_beside_the_original(db, filled) -> None:
    attempt_id = filled["rag_wrong"]
    before = history.get_attempt(db, attempt_id)
    history.set_override(db, attempt_id, "correct", now=T0 + 4 * DAY)
    after = history.get_attempt(db, attempt_id)
    assert (after["verdict"], after["score"], after["grade_json"]) == (before["verdict"], before["score"], before["grade_json"])
    assert after["override_verdict"] == "correct" and after["overridden_at"] == T0 + 4 * DAY
    history.set_override(db, attempt_id, None)
    assert history.get_attempt(db, attempt_id)["override_verdict"] is None
    with pytest.raises(ValueError, match="'great'"):
        history.set_override(db, attempt_id, "great")
    with pytest.raises(ValueError, match="no attempt"):
        history.set_override(db, 9999, "correct")


def test_override_is_used_by_statistics(db, questions, filled) -> None:
    topic_of = {qid: q.topic for qid, q in questions.items()}
    rows = history.all_attempts(db)
    assert stats.verdict_counts(rows) == {"correct": 2, "partial": 1, "incorrect": 1}
    assert recent_verdict_mastery(rows, topic_of)["rag"] == 0.5
    wrong = history.get_attempt(db, filled["rag_wrong"])
    history.set_override(db, filled["rag_wrong"], "correct")
    rows = history.all_attempts(db)
    assert stats.verdict_counts(rows) == {"correct": 3, "partial": 1, "incorrect": 0}
    assert recent_verdict_mastery(rows, topic_of)["rag"] == 1.0
    order = sorted(stats.graded(rows), key=lambda a: a["submitted_at"])
    position = [a["id"] for a in order].index(wrong["id"])
    assert stats.score_per_answer(rows)[position][0] == 70.0  # the incorrect score lifted into the correct band
    assert ids(filter_attempts(rows, questions, HistoryFilter(verdict="incorrect"))) == []


def test_weakest_points_link_to_note_sections(db, questions, filled) -> None:
    grades = [json.loads(r["grade_json"]) for r in history.all_attempts(db)]
    weak = weakest_points(grades)
    assert weak and weak[0].missed >= weak[-1].missed
    rag_missed = {p["id"] for p in json.loads(history.get_attempt(db, filled["rag_wrong"])["grade_json"])["key_points"]
                  if not p["made"]}
    assert {p.point_id for p in weak if p.question_id == "rag-001"} == rag_missed
    section = section_for_point(questions[weak[0].question_id], weak[0].text)
    assert section in questions[weak[0].question_id].notes


def test_export_overrides_writes_valid_eval_cases(db, questions, filled, tmp_path: Path) -> None:
    history.set_override(db, filled["rag_wrong"], "partial")
    history.set_override(db, filled["chunking_correct"], "incorrect")
    out = tmp_path / "overrides.jsonl"
    result = subprocess.run([sys.executable, "-m", "app", "export-overrides", str(out)], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["attempt_id"], r["label"]["verdict"], r["kind"]) for r in rows] == [
        (filled["rag_wrong"], "partial", "override"), (filled["chunking_correct"], "incorrect", "override")]
    assert rows[0]["label"]["choice"] == "rag" and rows[0]["grader"]["verdict"] == "incorrect"
    assert rows[0]["answer"] == history.get_attempt(db, filled["rag_wrong"])["answer"]
    cases = read_cases([out], {})  # the question objects travel inline: no bank needed to read them
    assert [c["question"].id for c in cases] == ["rag-001", "chunking-001"]
    assert cases[1]["label"]["key_points"] == [p.id for p in questions["chunking-001"].key_points]
    to_stdout = subprocess.run([sys.executable, "-m", "app", "export-overrides"], cwd=REPO_ROOT,
                               capture_output=True, text=True, check=False)
    assert to_stdout.stdout == out.read_text(encoding="utf-8")


def test_score_per_answer_is_a_dot_per_answer_and_a_running_mean() -> None:
    rows = [{"id": n, "submitted_at": 1000 + n, "verdict": v, "score": s, "override_verdict": None}
            for n, (v, s) in enumerate([("incorrect", 0), ("correct", 100), ("partial", 50)])]
    assert stats.score_per_answer(rows, window=2) == [(0.0, 0.0), (100.0, 50.0), (50.0, 75.0)]
    assert len(stats.score_per_answer(rows, last=2)) == 2
