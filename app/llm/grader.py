"""Grades one answer: rubric signals, a constrained choice call read through token probabilities,
a verdict and score by the documented rule, then a worded explanation streamed from the model."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from app.core import choice_fit, grader_address, point_fit, stance
from app.core.model import Citation, Grade, PointResult, Question
from app.core.option_order import model_order, relettered
from app.core.open_rubric import is_open
from app.core.policy import (BLOCKING_FLAGS, POLICY, Flag, checks_wanted, clear_off_topic, combine_choice,
                             points_for_choice, verdict_and_score)
from app.core.rubric import RubricSignals, question_texts, rubric_signals
from app.core.text import without_control_tokens
from app.llm.engine import Cancelled, ChatEngine
from app.llm.open_grader import grade_open_answer, prime_open
from app.llm.process import ModelCrashed
from app.llm.prompts import (LETTERS, SYSTEM, choice_prefix, choice_user, explanation_user, option_check_user,
                             scenario_misconception_user, scenario_point_user)
from app.llm.server_client import ServerError
from app.llm.server_engine import REPLY_CONFIDENCE, REPLY_PATH
from app.llm.typing_ahead import answer_prompt
from app.llm.yes_no import forget_readings, is_server, p_yes, p_yes_together, remembered

EXPLANATION_TOKENS = 120  # a hard cap; the explanation ends at the first sentence end after EXPLANATION_FINISH
EXPLANATION_FINISH = 45
# The model's reply is started for it: without this it spent its first sentence restating the right option, often
# with its letter ("The correct choice is B. ..."), before saying why it wins.
EXPLANATION_LEAD = "The right choice wins because"
LOCAL_PATH, RUBRIC_PATH = "local model", "rubric"


@dataclass
class GradingTools:
    """What the grader may use; any of them may be missing (rubric only, no embeddings, no index)."""
    engine: ChatEngine | None = None
    similarity: Callable[[Sequence[str], Sequence[str]], list[list[float]]] | None = None
    retrieve: Callable[..., list] | None = None
    # the local engine to grade with when a model server fails (loaded on first need); None: the rubric
    fallback: Callable[[], object | None] | None = None

    def load_fallback(self, notices: list[str]):
        """The local engine to grade with after a server failed, or None (none set, or it would not load: said)."""
        if self.fallback is None:
            return None
        try:
            return self.fallback()
        except Exception as exc:  # noqa: BLE001 - a local model that will not load leaves the rubric
            notices.append(f"The local model could not be loaded either ({exc}).")
            return None

    def raise_crash(self) -> None:
        """Raise the model crash a grade absorbed (it was graded from the rubric), for callers that must stop."""
        crash = self.engine.take_crash() if hasattr(self.engine, "take_crash") else None
        if crash is not None:
            raise crash

    @property
    def grader_name(self) -> str:
        if self.engine is None:
            return "rubric only"
        if is_server(self.engine):
            return self.engine.name
        return f"{self.engine.name} (sha256 {self.engine.sha256[:12]})"

    @property
    def path(self) -> str:
        """How the model part of a grade is read: server logprobs, server constrained reply, local model, rubric."""
        if self.engine is None:
            return RUBRIC_PATH
        return self.engine.grading_path if is_server(self.engine) else LOCAL_PATH


class EmbeddingSimilarity:
    """Similarity between texts (rows x columns, cosine clipped to [0, 1]) from an embedding model; `vectors` gives
    the unit-length embeddings themselves (stance.py reads them)."""

    def __init__(self, embed: Callable[[Sequence[str]], list[list[float]]]):
        self.vectors = embed

    def __call__(self, rows: Sequence[str], columns: Sequence[str]) -> list[list[float]]:
        vectors = np.asarray(self.vectors(list(rows) + list(columns)), dtype=np.float32)
        return np.clip(vectors[: len(rows)] @ vectors[len(rows):].T, 0.0, 1.0).tolist()


def embedding_similarity(embed) -> EmbeddingSimilarity:
    return EmbeddingSimilarity(embed)


def option_stance(signals: RubricSignals, options: Sequence[str], similarity) -> dict[str, float]:
    """For or against, per option (stance.py), when embeddings are at hand; else {} (the term is 0)."""
    vectors = getattr(similarity, "vectors", None)  # a plain similarity function has no vectors to give
    if vectors is None:
        return {}
    try:
        return stance.option_stance(signals.stance_units, options, vectors, choice_fit.stance_model())
    except ModelCrashed:
        return {}  # the embedding model stopped: the choice is read without this term (it restarts on next use)


def prime_question(engine: ChatEngine, question: Question) -> None:
    """Evaluate the choice prompt up to the answer, so that grading pays only for the answer's tokens."""
    if is_open(question):
        prime_open(engine, question)
        return
    question = model_order(question)
    if is_server(engine):
        engine.prime(SYSTEM, choice_prefix(question))
    else:
        engine.prime(answer_prompt(engine, question, ""))
    if choice_fit.fitted_with(engine.name):
        empty_reading(engine, question)  # short prompts after the primed prefix, which they leave in the cache
    if point_fit.fitted_with(engine.name):
        empty_points(engine, question)
        empty_misconceptions(engine, question)


