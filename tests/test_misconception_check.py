"""The model's check of a misconception the rubric found by its words (grader._checked_misconceptions), on two dev
answers with the real 1.5B model: one whose words come near a misconception the writer did not state (labelled
without it), one that states it (labelled with it)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core import grader_address
from app.core.choice_fit import logit
from app.core.option_order import model_order, relettered
from app.core.policy import POLICY
from app.core.metrics import split_of
from app.llm import grader
from app.llm.engine import ChatEngine
from app.llm.grader import GradingTools, embedding_similarity, grade_answer
from app.llm.prompts import scenario_misconception_user
from app.llm.yes_no import p_yes

BLIND = Path(__file__).resolve().parents[1] / "content" / "answers" / "blind"


def labelled(file: str, line: int) -> dict:
    row = json.loads((BLIND / file).read_text(encoding="utf-8").splitlines()[line - 1])
    assert split_of(row["question"]) == "dev"  # tuned on dev only: never a test answer here
    return row


@pytest.mark.slow
def test_a_misconception_found_by_its_words_stands_only_when_the_model_reads_it_claimed(
        questions, qwen_path, embedder) -> None:
    engine = ChatEngine(qwen_path)
    tools = GradingTools(engine, embedding_similarity(embedder))
    unstated, stated = labelled("long-context.jsonl", 20), labelled("distillation.jsonl", 6)
    assert not unstated["label"]["misconceptions"] and stated["label"]["misconceptions"]

    rubric_only = grade_answer(questions[unstated["question"]], unstated["answer"],
                               GradingTools(None, tools.similarity), explain=False)
    assert any(m.made for m in rubric_only.misconceptions)  # the rubric reads one in its words

    for row, stands in ((unstated, False), (stated, True)):
        question = questions[row["question"]]
        grader.prime_question(engine, question)
        grade = grade_answer(question, row["answer"], tools, explain=False)
        margins = grade.evidence["misconception_checks"]
        assert margins, grade.evidence
        ids = [m.id for m in question.misconceptions]
        for found in grade.misconceptions:
            if found.id in margins:
                read = model_order(question)
                text = grader_address.without(relettered(row["answer"], question, read), [])  # as the grader reads
                said = p_yes(engine, scenario_misconception_user(read, text, ids.index(found.id)))
                empty = grader.empty_misconceptions(engine, read)[found.id]
                assert margins[found.id] == pytest.approx(logit(said) - logit(empty), abs=1e-3)
                assert found.made == (margins[found.id] >= POLICY.misconception_margin) == stands
        assert grade.verdict == row["label"]["verdict"]
