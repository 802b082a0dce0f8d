"""Content v2: options shown in a stored random order, the giveaway shares content check enforces, and feedback aimed
at the learner's own mistake (why the chosen option loses, the correction of a stated misconception)."""
from __future__ import annotations

import json
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from app.content import giveaways
from app.content.load import load_content
from app.core import option_order
from app.core.model import Grade, Option, PointResult, Question, Span
from app.library import open_library
from app.sessions.dispatcher import GradingDispatcher, Mailbox
from app.sessions.practice import PracticeSession
from app.storage import history
from app.storage.userdb import attempts, draft_order
from tests.test_sessions import Recorder

REPO_ROOT = Path(__file__).resolve().parent.parent


def _question(labels: list[str], correct: int = 0) -> Question:
    options = tuple(Option(f"o{i}", label, ("x", "y"), "" if i == correct else "loses here") for i, label in
                    enumerate(labels))
    return Question("q-001", "rag", "easy", "A scenario.", options, f"o{correct}", "Because.", ())


def test_the_three_giveaway_shares_and_their_limits() -> None:
    bank = [_question(["the longest label of all", "short"]),   # right and longest
            _question(["short", "Both of them, together"]),     # 'both' offered, wrong
            _question(["Both, in turn", "one"]),                # 'both' offered, right, and longest
            _question(["Measure it first", "ship it"])]         # a 'measure' option, right and longest
    longest, both, measure = giveaways.shares(bank)
    assert (longest.hits, longest.total) == (3, 4) and longest.over
    assert (both.hits, both.total) == (1, 2) and not both.over        # half is allowed
    assert (measure.hits, measure.total) == (1, 1) and measure.over
    problems = giveaways.problems(bank)
    assert len(problems) == 2 and "longest" in problems[0] and "75%" in problems[0]