_EMPTY_READINGS: dict[tuple[str, str], dict] = {}  # (model, prompt up to the answer) -> letters and option checks
_EMPTY_POINTS: dict[tuple[str, str], dict] = {}    # ... -> P(yes) per key point
_EMPTY_MISCONCEPTIONS: dict[tuple[str, str], dict] = {}  # ... -> P(yes) per misconception


def _kept(store: dict, engine: ChatEngine, question: Question, read: Callable[[], dict]) -> dict:
    """A reading of an empty answer, kept per model and prompt so it is taken once per question."""
    key = (engine.name, choice_prefix(question))
    if key not in store:
        store[key] = read()
    return store[key]


def empty_reading(engine: ChatEngine, question: Question, cancel: threading.Event | None = None) -> dict:
    """The model's letters and per-option checks for an empty answer (question in the model's order): what it says
    whatever the answer, which the fitted choice subtracts (choice_fit.py). Read once per question, while the user
    types."""
    return _kept(_EMPTY_READINGS, engine, question,
                 lambda: {"letters": model_choice(engine, question, "", cancel),
                          "checks": option_checks(engine, question, "", cancel)})


def empty_points(engine: ChatEngine, question: Question, cancel: threading.Event | None = None) -> dict[str, float]:
    """The model's P(yes) to each key-point check for an empty answer (point_fit.py subtracts it), read once per
    question, while the user types."""
    return _empty_yes(_EMPTY_POINTS, engine, question, question.key_points, scenario_point_user, cancel)


def empty_misconceptions(engine: ChatEngine, question: Question, cancel: threading.Event | None = None
                         ) -> dict[str, float]:
    """The model's P(yes) to "does the candidate's answer itself claim this?" for each misconception, for an empty
    answer (_checked_misconceptions subtracts it), read once per question, while the user types."""
    return _empty_yes(_EMPTY_MISCONCEPTIONS, engine, question, question.misconceptions, scenario_misconception_user,
                      cancel)


def _empty_yes(store: dict, engine: ChatEngine, question: Question, items, user: Callable[[Question, str, int], str],
               cancel: threading.Event | None) -> dict[str, float]:
    return _kept(store, engine, question,
                 lambda: dict(zip([item.id for item in items],
                                  p_yes_together(engine, [user(question, "", i) for i in range(len(items))], cancel))))


def point_yes(engine: ChatEngine, question: Question, answer: str, index: int,
              cancel: threading.Event | None = None) -> float:
    """P(yes) to "does the candidate's answer itself make this point?" for the key point at index; it shares the
    evaluated answer with the letter call and the option checks, so it pays only for its last line."""
    return p_yes(engine, scenario_point_user(question, answer, index), cancel)


