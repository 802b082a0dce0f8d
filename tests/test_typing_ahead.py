"""Feeding a draft to the model while the learner types: the fed prompt is the start of every prompt the grader
then sends for that answer (so a submit pays only for what came after), a saved draft is fed, and a grade after
feeding is the grade without. Real library, real user database, a real model in its own process."""
from __future__ import annotations

import time
from pathlib import Path

from app.core import grader_address
from app.core.option_order import model_order, presented, relettered
from app.core.text import without_control_tokens
from app.library import open_library
from app.llm.prompts import SYSTEM, choice_user, option_check_user, scenario_point_user
from app.llm.remote import RemoteChatEngine
from app.llm.typing_ahead import feed_draft, prompt_to_draft_end
from app.llm.yes_no import forget_readings
from app.sessions.practice import PracticeSession
from tests.test_sessions import QID, Recorder

# bullets on their own lines, double spaces, an option letter in the learner's order and a typed chat token: each
# is written into the grading prompt differently from how it was typed
DRAFT = ("I'd pick C here.\n\n- The wiki changes  daily, so a fine-tuned model goes stale.\n"
         "- Users want the source page <|im_end|> cited.\nSo C, with retrieval over the wiki.")


def _graded_answer(shown, draft: str) -> str:
    """The answer text as grade_answer hands it to the model's prompts (no sentence addressed to the grader)."""
    return grader_address.without(relettered(without_control_tokens(draft), shown, model_order(shown)), [])


def test_the_fed_draft_starts_every_prompt_the_grader_sends_for_it(bank_in_data_dir: Path, smol_path: Path) -> None:
    library = open_library()
    question = library.by_id[QID]
    shown = presented(question, tuple(reversed([o.id for o in question.options])))  # not the model's order
    engine = RemoteChatEngine(smol_path)
    try:
        fed = engine.tokens(prompt_to_draft_end(engine, shown, DRAFT))
        assert feed_draft(engine, shown, DRAFT) == len(fed) and engine.cached_tokens() == len(fed)
        read, answer = model_order(shown), _graded_answer(shown, DRAFT)
        assert "\n" not in answer and "  " not in answer  # the draft was rewritten on its way in
        for user in (choice_user(read, answer), option_check_user(read, answer, 1),
                     scenario_point_user(read, answer, 0)):
            sent = engine.tokens(engine.format(SYSTEM, user))
            common = next((i for i, (a, b) in enumerate(zip(fed, sent)) if a != b), len(fed))
            assert common >= len(fed) - 1  # at most the last token changes, where the answer's end is joined
        assert feed_draft(engine, shown, "   ") == 0  # nothing typed: nothing fed
    finally:
        engine.stop()


def test_a_saved_draft_is_fed_and_its_grade_is_the_grade_without(services, smol_path: Path) -> None:
    dispatcher, mailbox, view, session = _question_shown(services, smol_path)

    forget_readings()
    session.submit(DRAFT)  # pasted and submitted: nothing fed
    assert mailbox.run_until(lambda: "on_final" in view.kinds(), timeout=300)
    pasted = next(e for e in view.events if e[0] == "on_final")[1]
    assert not dispatcher.fed

    forget_readings()
    view.events.clear()
    dispatcher.primed.clear()
    dispatcher.prime(session.question)  # the cache back to the question alone
    assert mailbox.run_until(lambda: f"{QID} written" in dispatcher.primed, timeout=120)
    tokens = len(dispatcher.engine.tokens(prompt_to_draft_end(dispatcher.engine, session.question, DRAFT)))
    session.save_draft(DRAFT[: len(DRAFT) // 2])
    session.save_draft(DRAFT)  # saved again, maybe before the first feed ran: then one feed, of the newest draft
    assert mailbox.run_until(lambda: f"{QID} {tokens}" in dispatcher.fed, timeout=60)
    assert len(dispatcher.fed) <= 2 and dispatcher.engine.cached_tokens() == tokens
    session.submit(DRAFT)
    assert mailbox.run_until(lambda: "on_final" in view.kinds(), timeout=300)
    fed = next(e for e in view.events if e[0] == "on_final")[1]
    assert (fed.choice, fed.verdict, fed.score) == (pasted.choice, pasted.verdict, pasted.score)
    assert [p.made for p in fed.key_points] == [p.made for p in pasted.key_points]


def test_a_grade_of_the_draft_being_fed_lets_the_feed_finish(services, smol_path: Path) -> None:
    """A paste submitted while its draft is being fed: the feed's tokens are the grade's, so the grade lets it finish
    (a stop would throw away the step under way, and the grade would evaluate those tokens again). A grade of text
    that does not continue the draft stops the feed (recorded as 0 tokens)."""
    dispatcher, mailbox, view, session = _question_shown(services, smol_path)
    pasted = " ".join([DRAFT] * 12)[:2000]  # several 128-token steps of feeding: about two seconds on this model
    tokens = len(dispatcher.engine.tokens(prompt_to_draft_end(dispatcher.engine, session.question, pasted)))

    for graded, fed in ((pasted, f"{QID} {tokens}"), ("RAG, because the wiki changes daily.", f"{QID} 0")):
        dispatcher.fed.clear()
        view.events.clear()
        dispatcher.primed.clear()
        dispatcher.prime(session.question)  # the cache back to the question alone
        assert mailbox.run_until(lambda: f"{QID} written" in dispatcher.primed, timeout=120)
        session.save_draft(pasted)
        assert _until(lambda: dispatcher.feeding is not None)
        session.submit(graded)  # while the draft is being fed
        assert mailbox.run_until(lambda: "on_final" in view.kinds(), timeout=300)
        assert list(dispatcher.fed) == [fed]  # finished for its own grade; stopped for another answer's


def _question_shown(services, smol_path: Path):
    """The small model loaded, QID shown in a practice session and primed (explanation written ahead)."""
    library, dispatcher, mailbox, db, statuses = services
    dispatcher.load(smol_path)
    assert mailbox.run_until(lambda: "ready" in statuses, timeout=180)
    view = Recorder()
    session = PracticeSession(db, dispatcher, view)
    session.show(library.by_id[QID])
    assert mailbox.run_until(lambda: f"{QID} written" in dispatcher.primed, timeout=120)
    return dispatcher, mailbox, view, session


def _until(done, timeout: float = 120.0) -> bool:
    """Poll without waiting for the GUI mailbox: the feed may start and end between two of its turns."""
    end = time.monotonic() + timeout
    while not done():
        if time.monotonic() > end:
            return False
        time.sleep(0.001)
    return True
