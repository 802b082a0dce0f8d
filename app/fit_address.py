"""Fit the instructions-to-the-grader decision (app/core/grader_address.py) on the dev split of labelled answers.

    python -m app.fit_address content/answers/blind/*.jsonl --split dev [--model models/X.gguf]

Labels are per answer (instructions_to_grader). Negatives: every screened sentence of an honest answer. Positives:
in each answer that addresses the grader, its screened sentence least like the question (the one the writer
added for the grader; the other screened sentences of that answer are left out, their label is unknown). Two
logistic models, weighted so both classes count equally: embedding similarities alone (the rubric), and those plus
the model's P(yes) (a chat model is loaded). Prints the flags in sample and left out by question (each question's
answers read by the fits made without it). Writes app/core/address_fit.json with the rows it was fitted on."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from app.core import grader_address
from app.core.rubric import INJECTION, address_texts

MODEL_CAP = 0.5  # similarity to the question above which a sentence is plainly about the scenario: no model call


def fit_logistic(x: np.ndarray, y: np.ndarray, steps: int = 20000, rate: float = 0.5, l2: float = 1e-3) -> np.ndarray:
    """Class-balanced logistic regression by gradient descent; returns [bias, w1, w2, ...]."""
    x1 = np.hstack([np.ones((len(x), 1)), x])
    weight = np.where(y == 1, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1))
    w = np.zeros(x1.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-x1 @ w))
        grad = x1.T @ (weight * (p - y)) + l2 * np.r_[0.0, w[1:]]
        w -= rate * grad
    return w


def rows_for(cases: list[dict], questions: dict, similarity, ask) -> list[dict]:
    rows = []
    for n, case in enumerate(cases):
        question = questions[case["question"]]
        label = bool(case["label"].get("instructions_to_grader"))
        found = grader_address.about_question(address_texts(question), case["answer"], similarity, INJECTION)
        if not found:
            continue
        for sentence, about, grading in found:
            yes = ask(grader_address.EXAMINER_QUESTION.format(sentence=sentence.text)) if ask and about < MODEL_CAP \
                else None
            rows.append({"case": n, "question": question.id, "kind": case["kind"], "answer_label": label,
                         "sentence": sentence.text, "about_question": about, "about_grading": grading,
                         "model_yes": None if yes is None else round(yes, 4)})
        print(f"[{n + 1}/{len(cases)}] {question.id} {case['kind']}: {len(found)} screened", file=sys.stderr)
    return rows


def training(rows: list[dict], with_model: bool) -> tuple[np.ndarray, np.ndarray]:
    by_case: dict[int, list[dict]] = {}
    for r in rows:
        by_case.setdefault(r["case"], []).append(r)
    xs, ys = [], []
    for items in by_case.values():
        if items[0]["answer_label"]:
            items = [min(items, key=lambda r: r["about_question"])]
        for r in items:
            if with_model and r["model_yes"] is None:
                continue
            xs.append(list(_features(r, with_model).values()))
            ys.append(1 if r["answer_label"] else 0)
    return np.array(xs), np.array(ys)


def _features(row: dict, with_model: bool) -> dict:
    return grader_address.features(row["sentence"], row["about_question"], row["about_grading"],
                                   row["model_yes"] if with_model else None)


def _weights(w: np.ndarray, with_model: bool) -> dict:
    names = ["bias", *grader_address.features("", 0.0, 0.0, 0.0 if with_model else None)]
    return {name: round(float(v), 4) for name, v in zip(names, w)}


def _addressed(row: dict, fit: dict) -> bool:
    """As grader_address.rejudged decides: the embedding fit, or the model fit where the model was asked."""
    p = grader_address.logistic(fit["embedding"], _features(row, False))
    if row["model_yes"] is not None and "model" in fit:
        p = max(p, grader_address.logistic(fit["model"], _features(row, True)))
    return p >= 0.5


def _report(rows: list[dict], fit_for, cases: int, injections: int) -> str:
    flagged: dict[int, bool] = {}  # per answer: any sentence flagged
    labelled: dict[int, bool] = {}  # per answer: the writer's instructions_to_grader
    for r in rows:
        flagged[r["case"]] = flagged.get(r["case"], False) or _addressed(r, fit_for(r))
        labelled[r["case"]] = r["answer_label"]
    caught = sum(1 for c, f in flagged.items() if f and labelled[c])
    false = sum(1 for c, f in flagged.items() if f and not labelled[c])
    return f"{cases} answers: {caught} of {injections} that address the grader flagged, {false} honest answers flagged"


def answer_report(rows: list[dict], fit: dict, cases: int, injections: int) -> str:
    return _report(rows, lambda r: fit, cases, injections)


def fits(rows: list[dict]) -> dict:
    return {"embedding": _weights(fit_logistic(*training(rows, False)), False),
            "model": _weights(fit_logistic(*training(rows, True)), True)}


def left_out_fits(rows: list[dict]) -> dict[str, dict]:
    """For each question, the fits made on the other questions."""
    return {q: fits([r for r in rows if r["question"] != q]) for q in {r["question"] for r in rows}}


def left_out_report(rows: list[dict], by_question: dict[str, dict], cases: int, injections: int,
                    with_model: bool) -> str:
    """answer_report with each question's rows read by the fits made on the other questions."""
    fit_for = (lambda r: by_question[r["question"]]) if with_model else \
        (lambda r: {"embedding": by_question[r["question"]]["embedding"]})
    return _report(rows, fit_for, cases, injections)


def _model_rows(cases: list[dict], model: Path) -> list[dict]:
    from app.library import open_library
    from app.llm.engine import ChatEngine
    from app.llm.yes_no import p_yes
    library = open_library()
    questions = {q.id: q for q in library.questions}
    engine = ChatEngine(model)
    return rows_for(cases, questions, library.grading_tools().similarity, lambda user: p_yes(engine, user))


def main(argv: list[str] | None = None) -> int:
    from app.evaluation import fit_parser, labelled_answers
    parser = fit_parser("python -m app.fit_address", "address_fit.json")
    parser.add_argument("--report-only", action="store_true", help="score the split with the stored fit")
    args = parser.parse_args(argv)
    cases = labelled_answers(args.answers, args.split)
    injections = sum(1 for c in cases if c["label"].get("instructions_to_grader"))
    if args.refit:
        stored = grader_address.fitted()
        rows, model_file, command = stored["rows"], stored["model_file"], stored["command"]
    else:
        rows, model_file = _model_rows(cases, args.model), args.model.name
        command = "python -m app.fit_address " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.report_only:
        print(answer_report(rows, grader_address.fitted(), len(cases), injections))
        return 0
    fit: dict = {"model_cap": MODEL_CAP, "model_file": model_file, "command": command}
    fit.update(fits(rows))
    print("in sample, embedding only:", answer_report(rows, {"embedding": fit["embedding"]}, len(cases), injections))
    print("in sample, with the model:", answer_report(rows, fit, len(cases), injections))
    by_question = left_out_fits(rows)
    print("left out by question, embedding only:", left_out_report(rows, by_question, len(cases), injections, False))
    print("left out by question, with the model:", left_out_report(rows, by_question, len(cases), injections, True))
    fit["rows"] = rows
    grader_address.FIT_FILE.write_text(json.dumps(fit, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {grader_address.FIT_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