def forget_empty_readings() -> None:
    """Drop the kept readings, and every remembered one (the bench's cold grade must pay for its own)."""
    _EMPTY_READINGS.clear()
    _EMPTY_POINTS.clear()
    _EMPTY_MISCONCEPTIONS.clear()
    forget_readings()


def prime_explanation(engine: ChatEngine, question: Question, retrieve: Callable[..., tuple] | None,
                      stop: threading.Event | None = None) -> bool:
    """Evaluate the explanation prompt too and keep its state aside (the two prompts share the scenario block, so this
    costs only the rationale and notes), then put the choice prompt back in the cache: after the verdict, the
    explanation starts from the kept state instead of evaluating about 300 tokens. A set `stop` (a grade is waiting)
    abandons it within a step (returns False); grading then shares the scenario block with whatever is cached.
    An open answer's feedback is the rubric's (no explanation prompt); a model server keeps no state aside for us
    (its cache holds what it evaluated last): nothing to do for either."""
    if is_open(question) or is_server(engine):
        return False
    question = model_order(question)
    prompt = explanation_prompt(engine, question, explanation_sections(question, retrieve))
    if not engine.prime(prompt, keep="explanation", stop=stop):
        return False
    prime_question(engine, question)
    return True


def write_explanation(engine: ChatEngine, question: Question, retrieve: Callable[..., tuple] | None,
                      stop: threading.Event | None = None) -> bool:
    """Write the model's part of the explanation while the learner types, and remember it (yes_no.remembered). Its
    prompt is about the right option, not the answer (explanation_sections), and the model writes greedily, so the
    text is the one it would write after the verdict: the grade then shows it at once instead of waiting about 4 s
    for it. A set `stop` (a grade is waiting) abandons it within a step (returns False) and nothing is stored. Then
    the choice prompt goes back in the cache. Open answers have no explanation prompt; a model server is not asked
    ahead (its cache holds what it evaluated last)."""
    if is_open(question) or is_server(engine):
        return False
    question = model_order(question)
    try:
        _written(engine, explanation_prompt(engine, question, explanation_sections(question, retrieve)), stop, None)
    except Cancelled:
        return False
    prime_question(engine, question)
    return True


def _written(engine: ChatEngine, prompt: str, cancel: threading.Event | None,
             on_piece: Callable[[str], None] | None) -> str:
    """The model's continuation of the explanation prompt, written once per model and prompt."""
    return remembered(engine, "explanation", prompt,
                      lambda: engine.stream(prompt, EXPLANATION_TOKENS, cancel, on_piece, EXPLANATION_FINISH))


def explanation_sections(question: Question, retrieve: Callable[..., tuple] | None) -> list[tuple[str, str]]:
    """The two note sections the explanation is written from. They are about the right option, not about this answer,
    so the explanation prompt is known, and evaluated, before the answer arrives."""
    if retrieve is None:
        return []
    hits, _ = retrieve(_right_option_query(question), 2, _question_notes(question))
    return [(h.section_id, h.snippet) for h in hits]


def _right_option_query(question: Question) -> str:
    correct = question.option(question.correct)
    return f"{correct.label if correct else ''}. {question.rationale}"


def _question_notes(question: Question) -> list[str]:
    """The notes the question names (retrieval boosts their sections)."""
    return [ref.split("#")[0] for ref in question.notes]


def explanation_prompt(engine: ChatEngine, question: Question, sections: list[tuple[str, str]]) -> str:
    return engine.format(SYSTEM, explanation_user(question, sections)) + EXPLANATION_LEAD


def warm_question(similarity, question: Question) -> None:
    """Embed the question's own texts (key points, misconceptions, option wordings) while the user types; the
    embedder caches them, so grading embeds only the answer's sentences."""
    texts = question_texts(question)
    similarity(texts[:1], texts)


def model_choice(engine: ChatEngine, question: Question, answer: str,
                 cancel: threading.Event | None = None) -> dict[str, float]:
    """P(option) from the next-token distribution over option letters (plus 'none'); remembered per prompt."""
    return dict(remembered(engine, "letters", choice_user(question, answer),
                           lambda: _read_letters(engine, question, answer, cancel)))


