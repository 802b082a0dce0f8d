"""Fit the choice combiner (app/core/choice_fit.py) on the dev split of labelled answers.

    python -m app.fit_choice content/answers/blind/*.jsonl --split dev [--model models/X.gguf] [--refit]

For every answer the grader would ask the model about (no flag that settles it), the rubric's evidence, the model's
letter probabilities and its per-option checks (and both for an empty answer to the question) are read exactly as
the grader reads them; a conditional logit over the options and 'none' is fitted to the writers' choice labels
(penalty L2, below). Before the final fit it reports two-fold cross-validation by question against the fixed rule. Writes
app/core/choice_fit.json with the rows it used; --refit fits again on those rows without running the model: their
rubric parts read again with today's rubric, their model readings kept, less any that today's rubric settles by a
flag (the model is never asked about those).

The stance regression (app/core/stance.py) is fitted here too, on the same rows' masked sentences, each labelled
"for" when it names the option the writer chose. A row's stance term comes from a regression fitted on the other
half of the questions (two folds by question), so the combiner weighs the stance as it does on unseen answers."""
from __future__ import annotations

import hashlib
import json
import sys
import threading

import numpy as np

from app.core import choice_fit, grader_address, stance
from app.core.policy import NO_ANSWER_FLAGS, Flag, checks_wanted, combine_choice

L2 = 0.003  # chosen by cross-validation by question on dev (see the commit): 0.01 held out 295.25 of 325 on average, 0.003 299.0
STANCE_L2, STANCE_STEPS, STANCE_RATE = 1e-4, 400, 1.0  # chosen by cross-validation on dev (see the commit)


def rows_for(cases: list[dict], questions: dict, similarity, engine) -> list[dict]:
    from app.core.option_order import model_order, relettered
    from app.core.rubric import both_option, rubric_signals
    from app.llm.grader import empty_reading, judge_address, model_choice, option_checks
    rows = []
    for n, case in enumerate(cases):
        question = questions[case["question"]]
        read = model_order(question)
        signals = rubric_signals(read, case["answer"], similarity)
        if settled_by_a_flag(signals):
            continue
        judge_address(engine, signals, threading.Event())
        clean = grader_address.without(relettered(case["answer"], question, read), signals.addressed)
        letters = model_choice(engine, read, clean)
        checks = option_checks(engine, read, clean)
        empty = empty_reading(engine, read)
        rows.append({"case": n, "question": question.id, "kind": case["kind"],
                     "label": case["label"].get("choice", "none"), "both": both_option(read),
                     **rubric_parts(signals),
                     "letters": {k: round(v, 6) for k, v in letters.items()},
                     "checks": {k: round(v, 6) for k, v in checks.items()},
                     "empty": {part: {k: round(v, 6) for k, v in empty[part].items()} for part in empty}})
        print(f"[{n + 1}/{len(cases)}] {question.id} {case['kind']}", file=sys.stderr)
    return rows


def settled_by_a_flag(signals) -> bool:
    """No answer, or "both": the grader decides the choice without asking the model, so the fit has no row for it."""
    return any(f in NO_ANSWER_FLAGS for f in signals.flags) or Flag.BOTH in signals.flags


def still_asked(rows: list[dict], cases: list[dict], questions: dict, similarity) -> list[dict]:
    """The stored rows read again with today's rubric, their model readings kept: a --refit fits what the grader
    now sees without running the model. A rule that now settles an answer by a flag takes its row out, as rows_for
    would leave it out."""
    return [dict(row, **rubric_parts(signals))
            for row, signals in read_again(rows, cases, questions, similarity, "choice_fit.json")
            if not settled_by_a_flag(signals)]


def read_again(rows: list[dict], cases: list[dict], questions: dict, similarity, fit_file: str):
    """Each stored row with the rubric's reading of its answer today (both fits' --refit start here)."""
    from app.core.option_order import model_order
    from app.core.rubric import rubric_signals
    for row in rows:
        case = stored_case(row, cases, fit_file)
        yield row, rubric_signals(model_order(questions[case["question"]]), case["answer"], similarity)


