"""The mock interview state machine, its question plan, its storage and its report, driven by a fake clock."""
from __future__ import annotations

import json
import random

import pytest

from app import paths
from app.core.interview import Interview, InterviewError, InterviewSettings, Slot
from app.core.interview_plan import apportion, plan_questions, topic_weights
from app.core.interview_report import build_report, report_html, report_markdown
from app.core.policy import verdict_and_score
from app.core.rubric import rubric_signals
from app.core.model import Grade
from app.storage import interviews as store
from app.storage.userdb import open_user_db


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def slots(questions: dict, ids: list[str]) -> list[Slot]:
    return [Slot(q.id, q.topic, q.difficulty) for q in (questions[i] for i in ids)]


def rubric_grade(question, answer: str) -> Grade:
    """A real rubric-only grade (no model), as the worker returns it when no chat model is loaded."""
    s = rubric_signals(question, answer, None)
    verdict, score = verdict_and_score(question, s.choice, s.key_points, s.misconceptions, s.flags)
    return Grade(question.id, s.choice, s.choice_confidence, s.key_points, s.misconceptions, s.flags, verdict, score,
                 question.correct, question.rationale)


def test_start_answer_and_timeout_auto_submit(questions, clock) -> None:
    ids = sorted(questions)[:3]
    interview = Interview(InterviewSettings(count=3, seconds_per_question=60), slots(questions, ids), clock)
    with pytest.raises(InterviewError):
        interview.answer("too early")
    interview.start()
    clock.advance(20)
    assert interview.question_remaining == 40 and not interview.warning
    first = interview.answer("RAG, because the documents change daily.")
    assert (first.index, first.outcome, first.seconds) == (0, "answered", 20)
    assert interview.current == 1 and interview.phase == "answering"
    interview.set_draft("half an answer")
    clock.advance(50)
    assert interview.warning and interview.tick() == []
    clock.advance(15)  # the tick came late: time used is still the limit, not 65 s
    [timed_out] = interview.tick()
    assert (timed_out.index, timed_out.outcome, timed_out.answer, timed_out.seconds) == \
        (1, "timed out", "half an answer", 60)
    assert interview.draft == "" and interview.question_elapsed == 0
    skipped = interview.skip()
    assert skipped.outcome == "skipped" and interview.phase == "finished"
    assert interview.session_elapsed == 80
    assert interview.needing_grades() == [0, 1]


def test_session_limit_ends_the_interview(questions, clock) -> None:
    ids = sorted(questions)[:3]
    interview = Interview(InterviewSettings(count=3, seconds_per_question=60, total_seconds=90),
                          slots(questions, ids), clock)
    interview.start()
    clock.advance(55)
    interview.answer("first")
    interview.set_draft("second, unfinished")
    clock.advance(40)
    [submission] = interview.tick()
    assert submission.outcome == "timed out" and submission.seconds == 35 and submission.answer == "second, unfinished"
    assert interview.phase == "finished"
    assert [s.outcome for s in interview.slots] == ["answered", "timed out", "not answered"]
    assert interview.session_elapsed == 90


def test_pause_refused_unless_allowed(questions, clock) -> None:
    ids = sorted(questions)[:2]
    strict = Interview(InterviewSettings(count=2, seconds_per_question=60), slots(questions, ids), clock)
    strict.start()
    with pytest.raises(InterviewError, match="pausing was not allowed"):
        strict.pause()
    relaxed = Interview(InterviewSettings(count=2, seconds_per_question=60, allow_pause=True),
                        slots(questions, ids), clock)
    relaxed.start()
    clock.advance(10)
    relaxed.pause()
    clock.advance(500)  # paused time is not charged and nothing times out
    assert relaxed.tick() == [] and relaxed.question_elapsed == 10
    relaxed.resume()
    clock.advance(5)
    assert relaxed.answer("done").seconds == 15


def test_coached_mode_waits_between_questions(questions, clock) -> None:
    ids = sorted(questions)[:2]
    interview = Interview(InterviewSettings(count=2, seconds_per_question=30, mode="coached"),
                          slots(questions, ids), clock)
    interview.start()
    interview.answer("first")
    assert interview.phase == "between"
    clock.advance(300)
    assert interview.tick() == [] and interview.question_elapsed == 0
    interview.next_question()
    clock.advance(7)
    assert interview.answer("second").seconds == 7 and interview.phase == "finished"


def test_serialise_and_resume_after_restart(questions, clock) -> None:
    ids = sorted(questions)[:3]
    interview = Interview(InterviewSettings(count=3, seconds_per_question=60), slots(questions, ids), clock)
    interview.start()
    clock.advance(12)
    interview.answer("first answer")
    clock.advance(25)
    interview.set_draft("written before the crash")
    saved = json.loads(json.dumps(interview.to_dict()))

    after = FakeClock()
    after.now = 5.0  # a new process: the monotonic clock starts somewhere else entirely
    restored = Interview.from_dict(saved, after)
    assert restored.phase == "suspended" and restored.current == 1
    assert restored.draft == "written before the crash" and restored.slots[0].answer == "first answer"
    after.advance(1000)  # time while the app was closed is not charged
    assert restored.tick() == [] and restored.question_elapsed == 25
    restored.resume()
    after.advance(5)
    assert restored.answer().answer == "written before the crash"
    assert restored.slots[1].seconds == 30


def test_finish_as_it_stands(questions, clock) -> None:
    ids = sorted(questions)[:3]
    interview = Interview(InterviewSettings(count=3, seconds_per_question=60), slots(questions, ids), clock)
    interview.start()
    interview.answer("first")
    interview.set_draft("partial second")
    restored = Interview.from_dict(interview.to_dict(), clock)
    [submitted] = restored.finish()
    assert submitted.index == 1 and submitted.answer == "partial second"
    assert restored.phase == "finished" and [s.outcome for s in restored.slots] == ["answered", "answered",
                                                                                     "not answered"]
    assert restored.finish() == []