def _read_letters(engine: ChatEngine, question: Question, answer: str, cancel: threading.Event | None):
    ids = [o.id for o in question.options] + ["none"]
    letters = list(LETTERS[: len(ids)])
    if is_server(engine) and engine.grading_path == REPLY_PATH:
        picked = engine.constrained_reply(SYSTEM, choice_user(question, answer), letters, cancel)
        return _from_reply(ids, letters, picked)
    if is_server(engine):
        found, floor = engine.candidate_logprobs(SYSTEM, choice_user(question, answer), letters, cancel)
        scores = np.array([found.get(letter, floor) for letter in letters])
    else:
        logprobs = engine.next_token_logprobs(engine.format(SYSTEM, choice_user(question, answer)), cancel=cancel)
        scores = np.array([logprobs[engine.first_token(letter)] for letter in letters])
    probs = np.exp(scores - scores.max())
    probs /= probs.sum()
    return dict(zip(ids, probs.tolist()))


def option_checks(engine: ChatEngine, question: Question, answer: str,
                  cancel: threading.Event | None = None) -> dict[str, float]:
    """P(yes) to "does the candidate finally recommend option X?", one check per option. The checks share the
    evaluated prompt up to the end of the answer, so each pays only for its last line (about 35 tokens), and the
    last lines are read side by side, in one batch (yes_no.p_yes_together)."""
    said = p_yes_together(engine, [option_check_user(question, answer, i) for i in range(len(question.options))],
                          cancel)
    return {option.id: p for option, p in zip(question.options, said)}


def _from_reply(ids: list[str], letters: list[str], picked: str) -> dict[str, float]:
    """A distribution from one constrained reply: REPLY_CONFIDENCE on the letter given, the rest shared evenly
    (an even spread when it gave none)."""
    if picked not in letters:
        return {i: 1.0 / len(ids) for i in ids}
    rest = (1.0 - REPLY_CONFIDENCE) / (len(ids) - 1)
    return {i: REPLY_CONFIDENCE if letter == picked else rest for i, letter in zip(ids, letters)}


def with_checks(letters: dict[str, float], checks: dict[str, float]) -> dict[str, float]:
    """Each option's letter probability times its P(yes); 'none' times P(no) of the likeliest option.
    Dev split (355 answers, 1.5B, thresholds unchanged): choice 0.879 -> 0.890, verdict 0.831 -> 0.842, QWK 0.757 ->
    0.770; on the two halves choice 0.868 -> 0.895 and 0.891 -> 0.885. Alone, the checks' top option was right for
    0.79 of the answers that recommend something, the letters' for 0.71."""
    mixed = {k: letters[k] * checks[k] for k in checks}
    mixed["none"] = letters["none"] * (1.0 - max(checks.values()))
    total = sum(mixed.values()) or 1.0
    return {k: v / total for k, v in mixed.items()}


