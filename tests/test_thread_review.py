"""Follow-ups, probes and design stages in review and progress: their key points become FSRS concept cards (a
missed probe schedules its question's key point), and the progress page names the weakest design stage."""
from __future__ import annotations

from pathlib import Path

from app.content.open_items import parse_design_file
from app.core.open_items import probe_for
from app.core.stats import stage_sentence, stage_strengths
from app.llm.grader import GradingTools, grade_answer
from app.progress import gather
from app.storage import history
from app.storage.userdb import record_attempt, submitted_attempt

FIXTURES = Path(__file__).resolve().parent / "data" / "content"
NOW = 1_800_000_000.0


def graded_attempt(db, question, answer: str, at: float = NOW) -> int:
    attempt_id = record_attempt(db, submitted_attempt(question.id, answer, "interview", at, 60))
    history.store_grade(db, attempt_id, grade_answer(question, answer, GradingTools()).to_dict())
    return attempt_id


def test_a_missed_probe_schedules_its_questions_key_point(db, questions: dict) -> None:
    probe = probe_for(questions["rag-001"], "kp3")
    graded_attempt(db, probe, "The weekly roadmap meeting decides what marketing says.")
    (card,) = history.cards(db, "point")
    assert (card["key"], card["question_id"], card["point_id"]) == ("rag-001/kp3", "rag-001", "kp3")
    assert card["due"] < NOW + 2 * 86400  # missed: due again soon
    assert history.cards(db, "question") == []  # a probe is not a question to review
    made = probe_for(questions["rag-001"], "kp2")
    graded_attempt(db, made, "Each question needs only a paragraph, so huge contexts waste tokens, money and latency.")
    good = next(c for c in history.cards(db, "point") if c["key"] == "rag-001/kp2")
    assert good["due"] > card["due"]


def test_progress_names_the_weakest_design_stage(db) -> None:
    design = parse_design_file(FIXTURES / "design" / "design-support-assistant.toml", "d.toml")[0]
    graded_attempt(db, design.stage_question("requirements"),
                   "Ask how quickly a revised manual must be reflected in answers. Set a cost budget per answer from "
                   "the monthly budget and daily volume. Define what a wrong answer on a safety procedure means.")
    graded_attempt(db, design.stage_question("evaluation"), "I would try a few questions by hand before launch.")
    graded_attempt(db, design.stage_question("evaluation"),
                   "Build a labelled set of real questions with the correct manual pages.")
    strengths = stage_strengths(history.all_attempts(db))
    assert [(stage, n) for stage, _, n in strengths] == [("evaluation", 2), ("requirements", 1)]
    assert strengths[1][1] == 100 and strengths[0][1] < 50
    sentence = stage_sentence(strengths)
    assert sentence.startswith("Evaluation is your weakest stage (") and "requirements your strongest (100/100)" \
        in sentence
    assert gather(db, {}).stages == strengths
    missed = {c["key"] for c in history.cards(db, "point")}
    assert "design-support-assistant:evaluation/kp3" in missed