def test_bad_settings_and_state_name_the_field(clock) -> None:
    with pytest.raises(InterviewError, match="settings.mode"):
        InterviewSettings(mode="casual").validate()
    with pytest.raises(InterviewError, match="difficulty_mix"):
        InterviewSettings(difficulty_mix={"easy": 0, "medium": 0, "hard": 0}).validate()
    with pytest.raises(InterviewError, match="version"):
        Interview.from_dict({"phase": "answering"}, clock)
    with pytest.raises(InterviewError, match="settings"):
        Interview.from_dict({"version": 1, "settings": {"mode": "x"}, "slots": [], "phase": "ready",
                             "current": 0}, clock)


def test_plan_follows_difficulty_mix_and_weak_topics(questions) -> None:
    assert apportion(3, {"easy": 1, "medium": 1, "hard": 1}) == ["easy", "medium", "hard"]
    assert apportion(8, {"easy": 1, "medium": 2, "hard": 1}) == ["easy"] * 2 + ["medium"] * 4 + ["hard"] * 2
    bank = list(questions.values())
    topics = sorted({q.topic for q in bank})
    history = [(t, 95) for t in topics if t != "quantization"] + [("quantization", 10), ("quantization", 0)]
    weights = topic_weights(history, topics)
    assert weights["quantization"] > 2.8 and weights["rag"] < 1.2
    settings = InterviewSettings(count=4, weak_topics=True, difficulty_mix={"easy": 0, "medium": 1, "hard": 0})
    hits = 0
    for seed in range(40):
        plan = plan_questions(bank, settings, weights, rng=random.Random(seed))
        assert len({s.question_id for s in plan}) == 4 and {s.difficulty for s in plan} == {"medium"}
        hits += any(s.topic == "quantization" for s in plan)
    unweighted = sum(any(s.topic == "quantization" for s in plan_questions(
        bank, InterviewSettings(count=4, difficulty_mix=settings.difficulty_mix), weights, rng=random.Random(seed)))
        for seed in range(40))
    assert hits > unweighted
    with pytest.raises(InterviewError, match="only 7 question"):
        plan_questions(bank, InterviewSettings(count=8, topics=("rag",)))


def test_report_contents(questions, clock) -> None:
    ids = ["rag-001", "quantization-001", "agents-001"]
    interview = Interview(InterviewSettings(count=3, seconds_per_question=60), slots(questions, ids), clock)
    interview.start()
    rag = questions["rag-001"]
    right = rag.option(rag.correct)
    good = f"I recommend {right.label}. " + " ".join(p.text for p in rag.key_points)
    clock.advance(30)
    interview.answer(good)
    clock.advance(45)
    interview.answer("quantize everything lol")
    interview.skip()
    interview.record_grade(0, rubric_grade(rag, good))
    report = build_report(interview, questions, {"rag": "RAG", "quantization": "Quantization", "agents": "Agents"})
    first, second, third = report.results
    assert first.verdict == "correct" and first.score >= 70 and first.right == right.label
    assert first.grader == "rubric only" and first.seconds == 30
    assert second.status == "awaiting grade" and report.pending == 1
    assert third.outcome == "skipped" and third.score == 0 and third.missed
    assert report.strongest[0][0] == "RAG" and report.weakest[0][0] == "Agents"
    assert "Agents" in report.suggestion_text and report.suggestion.topics[0] == "agents"
    interview.record_grade(1, rubric_grade(questions["quantization-001"], "quantize everything lol"))
    done = build_report(interview, questions, {})
    assert done.pending == 0 and done.score == round((first.score + done.results[1].score) / 3)
    markdown, html = report_markdown(done), report_html(done)
    assert "## 1. rag-001" in markdown and "(rubric only)" in markdown and "Key points missed" in markdown
    assert f"{done.score}/100" in html and "cite:" in html and "Next session" in html


def test_storage_saves_each_answer_and_grade() -> None:
    db = open_user_db(paths.user_db_path())
    state = {"slots": [{"question_id": "rag-001"}, {"question_id": "rag-002"}], "phase": "answering"}
    interview_id = store.create_interview(db, {"count": 2}, state, 100.0)
    store.save_interview_draft(db, interview_id, 0, "typing...", state)
    assert store.load_interview_draft(db, interview_id, 0) == "typing..."
    attempt = {"question_id": "rag-001", "answer": "typing... done", "verdict": "pending", "score": 0,
               "mode": "interview", "answer_seconds": 12.5}
    attempt_id = store.record_submission(db, interview_id, state, {"position": 0, "question_id": "rag-001",
                                         "answer": "typing... done", "outcome": "answered", "seconds": 12.5,
                                         "submitted_at": 112.5}, attempt)
    assert store.load_interview_draft(db, interview_id, 0) == ""
    assert store.unfinished_interview(db)["id"] == interview_id
    store.record_grade(db, interview_id, 0, {"choice": "rag", "verdict": "partial", "score": 55,
                                             "grader": "rubric only"}, state, score=55)
    row = db["attempts"].get(attempt_id)
    assert (row["mode"], row["verdict"], row["score"]) == ("interview", "partial", 55)
    assert store.graded_scores(db) == [("rag-001", 55)]
    store.close_interview(db, interview_id, state, "finished", 55, "# report")
    assert store.unfinished_interview(db) is None
    [past] = store.past_interviews(db)
    assert past["score"] == 55 and past["state"] == state and past["report_md"] == "# report"
    assert [a["outcome"] for a in store.interview_answers(db, interview_id)] == ["answered"]