def grade_answer(question: Question, answer: str, tools: GradingTools, cancel: threading.Event | None = None,
                 on_verdict: Callable[[Grade], None] | None = None,
                 on_token: Callable[[str], None] | None = None, explain: bool = True) -> Grade:
    """The whole pipeline; on_verdict fires as soon as choice, verdict and score are known."""
    if is_open(question):
        return grade_open_answer(question, answer, tools, cancel, on_verdict, on_token)
    cancel = cancel or threading.Event()
    started = time.perf_counter()
    answer = without_control_tokens(answer)  # typed chat tokens stay text: graded as if they were not there
    notices: list[str] = []
    read = model_order(question)  # rubric and model read the options in the question's own order, not the learner's
    signals = _rubric(read, answer, tools, notices)
    timings = {"rubric_s": time.perf_counter() - started}
    model = letters = checks = empty = None
    fitted = False
    mine = relettered(answer, question, read)  # the learner's letters in the model's order; same length
    if tools.engine is not None and Flag.EMPTY not in signals.flags:
        model, letters, checks, empty, fitted, tools = _reading_or_fallback(
            read, mine, tools, signals, cancel, timings, notices)
    if cancel.is_set():
        raise Cancelled()
    choice, confidence = combine_choice(signals.choice, signals.choice_confidence, model, signals.flags,
                                        signals.states_decision, fitted=fitted)
    clear_off_topic(signals.flags, choice)  # the model may have found the option the filler hid
    misconceptions: dict[str, float] = {}
    if _misconceptions_wanted(question, choice, signals, tools.engine) and not cancel.is_set():
        t = time.perf_counter()
        misconceptions = _checked_misconceptions(read, grader_address.without(mine, signals.addressed), tools.engine,
                                                 signals, cancel, notices)
        timings["misconceptions_s"] = time.perf_counter() - t
    points = points_for_choice(question, choice, signals.key_points)
    asked: dict[str, float] = {}
    if _points_wanted(question, choice, signals, tools.engine) and not cancel.is_set():
        t = time.perf_counter()
        points, asked = _checked_points(read, grader_address.without(mine, signals.addressed), tools.engine, points,
                                        cancel, notices)
        timings["points_s"] = time.perf_counter() - t
    verdict, score = verdict_and_score(question, choice, points, signals.misconceptions, signals.flags)
    grade = Grade(question.id, choice, round(confidence, 3), points, signals.misconceptions,
                  signals.flags, verdict, score, question.correct, question.rationale, grader=tools.grader_name,
                  path=tools.path,
                  evidence={"lexical": signals.option_evidence, "lexical_choice": signals.choice,
                            "closeness": {o: round(v, 3) for o, v in signals.option_closeness.items()},
                            "opening": {o: round(v, 3) for o, v in signals.option_opening.items()},
                            "closing": {o: round(v, 3) for o, v in signals.option_closing.items()},
                            "lead": signals.option_lead,
                            "stance": signals.option_stance,
                            "model": model or {}, "letters": letters or {}, "checks": checks or {},
                            "empty": empty or {}, "point_checks": asked, "misconception_checks": misconceptions,
                            "relevance": round(signals.relevance, 3),
                            "to_grader": [{"sentence": r.sentence.text, "about_question": r.about_question,
                                           "about_grading": r.about_grading, "model_yes": r.model_yes,
                                           "probability": r.probability}
                                          for r in signals.address]}, notice=" ".join(notices))
    timings["verdict_s"] = time.perf_counter() - started
    grade.timings = timings
    if on_verdict:
        on_verdict(grade)  # the citations come with the explanation: retrieval would double rubric-only latency
    t = time.perf_counter()
    grade.citations, grade.retrieval_mode = _citations(question, grade, tools)
    grade.timings["citations_s"] = time.perf_counter() - t
    grade.explanation = _explain(read, grade, tools, cancel, on_token) if explain else rubric_explanation(question, grade)
    grade.timings["total_s"] = time.perf_counter() - started
    return grade


def _reading_or_fallback(question: Question, answer: str, tools: GradingTools, signals: RubricSignals,
                         cancel: threading.Event, timings: dict, notices: list[str]):
    """The model's reading; when a model server fails, the local model's (if there is one), else none (the rubric
    grades). The answer is never lost with the model, and the grade's notice says what happened."""
    try:
        return (*_model_reading(question, answer, tools.engine, signals, cancel, timings, tools.similarity), tools)
    except ModelCrashed as crash:
        notices.append(f"{crash} This answer was graded from the rubric only.")
        return None, None, None, None, False, GradingTools(None, tools.similarity, tools.retrieve)
    except ServerError as failure:
        local = tools.load_fallback(notices)
        if local is None:
            notices.append(f"{failure} This answer was graded from the rubric only.")
            return None, None, None, None, False, GradingTools(None, tools.similarity, tools.retrieve)
        notices.append(f"{failure} This answer was graded by the local model {local.name} instead.")
        local_tools = GradingTools(local, tools.similarity, tools.retrieve)
        return _reading_or_fallback(question, answer, local_tools, signals, cancel, timings, notices)


