"""A full loop through the session services without Qt: a question, its follow-up shown on submit, a design round
with a crash between stages, grading in the background on the small model, and the report of the whole thread."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app import paths
from app.content.open_items import parse_design_file, parse_followup_file
from app.core.interview import InterviewSettings
from app.library import open_library
from app.sessions.dispatcher import GradingDispatcher, Mailbox
from app.sessions.interview import InterviewController
from app.storage import interviews as store
from app.storage.userdb import attempts, open_user_db

from tests.test_sessions import Recorder  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "data" / "content"
DESIGN = "design-support-assistant"




class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def narrowed_library(bank_in_data_dir: Path):
    """The real bank narrowed to rag-006, with the test follow-ups and design round."""
    library = open_library()
    followups = parse_followup_file(FIXTURES / "followups" / "rag.toml", "rag.toml")[0]
    design = parse_design_file(FIXTURES / "design" / f"{DESIGN}.toml", "d.toml")[0]
    return dataclasses.replace(library, questions=[library.by_id["rag-006"]], followups=followups, designs=[design])


@pytest.fixture
def services(bank_in_data_dir: Path):
    library, mailbox = narrowed_library(bank_in_data_dir), Mailbox()
    statuses: list[str] = []
    dispatcher = GradingDispatcher(library, mailbox, on_status=lambda state, message: statuses.append(state))
    yield library, dispatcher, mailbox, open_user_db(paths.user_db_path()), statuses
    dispatcher.shutdown()


def test_a_full_loop_with_a_followup_and_a_design_round_survives_a_crash(services, smol_path: Path) -> None:
    library, dispatcher, mailbox, db, statuses = services
    dispatcher.load(smol_path)
    assert mailbox.run_until(lambda: "ready" in statuses)
    clock = FakeClock(100.0)
    control = InterviewController(db, library, dispatcher, Recorder(), clock)
    settings = InterviewSettings(count=1, seconds_per_question=300, followups=True, design_round=DESIGN)
    assert control.start(settings) is None
    interview_id = control.interview_id
    clock.now += 60
    control.answer("Fix the generation step: answer only from the retrieved context and cite chunk ids per claim.")
    follow = control.session.current_slot  # there at once: no grade was waited for
    assert follow.kind == "followup" and follow.question_id.startswith("rag-006-f")
    assert control.session.question_remaining == settings.followup_seconds
    clock.now += 40
    control.answer("Re-run the same eval set with the same judge before and after, with a confidence interval.")
    assert control.session.current_slot.question_id == f"{DESIGN}:requirements"
    clock.now += 200
    control.set_draft("How fresh must answers be after a manual changes? What may each answer cost?")
    assert control.save_draft()
    # the app dies here; a new process opens the same files
    later = FakeClock(5.0)
    resumed = InterviewController(open_user_db(paths.user_db_path()), library, dispatcher, Recorder(), later)
    assert resumed.find_unfinished()["id"] == interview_id
    assert resumed.resume_unfinished() is None
    assert resumed.session.draft.startswith("How fresh must answers be")
    assert resumed.session.question_remaining == pytest.approx(30 * 60 - 200)
    later.now += 100
    resumed.answer(resumed.session.draft)
    later.now += 600
    resumed.answer("Retrieve passages from the manuals and generate a grounded answer that cites the page.")
    later.now += 30 * 60
    assert [s.outcome for s in resumed.tick()] == ["timed out"]
    assert resumed.session.finished
    assert mailbox.run_until(lambda: not resumed.session.needing_grades() and not resumed.pending, timeout=600)
    kinds = [(s.kind, s.outcome) for s in resumed.session.slots]
    assert kinds == [("question", "answered"), ("followup", "answered"), ("stage", "answered"),
                     ("stage", "answered"), ("stage", "timed out"), ("stage", "not answered"),
                     ("stage", "not answered")]
    assert all(s.grade.grader.startswith("SmolLM2") for s in resumed.session.slots if s.grade)
    row = store.load_interview(resumed.db, interview_id)
    assert row["status"] == "finished"
    assert "### 1 · follow-up" in row["report_md"] and "## Design round: A support assistant" in row["report_md"]
    assert "Re-run the same eval set with the same judge" in row["report_md"]
    assert len(store.interview_answers(resumed.db, interview_id)) == 5  # every submitted answer, saved on submit
    stored = [a["question_id"] for a in attempts(resumed.db) if a["mode"] == "interview"]
    assert stored == [s.question_id for s in resumed.session.slots[:5]]
    # a stage's missed key points are concept cards, due again soon; the stage is no question card of its own
    reviews = list(resumed.db["reviews"].rows_where("question_id = ?", [f"{DESIGN}:data"]))
    assert sorted(r["card_key"] for r in reviews) == [f"{DESIGN}:data/kp{n}" for n in (1, 2, 3)]
    data = resumed.session.slots[4].grade
    assert [r["rating"] for r in sorted(reviews, key=lambda r: r["card_key"])] == [
        3 if p.made else 1 for p in data.key_points]
    assert not list(resumed.db["cards"].rows_where("key = ?", [f"{DESIGN}:data"]))