def stored_case(row: dict, cases: list[dict], fit_file: str) -> dict:
    """The labelled answer a stored row was read from; an error that says so when the files given are not the fit's."""
    case = cases[row["case"]] if row["case"] < len(cases) else {"question": "missing"}
    if case["question"] != row["question"]:
        raise SystemExit(f"{fit_file} row {row['case']} is {row['question']}, but answer {row['case']} of these files "
                         f"is {case['question']}: give the files the fit was made from")
    return case


def rubric_parts(signals) -> dict:
    """What a row holds of the rubric's reading (rows_for and still_asked write the same fields)."""
    return {"flags": list(signals.flags),
            "lexical": signals.choice, "lexical_confidence": round(signals.choice_confidence, 4),
            "states_decision": signals.states_decision,
            "evidence": {k: round(v, 4) for k, v in signals.option_evidence.items()},
            "closeness": {k: round(v, 4) for k, v in signals.option_closeness.items()},
            "opening": {k: round(v, 4) for k, v in signals.option_opening.items()},
            "closing": {k: round(v, 4) for k, v in signals.option_closing.items()},
            "lead": signals.option_lead,
            "stance_units": [list(u) for u in signals.stance_units]}


def _stance_data(rows: list[dict], vectors: dict[str, list[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Masked sentences of answers that chose one option, labelled 1 when they name that option."""
    x, y = [], []
    for row in rows:
        if row["label"] in (choice_fit.NONE, row["both"]):
            continue
        for option_id, text in row["stance_units"]:
            x.append(stance.inputs(vectors[text], text))
            y.append(1.0 if option_id == row["label"] else 0.0)
    return np.array(x, dtype=float).reshape(len(x), -1), np.array(y)


def fit_stance(rows: list[dict], vectors: dict[str, list[float]]) -> dict:
    """Logistic regression on the masked sentences' embeddings (L2 on the weights, not the bias)."""
    x, y = _stance_data(rows, vectors)
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    for _ in range(STANCE_STEPS):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        w -= STANCE_RATE * (xb.T @ (p - y) / len(y) + STANCE_L2 * np.r_[w[:-1], 0.0])
    right = int(((xb @ w > 0) == (y > 0.5)).sum())
    return {"weights": [round(float(v), 5) for v in w[:-1]], "bias": round(float(w[-1]), 5), "l2": STANCE_L2,
            "steps": STANCE_STEPS, "sentences": len(y), "for": int(y.sum()), "right_in_sample": right}


def question_halves(rows: list[dict], seed: str) -> list[set]:
    """Two folds of the rows' questions, by a hash of id and seed (every answer to a question in the same fold)."""
    questions = sorted({r["question"] for r in rows})
    return [{q for q in questions if int(hashlib.md5(f"{q}{seed}".encode()).hexdigest(), 16) % 2 == fold}
            for fold in range(2)]


def add_stance(rows: list[dict], vectors: dict[str, list[float]]) -> tuple[dict, str]:
    """Each row's stance term from the regression fitted on the other half of the questions; the regression fitted
    on all rows (what the grader uses); and a line on how often the held-out sentences were read right."""
    right = total = 0
    for held in question_halves(rows, "stance"):
        model = fit_stance([r for r in rows if r["question"] not in held], vectors)
        test = [r for r in rows if r["question"] in held]
        x, y = _stance_data(test, vectors)
        right += sum((stance.probability(v, model["weights"], model["bias"]) > 0.5) == (t > 0.5) for v, t in zip(x, y))
        total += len(y)
        for row in test:
            units = [tuple(u) for u in row["stance_units"]]
            probs = [stance.p_for(vectors[text], text, model) for _, text in units]
            row["stance"] = stance.per_option(units, probs, list(row["checks"]))
    _, y = _stance_data(rows, vectors)
    return fit_stance(rows, vectors), (f"stance: {right} of {total} held-out sentences read right (calling every "
                                       f"sentence 'for' would get {int(y.sum())})")


def unit_vectors(rows: list[dict], embed) -> dict[str, list[float]]:
    texts = list(dict.fromkeys(text for r in rows for _, text in r["stance_units"]))
    return dict(zip(texts, embed(texts)))


def _features(row: dict) -> dict[str, list[float]]:
    return choice_fit.option_features(row["evidence"], row["letters"], row["checks"], row["closeness"],
                                      row["stance"], row.get("opening"), row.get("empty"), row.get("closing"),
                                      row.get("lead"))


def _matrix(row: dict) -> tuple[list[str], np.ndarray]:
    found = _features(row)
    names = list(found)
    return names, np.array([[1.0 if o == choice_fit.NONE else 0.0, *found[o]] for o in names])


def fit(rows: list[dict], steps: int = 2000, rate: float = 0.2) -> dict:
    data = []
    for row in rows:
        names, x = _matrix(row)
        if row["label"] in names:
            data.append((x, names.index(row["label"])))
    w = np.zeros(1 + len(choice_fit.FEATURES))
    for _ in range(steps):
        grad = L2 * w
        for x, y in data:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            grad += (x.T @ p - x[y]) / len(data)
        w -= rate * grad
    return {name: round(float(v), 4) for name, v in zip((choice_fit.NONE, *choice_fit.FEATURES), w)}


def right(rows: list[dict], weights: dict | None) -> int:
    """How many rows get the labelled choice, decided as the grader decides (policy.checks_wanted, combine_choice):
    with these fitted weights, or (None) by the fixed rule."""
    from app.llm.grader import with_checks
    fitted, n = weights is not None, 0
    for row in rows:
        model, checked = row["letters"], checks_wanted(row["lexical"], row["lexical_confidence"], row["flags"],
                                                       row["states_decision"], row["letters"], fitted)
        if checked:
            model = choice_fit.probabilities(_features(row), weights) if fitted else with_checks(row["letters"],
                                                                                               row["checks"])
        got, _ = combine_choice(row["lexical"], row["lexical_confidence"], model, row["flags"],
                                row["states_decision"], fitted=fitted and checked)
        n += got == row["label"]
    return n


def cross_validation(rows: list[dict], seeds: int = 4) -> str:
    lines = []
    for seed in range(seeds):
        fitted = 0
        for held in question_halves(rows, str(seed)):
            fitted += right([r for r in rows if r["question"] in held], fit([r for r in rows if r["question"] not in held]))
        lines.append(f"split {seed}: fitted {fitted}, fixed rule {right(rows, None)} of {len(rows)} held-out answers")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from app.evaluation import fit_parser, labelled_answers
    args = fit_parser("python -m app.fit_choice", "choice_fit.json").parse_args(argv)
    from app.library import open_library
    library = open_library()
    cases = labelled_answers(args.answers, args.split)
    questions = {q.id: q for q in library.questions}
    similarity = library.grading_tools().similarity
    if args.refit:
        stored = choice_fit.fitted()
        rows = still_asked(stored["rows"], cases, questions, similarity)
        model_file, command = stored["model_file"], stored["command"]
    else:
        from app.llm.engine import ChatEngine
        rows = rows_for(cases, questions, similarity, ChatEngine(args.model))
        model_file = args.model.name
        command = "python -m app.fit_choice " + " ".join(sys.argv[1:] if argv is None else argv)
    stance_model, said = add_stance(rows, unit_vectors(rows, library.embedder))
    print(said)
    print(cross_validation(rows))
    weights = fit(rows)
    print(f"weights {weights}; on all {len(rows)} rows: fitted {right(rows, weights)}, fixed rule {right(rows, None)}")
    out = {"model_file": model_file, "command": command, "l2": L2, "weights": weights, "stance": stance_model,
           "rows": rows}
    choice_fit.FIT_FILE.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {choice_fit.FIT_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