def _points_wanted(question: Question, choice: str, signals: RubricSignals, engine) -> bool:
    """Whether the model checks key points: where they decide the verdict, and no misconception is stated."""
    return _model_decides(question, choice, signals, engine) and not any(m.made for m in signals.misconceptions)


def _model_decides(question: Question, choice: str, signals: RubricSignals, engine) -> bool:
    """Whether the model's point and misconception checks run: only with the model the point fit was made with, and
    only where they decide the verdict (the right option, no flag that settles it)."""
    return (engine is not None and point_fit.fitted_with(engine.name) and choice == question.correct
            and not any(f in BLOCKING_FLAGS for f in signals.flags))


def _misconceptions_wanted(question: Question, choice: str, signals: RubricSignals, engine) -> bool:
    """Whether the model checks the misconceptions the rubric found stated (where they decide the verdict)."""
    return _model_decides(question, choice, signals, engine) and any(m.made for m in signals.misconceptions)


def _checked_misconceptions(question: Question, answer: str, engine, signals: RubricSignals, cancel: threading.Event,
                            notices: list[str]) -> dict[str, float]:
    """A misconception found by its words stands only when the model reads the answer itself as claiming it: its
    logit P(yes) beats an empty answer's by policy.misconception_margin (a sentence that names the same terms, or
    argues against the claim, is not the claim). Returns each margin; when the model fails, the rubric's reading
    stands and the notice says so."""
    ids = [m.id for m in question.misconceptions]
    margins: dict[str, float] = {}
    try:
        empty = empty_misconceptions(engine, question, cancel)  # read while the user typed, unless grading came first
        stated = [m.id for m in signals.misconceptions if m.made and m.id in ids]
        said = p_yes_together(engine, [scenario_misconception_user(question, answer, ids.index(i)) for i in stated],
                              cancel)
        for found, yes in zip(stated, said):
            margins[found] = round(choice_fit.logit(yes) - choice_fit.logit(empty[found]), 3)
    except (ModelCrashed, ServerError) as failure:
        notices.append(f"{failure} The misconceptions were read by the rubric only.")
        return {}
    signals.misconceptions = [replace(m, made=False) if margins.get(m.id, POLICY.misconception_margin)
                              < POLICY.misconception_margin else m for m in signals.misconceptions]
    return margins


def _checked_points(question: Question, answer: str, engine, points: list[PointResult], cancel: threading.Event,
                    notices: list[str]) -> tuple[list[PointResult], dict[str, float]]:
    """The key points with the model's checks where the verdict depends on them (point_fit.decide): a checked
    point's confidence is the fit's P(made). When the model fails, the rubric's points stand and the notice says so."""
    confidences = [p.confidence for p in points]
    try:
        empty = empty_points(engine, question, cancel)
        found = point_fit.decide(confidences, POLICY.point_threshold,
                                 lambda i: (point_yes(engine, question, answer, i, cancel), empty[points[i].id]))
    except (ModelCrashed, ServerError) as failure:
        notices.append(f"{failure} The key points were read by the rubric only.")
        return points, {}
    checked = [replace(p, confidence=round(found[i], 3)) if i in found else p for i, p in enumerate(points)]
    return points_for_choice(question, question.correct, checked), {points[i].id: round(p, 3) for i, p in found.items()}


def _rubric(question: Question, answer: str, tools: GradingTools, notices: list[str]) -> RubricSignals:
    try:
        return rubric_signals(question, answer, tools.similarity, POLICY)
    except ModelCrashed as crash:
        notices.append(f"{crash} Key points were matched by their words only.")
        return rubric_signals(question, answer, None, POLICY)


