"""Interview threads and design rounds in the core state machine, on a fake clock: follow-ups inserted on submit
with their own countdown, probes from missed key points, a round's total limit, auto-submit, and a crash (the state
saved as JSON and restored) at every step of both."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from app.content.open_items import parse_design_file, parse_followup_file
from app.core.interview import Interview, InterviewSettings, Slot
from app.core.interview_report import build_report, report_html, report_markdown
from app.core.thread import choose_followup, design_slots, resolve_item
from app.llm.grader import GradingTools, grade_answer

from tests.test_interview_core import FakeClock  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "data" / "content"
RAG_006 = ("Fix generation: the right passage is retrieved, so the model must answer only from it; add a groundedness "
           "check and abstain when the passage does not support a claim.")




@pytest.fixture(scope="module")
def bank(questions: dict):
    followups = parse_followup_file(FIXTURES / "followups" / "rag.toml", "rag.toml")[0]
    design = parse_design_file(FIXTURES / "design" / "design-support-assistant.toml", "d.toml")[0]
    return questions, {f.id: f for f in followups}, {design.id: design}


def chooser(bank):
    questions, followups, _ = bank
    rng = random.Random(7)

    def choose(index: int, slot: Slot):
        authored = sorted((f for f in followups.values() if f.question == slot.question_id), key=lambda f: f.id)
        return choose_followup(questions[slot.question_id], slot.answer, authored[:1], rng)
    return choose


def thread_interview(bank, clock, mode: str = "interview") -> Interview:
    questions = bank[0]
    slots = [Slot(q.id, q.topic, q.difficulty) for q in (questions["rag-006"], questions["rag-001"])]
    settings = InterviewSettings(count=2, seconds_per_question=300, followups=True, followup_seconds=120, mode=mode)
    return Interview(settings, slots, clock, chooser(bank))


def test_a_followup_comes_right_after_the_answer_with_its_own_countdown(bank) -> None:
    clock = FakeClock()
    interview = thread_interview(bank, clock)
    interview.start()
    clock.advance(100)
    interview.answer(RAG_006)
    follow = interview.current_slot
    assert (follow.kind, follow.question_id, follow.parent) == ("followup", "rag-006-f1", 0)
    assert follow.prompt.startswith("How would you know that your change")
    assert interview.phase == "answering" and interview.question_remaining == 120
    clock.advance(121)
    (timed_out,) = interview.tick()
    assert (timed_out.index, timed_out.outcome, timed_out.seconds) == (1, "timed out", 120)
    assert interview.current_slot.question_id == "rag-001" and interview.question_remaining == 300
    interview.answer("Retrieval, since six million tokens do not fit in any window.")
    probe = interview.current_slot
    assert probe.kind == "probe" and probe.question_id == "rag-001-probe-kp2"
    assert probe.prompt.startswith('You did not mention this point: "Each question needs only a paragraph')
    interview.skip()
    assert interview.phase == "finished" and [s.kind for s in interview.slots] == [
        "question", "followup", "question", "probe"]


def test_no_followup_for_a_skipped_question_or_an_answer_that_makes_every_point(bank) -> None:
    clock = FakeClock()
    interview = thread_interview(bank, clock)
    interview.start()
    interview.skip()
    assert interview.current_slot.question_id == "rag-001"
    questions = bank[0]
    full = " ".join(p.text for p in questions["rag-001"].key_points)
    interview.answer("Use retrieval. " + full)
    assert interview.phase == "finished" and len(interview.slots) == 2


def test_coached_mode_gives_feedback_first_then_the_followup(bank) -> None:
    clock = FakeClock()
    interview = thread_interview(bank, clock, mode="coached")
    interview.start()
    interview.answer(RAG_006)
    assert interview.phase == "between" and interview.current_slot.kind == "followup"
    clock.advance(50)  # reading the feedback is off the clock
    interview.next_question()
    assert interview.question_remaining == 120


THREAD_STEPS = [
    ("advance", 90), ("draft", "Fix generation first"), ("answer", RAG_006), ("advance", 30), ("draft", "re-run"),
    ("advance", 100), ("tick", None), ("advance", 20), ("answer", "Retrieval: six million tokens do not fit."),
    ("advance", 10), ("answer", "Each question needs a paragraph, so huge contexts waste tokens."),
]


def run(interview: Interview, clock: FakeClock, steps) -> None:
    for action, value in steps:
        if action == "advance":
            clock.advance(value)
        elif action == "draft":
            interview.set_draft(value)
        elif action == "answer":
            interview.answer(value)
        elif action == "tick":
            interview.tick()


def crash_and_resume(interview: Interview, clock: FakeClock, choose) -> Interview:
    """What the app does after a crash: the last saved state, restored and resumed (time off the clock)."""
    saved = json.loads(json.dumps(interview.to_dict()))
    clock.advance(3600)
    restored = Interview.from_dict(saved, clock, choose)
    if restored.phase == "suspended":
        restored.resume()
    return restored


def outline(interview: Interview) -> list[tuple]:
    return [(s.question_id, s.kind, s.outcome, s.answer, round(s.seconds)) for s in interview.slots]


@pytest.mark.parametrize("crash_at", range(len(THREAD_STEPS) + 1))
def test_a_thread_resumes_after_a_crash_at_any_step(bank, crash_at: int) -> None:
    clock = FakeClock()
    reference = thread_interview(bank, clock)
    reference.start()
    run(reference, clock, THREAD_STEPS)
    clock = FakeClock()
    interview = thread_interview(bank, clock)
    interview.start()
    run(interview, clock, THREAD_STEPS[:crash_at])
    interview = crash_and_resume(interview, clock, chooser(bank))
    run(interview, clock, THREAD_STEPS[crash_at:])
    assert outline(interview) == outline(reference)
    assert interview.phase == "finished" and [s.kind for s in interview.slots] == [
        "question", "followup", "question", "probe"]
    assert interview.slots[1].answer == "re-run" and interview.slots[1].outcome == "timed out"


def design_interview(bank, clock) -> Interview:
    design = bank[2]["design-support-assistant"]
    return Interview(InterviewSettings(count=0, design_round=design.id), design_slots(design), clock)


def test_a_design_round_runs_its_stages_against_the_total_limit(bank) -> None:
    clock = FakeClock()
    interview = design_interview(bank, clock)
    assert [s.suggested / 60 for s in interview.slots] == [5, 7, 6, 6, 6]
    interview.start()
    assert interview.question_remaining == 30 * 60
    clock.advance(8 * 60)
    interview.answer("Ask how fresh answers must be after a manual changes, and the cost per answer.")
    assert interview.question_remaining == 22 * 60 and interview.round_remaining("design-support-assistant") == 22 * 60
    clock.advance(15 * 60)
    interview.answer("RAG over the manuals, each answer cites its page.")
    interview.set_draft("Chunk by section with page numbers")
    clock.advance(7 * 60 + 1)
    (timed_out,) = interview.tick()
    assert (timed_out.outcome, timed_out.seconds, timed_out.answer) == ("timed out", 7 * 60,
                                                                        "Chunk by section with page numbers")
    assert interview.phase == "finished"
    assert [s.outcome for s in interview.slots] == ["answered", "answered", "timed out", "not answered",
                                                    "not answered"]


DESIGN_STEPS = [("advance", 240), ("answer", "Ask about freshness and the cost per answer."), ("advance", 400),
                ("draft", "RAG with page citations"), ("advance", 20), ("answer", "RAG over manuals with citations."),
                ("advance", 300), ("draft", "chunk by section"), ("advance", 1000), ("tick", None)]


@pytest.mark.parametrize("crash_at", range(len(DESIGN_STEPS) + 1))
def test_a_design_round_resumes_after_a_crash_at_any_step(bank, crash_at: int) -> None:
    clock = FakeClock()
    reference = design_interview(bank, clock)
    reference.start()
    run(reference, clock, DESIGN_STEPS)
    clock = FakeClock()
    interview = design_interview(bank, clock)
    interview.start()
    run(interview, clock, DESIGN_STEPS[:crash_at])
    interview = crash_and_resume(interview, clock, None)
    run(interview, clock, DESIGN_STEPS[crash_at:])
    assert outline(interview) == outline(reference)
    assert [s.outcome for s in interview.slots] == ["answered", "answered", "timed out", "not answered",
                                                    "not answered"]
    assert sum(s.seconds for s in interview.slots) == 30 * 60


def test_the_report_lists_the_whole_thread_and_scores_each_stage(bank) -> None:
    questions, followups, designs = bank
    clock = FakeClock()
    design = designs["design-support-assistant"]
    slots = [Slot("rag-006", "rag", "hard"), *design_slots(design)]
    interview = Interview(InterviewSettings(count=1, followups=True, design_round=design.id), slots, clock,
                          chooser(bank))
    interview.start()
    interview.answer(RAG_006)
    interview.answer("Re-run the same eval set with the same judge before and after the change.")
    interview.answer("Ask how quickly a revised manual must show up in answers, and set a cost budget per answer.")
    interview.answer("Retrieve passages from the manuals; every answer cites the manual page it used.")
    interview.finish()
    items = {s.question_id: resolve_item(s.question_id, questions, followups, designs) for s in interview.slots}
    for index in interview.needing_grades():
        interview.record_grade(index, grade_answer(items[interview.slots[index].question_id],
                                                   interview.slots[index].answer, GradingTools()))
    report = build_report(interview, items, {"rag": "RAG"}, designs=designs)
    markdown = report_markdown(report)
    assert "### 1 · follow-up" in markdown and "> How would you know that your change actually lowered" in markdown
    assert "  > Re-run the same eval set with the same judge before and after the change." in markdown
    assert "- Feedback: You made 1 of 3 key points." in markdown
    (round_result,) = report.rounds
    scores = dict(round_result.stages)
    assert scores["Requirements and clarifying questions"] == 67 and scores["Architecture"] == 67
    assert scores["Data and retrieval"] == 0 and round_result.score == round((67 + 67) / 5)
    assert "## Design round: A support assistant over product manuals" in markdown
    assert "A strong answer: Retrieval over chunked manuals with hybrid search" in markdown  # in the feedback
    assert "- A strong answer: Chunk by section with page numbers kept" in markdown  # a stage not answered
    html = report_html(report)
    assert "Design · Evaluation and monitoring" in html and "1 · follow-up" in html