def test_the_real_bank_is_within_the_limits_and_check_prints_the_shares(content_dir: Path) -> None:
    content = load_content(content_dir)
    assert giveaways.problems(content.questions) == []
    out = subprocess.run([sys.executable, "-m", "app", "content", "check"], cwd=REPO_ROOT, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert "giveaways: right option strictly the longest" in out.stdout and "'both' right where offered" in out.stdout


def test_a_wrong_option_without_why_not_and_a_misconception_without_correction_fail_check(content_copy: Path) -> None:
    path = content_copy / "questions" / "rag.toml"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    why = next(i for i, line in enumerate(lines) if line.startswith("why_not"))
    fix = next(i for i, line in enumerate(lines) if line.startswith("correction"))
    for index in sorted((why, fix), reverse=True):
        del lines[index]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    messages = [str(e) for e in load_content(content_copy).errors]
    assert any("needs a 'why_not'" in m and m.startswith("content/questions/rag.toml:") for m in messages)
    assert any("needs a 'correction'" in m for m in messages)
    out = subprocess.run([sys.executable, "-m", "app", "content", "check", "--dir", str(content_copy)], cwd=REPO_ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 1 and "why_not" in out.stderr


def test_why_not_and_correction_survive_export_and_import(content_dir: Path) -> None:
    question = next(q for q in load_content(content_dir, with_labels=False).questions if q.misconceptions)
    data = json.loads(json.dumps(question.to_dict()))
    wrong = next(o for o in data["options"] if o["id"] != question.correct)
    assert wrong["why_not"] and data["misconceptions"][0]["correction"]
    assert "why_not" not in next(o for o in data["options"] if o["id"] == question.correct)
    assert Question.from_dict(data) == question


def test_a_stored_order_shows_the_same_letters_and_survives_a_changed_question() -> None:
    question = _question(["alpha", "beta", "gamma"])
    order = option_order.shuffled(question, random.Random(7))
    shown = option_order.presented(question, option_order.dumps(order))
    assert option_order.order_of(shown) == order and sorted(order) == ["o0", "o1", "o2"]
    grown = replace(question, options=(*question.options[1:], Option("o3", "delta")))  # o0 gone, o3 new
    assert option_order.order_of(option_order.presented(grown, order)) == (*[i for i in order if i != "o0"], "o3")
    assert option_order.order_of(option_order.presented(question, "not json")) == ("o0", "o1", "o2")


def test_practice_shuffles_per_presentation_keeps_a_drafts_order_and_stores_it_with_the_attempt(bank_in_data_dir) -> None:
    from app import paths
    from app.storage.userdb import open_user_db
    library, mailbox = open_library(), Mailbox()
    dispatcher = GradingDispatcher(library, mailbox, on_status=lambda *a: None)
    db = open_user_db(paths.user_db_path())
    try:
        session = PracticeSession(db, dispatcher, Recorder(), rng=random.Random(3))
        bank_q = library.by_id["rag-001"]
        orders = set()
        for _ in range(8):
            session.show(bank_q)
            orders.add(option_order.order_of(session.question))
        assert len(orders) > 1  # a fresh order per presentation
        session.show(bank_q)
        session.save_draft("I would pick B")
        seen = option_order.order_of(session.question)
        assert json.loads(draft_order(db, "rag-001")) == list(seen)
        for _ in range(4):  # while the draft exists, its letters keep their meaning
            session.show(bank_q)
            assert option_order.order_of(session.question) == seen
        attempt_id = session.submit("I would pick B: retrieval, because the manuals change weekly.")
        assert json.loads(attempts(db, "rag-001")[0]["option_order"]) == list(seen)
        assert mailbox.run_until(lambda: history.question_review(db, attempt_id) is not None)
        # the learner's call on the grade on screen is stored with this attempt (the grade itself stays)
        point = bank_q.key_points[0].id
        assert session.call(point, "made") == {point: "made"}
        assert json.loads(attempts(db, "rag-001")[0]["learner_calls"]) == {point: "made"}
        assert session.call(point, None) == {} and attempts(db, "rag-001")[0]["learner_calls"] is None
    finally:
        dispatcher.shutdown()


def test_the_grade_shows_why_the_chosen_option_loses_and_the_correction_before_the_explanation(qtbot, questions) -> None:
    from app.ui.grade_view import GradeView
    q = next(q for q in questions.values() if q.misconceptions and len(q.options) > 2)
    wrong = next(o for o in q.options if o.id != q.correct)
    stated = q.misconceptions[0]
    grade = Grade(q.id, wrong.id, 0.9, [], [PointResult(stated.id, stated.text, True, 0.9, Span(0, 5, "words"))], [],
                  "incorrect", 10, q.correct, q.rationale, explanation="THE MODEL EXPLANATION")
    view = GradeView()
    qtbot.addWidget(view)
    view.show_final(q, grade)
    text = view.toPlainText()
    assert f"Why not {wrong.label}" in text and wrong.why_not.split()[0] in text
    assert stated.correction[:40] in text.replace("\n", " ")
    assert text.index(wrong.why_not[:30]) < text.index("THE MODEL EXPLANATION")
    assert text.index(stated.correction[:30]) < text.index("THE MODEL EXPLANATION")
    right = replace(grade, choice=q.correct, misconceptions=[])
    view.show_final(q, right)
    assert "Why not" not in view.toPlainText()


def test_an_interview_shows_each_question_in_its_planned_order_and_the_report_shows_it_with_aimed_feedback(questions) -> None:
    from app.core.interview import Interview, InterviewSettings
    from app.core.interview_plan import plan_questions
    from app.core.interview_report import build_report, report_html, report_markdown
    from app.sessions.interview import shown
    from tests.test_interview_core import FakeClock, rubric_grade
    settings = InterviewSettings(count=3, seconds_per_question=60, topics=("rag",))
    planned = plan_questions(list(questions.values()), settings, rng=random.Random(5))
    for slot in planned:
        assert sorted(slot.order) == sorted(o.id for o in questions[slot.question_id].options)
    clock = FakeClock()
    interview = Interview(settings, planned, clock)
    again = Interview.from_dict(json.loads(json.dumps(interview.to_dict())), clock)
    assert [s.order for s in again.slots] == [s.order for s in planned]  # a resume shows the same letters
    rag1 = questions["rag-001"]
    slot = replace(planned[0], question_id="rag-001", order=("long-context", "rag"), outcome="answered",
                   answer="Send it all in the 1M window. With a 1M window you can just send everything, RAG is obsolete.")
    slot.grade = rubric_grade(rag1, slot.answer)
    assert slot.grade.choice == "long-context" and any(m.made for m in slot.grade.misconceptions)
    interview = Interview(settings, [slot], clock)
    items = {"rag-001": shown(rag1, slot.order)}
    report = build_report(interview, items, {"rag": "RAG"})
    markdown = report_markdown(report)
    wrong, right = rag1.option("long-context"), rag1.option("rag")
    assert f"Options as shown: A. {wrong.label}; B. {right.label}" in markdown
    assert f"Why not {wrong.label}: {wrong.why_not}" in markdown
    assert "In fact: " + rag1.misconceptions[0].correction in markdown
    assert "In fact:" in report_html(report)


def test_the_model_reads_one_order_per_question_whatever_order_the_learner_saw() -> None:
    question = _question(["first", "second", "third", "fourth"])
    orders = {option_order.order_of(option_order.model_order(option_order.presented(question, order)))
              for order in (["o0", "o1", "o2", "o3"], ["o3", "o2", "o1", "o0"], ["o2", "o0", "o3", "o1"])}
    assert len(orders) == 1 and sorted(orders.pop()) == ["o0", "o1", "o2", "o3"]
    other = replace(question, id="q-002")  # the order is the question's own, not one fixed pattern for all
    assert any(option_order.order_of(option_order.model_order(replace(question, id=f"q-{n:03}"))) !=
               option_order.order_of(option_order.model_order(other)) for n in range(3, 12))


def test_letters_that_name_an_option_follow_it_into_the_models_order() -> None:
    question = _question(["first", "second", "third"])
    shown = option_order.presented(question, ["o2", "o1", "o0"])     # A=o2, B=o1, C=o0 on screen
    read = replace(question, options=tuple(question.options))        # A=o0, B=o1, C=o2 for the model
    cases = {
        "I'd go with C because it is cheap.": "I'd go with A because it is cheap.",
        "Option A, not C.": "Option C, not A.",
        "Between options A and B, I pick B over A.": "Between options C and B, I pick B over C.",
        "A. It keeps the data fresh.": "C. It keeps the data fresh.",
        "Answer: A": "Answer: C",
        "I'd pick (C).": "I'd pick (A).",
        "C": "A",
        # capitals that do not name an option stay: the article, an A/B test, a letter past the options
        "A smaller model is cheaper; run an A/B test first.": "A smaller model is cheaper; run an A/B test first.",
        "Options A or D": "Options C or D",
    }
    for written, read_as in cases.items():
        assert option_order.relettered(written, shown, read) == read_as, written
    assert option_order.relettered("I'd go with B", read, read) == "I'd go with B"


def test_a_grade_does_not_depend_on_the_order_the_options_were_shown_in(questions, smol_engine) -> None:
    from app.llm.grader import GradingTools, grade_answer
    question = questions["rag-002"]
    orders = [option_order.order_of(question), tuple(reversed(option_order.order_of(question)))]
    answer = "Keep the small embedder and add BM25 next to it, merging the two rankings; exact part numbers need words."
    grades = [grade_answer(option_order.presented(question, order), answer, GradingTools(smol_engine), explain=False)
              for order in orders]
    assert grades[0].evidence["letters"] and grades[0].evidence["letters"] == grades[1].evidence["letters"]
    assert (grades[0].choice, grades[0].verdict, grades[0].score) == (grades[1].choice, grades[1].verdict,
                                                                     grades[1].score)
    # a learner who names the option by its letter names the same option in either order
    by_letter = []
    for order in orders:
        shown = option_order.presented(question, order)
        letter = option_order.LETTERS[option_order.order_of(shown).index("hybrid")]
        by_letter.append(grade_answer(shown, f"I'd go with {letter}: exact part numbers need keyword matching.",
                                      GradingTools(smol_engine), explain=False).evidence["letters"])
    assert by_letter[0] == by_letter[1]