def _model_reading(question: Question, answer: str, engine, signals: RubricSignals, cancel: threading.Event,
                   timings: dict, similarity=None) -> tuple[dict, dict, dict | None, dict | None, bool]:
    """The model's P(option): the letters, then the per-option checks where they can change the choice
    (policy.checks_wanted); the empty answer's reading the fitted combiner used, if it ran; and whether that
    P(option) is the fitted combiner's (choice_fit.py)."""
    t = time.perf_counter()
    judge_address(engine, signals, cancel, keep_answer=lambda: _keep_answer(engine, question, answer, cancel))
    timings["address_s"] = time.perf_counter() - t
    clean = grader_address.without(answer, signals.addressed)  # same offsets: relettering keeps the length
    model = letters = model_choice(engine, question, clean, cancel)
    timings["choice_s"] = time.perf_counter() - t
    checks = empty = None
    fitted = choice_fit.fitted_with(engine.name)
    if checks_wanted(signals.choice, signals.choice_confidence, signals.flags, signals.states_decision, letters,
                     fitted) and not cancel.is_set():
        t = time.perf_counter()
        checks = option_checks(engine, question, clean, cancel)
        timings["checks_s"] = time.perf_counter() - t
        if fitted:
            t = time.perf_counter()
            empty = empty_reading(engine, question, cancel)  # read while the user typed, unless grading came first
            timings["empty_s"] = time.perf_counter() - t
            signals.option_stance = option_stance(signals, [o.id for o in question.options], similarity)
            model = choice_fit.fitted_choice(signals.option_evidence, letters, checks, signals.option_closeness,
                                             signals.option_stance, signals.option_opening, empty,
                                             signals.option_closing, signals.option_lead)
        else:
            model = with_checks(letters, checks)
    return model, letters, checks, empty, fitted and checks is not None


def judge_address(engine, signals: RubricSignals, cancel: threading.Event,
                  keep_answer: Callable[[], None] | None = None) -> None:
    """The model's say on the sentences that may speak to the grader (those not plainly about the scenario): the
    flag, and the sentences left out of the model's reading, follow it. Only the model the fit was made with is
    asked; with another, the embedding reading stands. keep_answer runs first when the model is asked."""
    if not signals.address or not grader_address.fitted_with(engine.name):
        return
    if keep_answer is not None and grader_address.model_asked(signals.address):
        keep_answer()
    signals.address = grader_address.rejudged(signals.address, lambda user: p_yes(engine, user, cancel))
    signals.addressed = [r.sentence for r in signals.address if r.addressed]
    if signals.addressed and Flag.INSTRUCTIONS not in signals.flags:
        signals.flags.insert(0, Flag.INSTRUCTIONS)
    elif not signals.addressed and Flag.INSTRUCTIONS in signals.flags:
        signals.flags.remove(Flag.INSTRUCTIONS)


def _keep_answer(engine, question: Question, answer: str, cancel: threading.Event) -> None:
    """Evaluate the answer into the cache and keep that state aside: the checks of sentences that may speak to the
    grader are prompts of their own and push it out, and the letters and checks after them would otherwise evaluate
    the answer again (the draft fed while typing included). Kept as the checks will read it when none of its
    sentences is addressed, the usual outcome. A model server keeps its own cache."""
    if not is_server(engine):
        engine.prime(answer_prompt(engine, question, grader_address.without(answer, []), closed=True), keep="answer",
                     stop=cancel)


def _citations(question: Question, grade: Grade, tools: GradingTools) -> tuple[list[Citation], str]:
    if tools.retrieve is None:
        return [], "no index"
    missed = " ".join(p.text for p in grade.key_points if not p.made)
    hits, mode = tools.retrieve(f"{_right_option_query(question)} {missed}", 3, _question_notes(question))
    return [Citation(h.section_id, h.path, h.snippet, round(h.cosine or h.score, 3)) for h in hits], mode


