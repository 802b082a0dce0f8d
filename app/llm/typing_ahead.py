"""The answer's tokens evaluated while the learner types. Under steady typing there is no pause to read the draft
ahead (dispatcher.read_ahead), so each draft save feeds what was typed since the last one into the model's cache:
the grading prompts share the prompt up to the end of the answer, and a submit then pays only for the words typed
after the last save and the question that follows the answer. answer_prompt, the grading prompt cut at the end of
an answer, is also what priming (the empty answer) and the kept answer state are evaluated from."""
from __future__ import annotations

import threading

from app.core import grader_address
from app.core.model import Question
from app.core.open_rubric import is_open
from app.core.option_order import model_order, relettered
from app.core.text import without_control_tokens
from app.llm.prompts import ANSWER_END, MAX_ANSWER_CHARS, SYSTEM, choice_prefix, open_prefix
from app.llm.yes_no import is_server

MARK = "\x00answer\x00"  # stands in for the answer to find where it starts in the formatted prompt


def prompt_to_draft_end(engine, question: Question, draft: str) -> str:
    """The formatted grading prompt up to the end of the draft, exactly as grading will write it (options in the
    model's order, the learner's letters rewritten to it, control tokens as text, sentences joined as the grader
    joins them, the same cut)."""
    return answer_prompt(engine, model_order(question), as_graded(question, draft))


def as_graded(question: Question, draft: str) -> str:
    """The draft as the grader quotes it: control tokens as text, the learner's letters rewritten to the model's
    order, sentences joined as the checks join them (when none speaks to the grader)."""
    answer = relettered(without_control_tokens(draft), question, model_order(question))
    return grader_address.without(answer, [])


def answer_prompt(engine, read: Question, answer: str, closed: bool = False) -> str:
    """The formatted grading prompt up to the end of an answer already written as the grader writes it, for the
    question in the model's order; closed, with the line that closes the answer too (every grading prompt has it:
    a prompt cut at the answer's last character may end in a token the closing line merges with)."""
    before = open_prefix(read) if is_open(read) else choice_prefix(read)
    prompt = engine.format(SYSTEM, before + MARK)
    return prompt[: prompt.index(MARK)] + answer.strip()[:MAX_ANSWER_CHARS] + (ANSWER_END if closed else "")


def feed_draft(engine, question: Question, draft: str, stop: threading.Event | None = None) -> int:
    """Evaluate the grading prompt up to the end of the draft (the part already in the cache costs nothing); returns
    the prompt's length in tokens, 0 when stopped or when there is nothing to feed. A model server keeps its own
    cache of the question only: a request per save would cost more than it saves."""
    if engine is None or is_server(engine) or not draft.strip():
        return 0
    return engine.prime(prompt_to_draft_end(engine, question, draft), stop=stop)
