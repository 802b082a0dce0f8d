"""Fit the key-point checks (app/core/point_fit.py) on the dev split of labelled answers.

    python -m app.fit_points content/answers/blind/*.jsonl --split dev [--model models/X.gguf] [--refit]

For every answer whose writer chose the right option (the checks run only when the grade's choice is the right one),
each key point's rubric confidence and the model's P(yes) to "does the candidate's answer itself make this point?",
for the answer and for an empty answer, are read as the grader reads them. A logistic regression on the points in
point_fit.BAND is fitted to the writers' key-point labels (L2 0.01, standardised features). Before the final fit it
reports two-fold cross-validation by question against the rubric alone: points decided right, and verdicts right on
these answers as the grader decides them (point_fit.decide). Writes app/core/point_fit.json with the rows it used;
--refit fits again on those rows without running the model: their rubric parts read again with today's rubric, the
model's readings kept."""
from __future__ import annotations

import json
import math
import sys
import threading

import numpy as np

from app.core import grader_address, point_fit
from app.core.policy import NO_ANSWER_FLAGS, POLICY
from app.fit_choice import question_halves

L2 = 0.01


def rows_for(cases: list[dict], questions: dict, similarity, engine) -> list[dict]:
    from app.core.option_order import model_order, relettered
    from app.core.rubric import rubric_signals
    from app.llm.grader import empty_points, judge_address, point_yes
    rows = []
    for n, case in enumerate(cases):
        question = questions[case["question"]]
        if case["label"].get("choice") != question.correct:
            continue
        read = model_order(question)
        signals = rubric_signals(read, case["answer"], similarity)
        if any(f in NO_ANSWER_FLAGS for f in signals.flags):
            continue
        judge_address(engine, signals, threading.Event())
        clean = grader_address.without(relettered(case["answer"], question, read), signals.addressed)
        everything = range(len(read.key_points))
        yes = {read.key_points[i].id: point_yes(engine, read, clean, i) for i in everything}
        empty = empty_points(engine, read)
        labelled = set(case["label"].get("key_points", []))
        rows.append({"case": n, "question": question.id, "kind": case["kind"], "verdict": case["label"]["verdict"],
                     "misconception": any(m.made for m in signals.misconceptions),
                     "points": [{"id": p.id, "rubric": round(p.confidence, 4), "yes": round(yes[p.id], 6),
                                 "empty": round(empty[p.id], 6), "made": p.id in labelled}
                                for p in signals.key_points]})
        print(f"[{n + 1}/{len(cases)}] {question.id} {case['kind']}", file=sys.stderr)
    return rows


def reread(rows: list[dict], cases: list[dict], questions: dict, similarity) -> list[dict]:
    """The stored rows read again with today's rubric (each point's confidence, whether a misconception is stated),
    the model's readings kept: a --refit fits what the grader now sees. An answer today's rubric finds empty or off
    the question loses its row, as rows_for would leave it out."""
    from app.fit_choice import read_again
    kept = []
    for row, signals in read_again(rows, cases, questions, similarity, "point_fit.json"):
        if any(f in NO_ANSWER_FLAGS for f in signals.flags):
            continue
        confidence = {p.id: round(p.confidence, 4) for p in signals.key_points}
        kept.append(dict(row, misconception=any(m.made for m in signals.misconceptions),
                         points=[dict(p, rubric=confidence[p["id"]]) for p in row["points"]]))
    return kept


def _data(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    x = [point_fit.features(p["rubric"], p["yes"], p["empty"]) for r in rows for p in r["points"]
         if point_fit.in_band(p["rubric"])]
    y = [p["made"] for r in rows for p in r["points"] if point_fit.in_band(p["rubric"])]
    return np.array(x, dtype=float), np.array(y, dtype=float)


def fit(rows: list[dict], steps: int = 3000, rate: float = 0.3) -> dict:
    x, y = _data(rows)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / scale
    w, bias = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(z @ w + bias)))
        w -= rate * (z.T @ (p - y) / len(y) + L2 * w)
        bias -= rate * float((p - y).mean())
    return {"features": list(point_fit.FEATURES), "weights": [round(float(v), 4) for v in w],
            "bias": round(bias, 4), "mean": [round(float(v), 4) for v in mean],
            "scale": [round(float(v), 4) for v in scale]}


def decided(row: dict, model: dict | None) -> tuple[list[bool], int]:
    """The points made as the grader decides them, with the fit (None: the rubric alone), and how many were asked."""
    confidences = [p["rubric"] for p in row["points"]]
    made = [c >= POLICY.point_threshold for c in confidences]
    found = {}
    if model is not None and not row["misconception"]:
        found = point_fit.decide(confidences, POLICY.point_threshold,
                                 lambda i: (row["points"][i]["yes"], row["points"][i]["empty"]), model)
        for index, p in found.items():
            made[index] = p >= POLICY.point_threshold
    return made, len(found)


def scores(rows: list[dict], model: dict | None) -> tuple[int, int, int]:
    """Points decided right, verdicts right (correct / partial by the rule, for answers that chose right) and checks
    asked."""
    points = verdicts = asked = 0
    for row in rows:
        made, checks = decided(row, model)
        points += sum(m == p["made"] for m, p in zip(made, row["points"]))
        asked += checks
        verdict = "partial" if row["misconception"] else (
            "correct" if sum(made) >= math.ceil(len(made) / 2) else "partial")
        verdicts += verdict == row["verdict"]
    return points, verdicts, asked


def cross_validation(rows: list[dict], seeds: int = 4) -> str:
    total = sum(len(r["points"]) for r in rows)
    base = scores(rows, None)
    lines = []
    for seed in range(seeds):
        found = [0, 0, 0]
        for held in question_halves(rows, str(seed)):
            model = fit([r for r in rows if r["question"] not in held])
            got = scores([r for r in rows if r["question"] in held], model)
            found = [a + b for a, b in zip(found, got)]
        lines.append(f"split {seed}: points right {found[0]} (rubric {base[0]}) of {total}; verdicts right {found[1]} "
                     f"(rubric {base[1]}) of {len(rows)}; checks asked {found[2]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from app.evaluation import fit_parser, labelled_answers
    args = fit_parser("python -m app.fit_points", "point_fit.json").parse_args(argv)
    from app.library import open_library
    library = open_library()
    cases = labelled_answers(args.answers, args.split)
    questions = {q.id: q for q in library.questions}
    similarity = library.grading_tools().similarity
    if args.refit:
        stored = point_fit.fitted()
        rows, model_file, command = reread(stored["rows"], cases, questions, similarity), stored["model_file"], \
            stored["command"]
    else:
        from app.llm.engine import ChatEngine
        rows = rows_for(cases, questions, similarity, ChatEngine(args.model))
        model_file = args.model.name
        command = "python -m app.fit_points " + " ".join(sys.argv[1:] if argv is None else argv)
    print(cross_validation(rows))
    model = fit(rows)
    print(f"fit {model}")
    out = {"model_file": model_file, "command": command, "l2": L2, "band": list(point_fit.BAND), **model, "rows": rows}
    point_fit.FIT_FILE.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {point_fit.FIT_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