def _explain(question: Question, grade: Grade, tools: GradingTools, cancel, on_token) -> str:
    if tools.engine is None or any(f in grade.flags for f in BLOCKING_FLAGS):
        # nothing to discuss with the candidate: the rubric's own words cannot invent facts
        text = rubric_explanation(question, grade)
        if on_token:
            on_token(text)
        return text
    opening = _opening(question, grade) + "\n\n"
    if on_token:
        on_token(opening)  # the grader's own facts show at once; the model's part streams after them
    sections = explanation_sections(question, tools.retrieve)
    prompt = None if is_server(tools.engine) else explanation_prompt(tools.engine, question, sections)
    if cancel.is_set():
        raise Cancelled()
    if on_token:
        on_token(EXPLANATION_LEAD)
    pieces: list[str] = []

    def spaced(piece: str) -> None:  # the continuation may start without the space after "because"
        if not pieces and piece[:1] not in ("", " ", ","):
            piece = " " + piece
        pieces.append(piece)
        if on_token:
            on_token(piece)
    t = time.perf_counter()
    try:
        if prompt is None:  # a chat API cannot be handed the start of the reply: the model is asked to begin with it
            tools.engine.stream(SYSTEM, explanation_user(question, sections) + f' Begin with "{EXPLANATION_LEAD}".',
                                EXPLANATION_TOKENS, cancel, spaced, EXPLANATION_FINISH, lead=EXPLANATION_LEAD)
        else:
            text = _written(tools.engine, prompt, cancel, spaced)
            if not pieces and text:
                spaced(text)  # written ahead while the learner typed (write_explanation): nothing streamed
    except (ModelCrashed, ServerError) as crash:
        grade.notice = (grade.notice + " " if grade.notice else "") + (
            f"{crash} The verdict stands; the explanation after it comes from the rubric.")
        text = "\n\n" + rubric_explanation(question, grade)
        if on_token:
            on_token(text)
        return opening + (EXPLANATION_LEAD + "".join(pieces)).strip() + " ..." + text
    if not "".join(pieces).strip():  # a model that stops at once must not leave "because" hanging
        spaced(" of the reasons given under \"Why\" below.")
    grade.timings["explanation_s"] = time.perf_counter() - t
    return opening + (EXPLANATION_LEAD + "".join(pieces)).strip()


def _opening(question: Question, grade: Grade) -> str:
    """Whether the choice was right and how many points were made, stated by the grader, never by the model."""
    parts = [_choice_sentence(question, grade)]
    made = sum(1 for p in grade.key_points if p.made)
    parts.append(f"You made {made} of {len(grade.key_points)} key points" +
                 ("; the ones you missed are listed below." if made < len(grade.key_points) else "."))
    if any(m.made for m in grade.misconceptions):
        parts.append("You also stated a mistaken belief, shown below.")
    return " ".join(parts)


def _choice_sentence(question: Question, grade: Grade) -> str:
    correct = question.option(question.correct)
    chosen = question.option(grade.choice)
    right = correct.label if correct else question.correct
    if chosen is None:
        return f"You did not settle on one option; the better choice is {right}."
    if grade.choice == question.correct:
        return f"You chose {chosen.label}, which is right."
    return f"You chose {chosen.label}, but the better choice is {right}."


def instructions_sentence(grade: Grade) -> str:
    """Why an answer that speaks to the grader is incorrect, quoting the sentence that does."""
    quoted = [r["sentence"] for r in grade.evidence.get("to_grader", []) if r["probability"] >= 0.5]
    said = f' ("{quoted[0][:120]}")' if quoted else ""
    return (f"The answer contains instructions to the grader{said}, so it is marked incorrect: an answer is graded "
            "on what it argues, and a request for marks is not an argument.")


def rubric_explanation(question: Question, grade: Grade) -> str:
    """A plain explanation built from the rubric itself, used when no model is loaded."""
    if Flag.INSTRUCTIONS in grade.flags:
        parts = [instructions_sentence(grade)]
    elif any(f in grade.flags for f in BLOCKING_FLAGS):
        parts = ["The answer does not argue a recommendation for this scenario."]
    else:
        parts = [_choice_sentence(question, grade)]
    made = [p.text for p in grade.key_points if p.made]
    missed = [p.text for p in grade.key_points if not p.made]
    if made:
        parts.append("You argued: " + " ".join(made))
    if missed:
        parts.append("You did not argue: " + " ".join(missed))
    wrong = [m.text for m in grade.misconceptions if m.made]
    if wrong:
        parts.append("Watch out, this belief is mistaken: " + " ".join(wrong))
    return "\n\n".join(parts)
