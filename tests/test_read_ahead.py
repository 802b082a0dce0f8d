"""Reading a draft ahead while the learner pauses: the model's readings are remembered, a submit of the same text
reuses them and grades exactly as it would have, typing again stops a read in progress without ending the model's
process, and an answer submitted during a read is graded. Real library, real user database, real models in their own
process."""
from __future__ import annotations

import time
from pathlib import Path


from app.llm.yes_no import forget_readings, readings_taken
from app.sessions.practice import PracticeSession
from tests.test_sessions import QID, Recorder

DRAFT = ("RAG: index the wiki and retrieve the relevant pages at query time. The wiki changes every day, so a "
         "fine-tuned model would be stale within hours, and users want the source page shown with each answer.")


def _ready(dispatcher, mailbox, statuses, path: Path) -> None:
    dispatcher.load(path)
    assert mailbox.run_until(lambda: "ready" in statuses, timeout=180)


def _graded(session: PracticeSession, mailbox, view: Recorder, answer: str):
    session.submit(answer)
    assert mailbox.run_until(lambda: "on_final" in view.kinds(), timeout=300)
    return next(e for e in view.events if e[0] == "on_final")[1]


def test_a_draft_read_ahead_is_graded_from_its_remembered_readings_exactly_as_without(services, smol_path) -> None:
    library, dispatcher, mailbox, db, statuses = services
    _ready(dispatcher, mailbox, statuses, smol_path)
    question = library.by_id[QID]

    fresh_view = Recorder()
    fresh = PracticeSession(db, dispatcher, fresh_view)
    fresh.show(question)
    assert mailbox.run_until(lambda: f"{QID} written" in dispatcher.primed, timeout=120)
    forget_readings()  # the grade below reads everything, the explanation too, as if nothing had been read ahead
    without = _graded(fresh, mailbox, fresh_view, DRAFT)
    assert readings_taken()["remembered"] == 0 and readings_taken()["read"] >= 1

    forget_readings()
    view = Recorder()
    session = PracticeSession(db, dispatcher, view)
    session.show(question)
    session.question = fresh.question  # the same option order, so the two grades read the same prompts
    dispatcher.primed.clear()
    dispatcher.prime(session.question)  # as show() does: the explanation is written ahead, before the pause
    assert mailbox.run_until(lambda: f"{QID} written" in dispatcher.primed, timeout=120)
    session.read_ahead(DRAFT)
    assert mailbox.run_until(lambda: f"{QID} {len(DRAFT)}" in dispatcher.read, timeout=120)
    read = readings_taken()["read"]
    assert read >= 1
    graded = _graded(session, mailbox, view, DRAFT)
    taken = readings_taken()
    assert taken["read"] == read  # the submit read nothing with the model, for the verdict or the explanation...
    assert taken["remembered"] >= read  # ...every reading came from the draft's
    assert (graded.choice, graded.verdict, graded.score, graded.choice_confidence) == \
        (without.choice, without.verdict, without.score, without.choice_confidence)
    assert graded.evidence["letters"] == without.evidence["letters"]
    assert [p.made for p in graded.key_points] == [p.made for p in without.key_points]
    assert graded.explanation == without.explanation


def test_typing_stops_a_read_in_progress_without_ending_the_model_and_a_submit_is_graded(services, qwen_path) -> None:
    library, dispatcher, mailbox, db, statuses = services
    _ready(dispatcher, mailbox, statuses, qwen_path)
    view = Recorder()
    session = PracticeSession(db, dispatcher, view)
    session.show(library.by_id[QID])
    assert mailbox.run_until(lambda: any(p.startswith(QID) for p in dispatcher.primed), timeout=120)
    engine = dispatcher.engine
    pid = engine.process.pid
    long_draft = " ".join([DRAFT] * 10)  # about 400 tokens: seconds of the model's time
    session.read_ahead(long_draft)
    end = time.monotonic() + 60
    while engine.process.in_call != "next_token_logprobs" and time.monotonic() < end:
        time.sleep(0.01)
    assert engine.process.in_call == "next_token_logprobs"  # the model is reading the draft now
    session.typing()
    end = time.monotonic() + 60
    while f"{QID} {len(long_draft)} stopped" not in dispatcher.read and time.monotonic() < end:
        time.sleep(0.01)
    assert list(dispatcher.read) == [f"{QID} {len(long_draft)} stopped"]  # typing stopped it; it did not finish
    assert engine.alive and engine.process.pid == pid  # stopped within a step: the process was not ended

    session.read_ahead(long_draft)
    while engine.process.in_call != "next_token_logprobs" and time.monotonic() < end:
        time.sleep(0.01)
    session.show(library.by_id["rag-001"])  # moved on mid-read: the old question's draft is not read to the end
    assert mailbox.run_until(lambda: dispatcher.read.count(f"{QID} {len(long_draft)} stopped") == 2, timeout=60)
    assert engine.process.pid == pid

    session.read_ahead(DRAFT)
    graded = _graded(session, mailbox, view, DRAFT)  # submitted at once: the read is stopped, the answer graded
    assert graded.grader != "rubric only" and not graded.notice  # graded by the model, nothing went wrong
    assert engine.alive and engine.process.pid == pid  # stopped within a step: the process was not ended
    assert statuses.count("loading") == 1  # loaded once, never restarted
