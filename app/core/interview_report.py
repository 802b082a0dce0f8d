"""The interview report: per-question results, overall score and topics, a next session; as Markdown or HTML."""
from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Callable

from app.core.interview import GRADED_OUTCOMES, Interview, InterviewSettings, format_clock
from app.core.model import Question, grader_file
from app.core.option_order import LETTERS
from app.core.open_items import DesignRound

# exported reports are printed and shared: light colours (the app passes its own theme's)
VERDICT_COLOURS = {"correct": "#1b7f3b", "partial": "#9a5b00", "incorrect": "#b3261e", "muted": "#444444",
                   "faint": "#777777"}


@dataclass
class QuestionResult:
    number: int
    question_id: str
    topic: str
    difficulty: str
    prompt: str
    outcome: str
    status: str                 # graded, awaiting grade, not graded (skipped or not answered)
    verdict: str
    score: int | None
    seconds: float
    choice: str
    right: str
    missed: list[str]
    read: list[tuple[str, str]]  # (section id, what a learner reads: heading and note)
    grader: str
    answer: str = ""
    feedback: str = ""           # the grader's explanation
    kind: str = "question"       # question, followup, probe or stage
    label: str = ""              # "2", "2 · follow-up", "Design · Architecture"
    strong: str = ""             # a stage: what a strong answer covers
    options: list[str] = field(default_factory=list)  # a question's option labels, in the order shown
    aimed: list[str] = field(default_factory=list)    # why the chosen option loses; corrections of stated beliefs


@dataclass
class RoundResult:
    """A design round in the report: each stage's score and the whole."""
    title: str
    prompt: str
    score: int
    stages: list[tuple[str, int | None]]   # (stage title, score; None while awaiting a grade)
    read: list[tuple[str, str]]


@dataclass
class Report:
    title: str
    settings: str
    status: str
    results: list[QuestionResult]
    score: int
    pending: int
    seconds: float
    strongest: list[tuple[str, int]]
    weakest: list[tuple[str, int]]
    suggestion: InterviewSettings
    suggestion_text: str
    topic_titles: dict[str, str] = field(default_factory=dict)
    rounds: list[RoundResult] = field(default_factory=list)


def build_report(interview: Interview, questions: dict[str, Question], topic_titles: dict[str, str],
                 started: str = "", section_name: Callable[[str], str] = str,
                 designs: dict[str, DesignRound] | None = None) -> Report:
    """`section_name` turns a section id into words ('Heading (in Note)'); a report never shows raw ids. `questions`
    maps every slot's id to its item (follow-ups, probes and stages in the grader's shape)."""
    results = [_result(i, slot, questions.get(slot.question_id), section_name) for i, slot in enumerate(interview.slots)]
    _label(results, interview, designs or {})
    scored = [r for r in results if r.score is not None]
    score = round(sum(r.score for r in scored) / len(scored)) if scored else 0
    by_topic: dict[str, list[int]] = {}
    for r in scored:
        by_topic.setdefault(r.topic, []).append(r.score)
    ranked = sorted(((t, round(sum(s) / len(s))) for t, s in by_topic.items()), key=lambda item: (-item[1], item[0]))
    if len(ranked) > 1:
        strongest, weakest = ranked[:2] if len(ranked) > 3 else ranked[:1], list(reversed(ranked[-2:]))[:len(ranked) - 1]
    else:  # one topic is strong or weak by its own score, not by comparison
        strongest, weakest = [t for t in ranked if t[1] >= 70], [t for t in ranked if t[1] < 70]
    suggestion, text = suggest_next(interview.settings, score, [t for t, s in reversed(ranked) if s < 70][:2],
                                    topic_titles)
    status = {"finished": "finished", "abandoned": "abandoned"}.get(interview.phase, "in progress")
    return Report(f"Mock interview{' - ' + started if started else ''}", interview.settings.summary(), status,
                  results, score, sum(r.status == "awaiting grade" for r in results), interview.session_elapsed,
                  [(topic_titles.get(t, t), s) for t, s in strongest], [(topic_titles.get(t, t), s) for t, s in weakest],
                  suggestion, text, topic_titles, _rounds(results, interview, designs or {}, section_name))


def _label(results: list[QuestionResult], interview: Interview, designs: dict[str, DesignRound]) -> None:
    """Questions numbered 1, 2, ...; a follow-up carries its question's number; a stage its round's stage title."""
    number = 0
    for result, slot in zip(results, interview.slots):
        result.kind = slot.kind
        if slot.kind == "question":
            number += 1
            result.label = str(number)
        elif slot.kind in ("followup", "probe"):
            result.label = f"{number} · {'follow-up' if slot.kind == 'followup' else 'probe'}"
        else:
            design = designs.get(slot.round_id)
            stage = design.stage(slot.question_id.partition(":")[2]) if design else None
            result.label = f"Design · {stage.title if stage else slot.question_id}"
            result.strong = stage.strong if stage else ""
        if slot.kind != "question":
            result.prompt = slot.prompt or result.prompt
            result.choice = result.right = ""


def _rounds(results: list[QuestionResult], interview: Interview, designs: dict[str, DesignRound],
            section_name: Callable[[str], str]) -> list[RoundResult]:
    rounds = []
    for round_id in dict.fromkeys(s.round_id for s in interview.slots if s.kind == "stage"):
        design = designs.get(round_id)
        stages = [(r.label.removeprefix("Design · "), r.score) for r, s in zip(results, interview.slots)
                  if s.round_id == round_id and s.kind == "stage"]
        scored = [score for _, score in stages if score is not None]
        refs = list(dict.fromkeys([*(design.notes if design else ()),
                                   *(ref for r, s in zip(results, interview.slots) if s.round_id == round_id
                                     and r.missed for ref, _ in r.read)]))
        rounds.append(RoundResult(design.title if design else round_id, design.prompt if design else "",
                                  round(sum(scored) / len(scored)) if scored else 0, stages,
                                  [(ref, section_name(ref)) for ref in refs]))
    return rounds


def _result(index: int, slot, question: Question | None, section_name: Callable[[str], str]) -> QuestionResult:
    grade = slot.grade
    if grade is not None:
        status, verdict, score = "graded", grade.verdict, grade.score
    elif slot.outcome in GRADED_OUTCOMES:
        status, verdict, score = "awaiting grade", "", None
    else:
        status, verdict, score = "not graded", "incorrect", 0

    def label(option_id: str) -> str:
        option = question.option(option_id) if question else None
        return option.label if option else ("no clear choice" if option_id in ("", "none") else option_id)

    missed = ([p.text for p in grade.key_points if not p.made] if grade
              else [p.text for p in question.key_points] if question and status == "not graded" else [])
    read = ([(c.section_id, section_name(c.section_id)) for c in grade.citations] if grade and grade.citations
            else [(ref, section_name(ref)) for ref in (question.notes if question else ())])
    return QuestionResult(index + 1, slot.question_id, slot.topic, slot.difficulty,
                          question.prompt if question else "(this question is no longer in the bank)",
                          slot.outcome or "not answered", status, verdict, score, slot.seconds,
                          label(grade.choice) if grade else ("-" if status == "not graded" else "awaiting grade"),
                          label(question.correct) if question else (grade.correct if grade else "?"),
                          missed, read, grader_file(grade.grader) if grade else "", slot.answer,
                          grade.explanation if grade else "", options=[o.label for o in question.options] if question
                          else [], aimed=aimed_feedback(question, grade) if question and grade else [])


def aimed_feedback(question: Question, grade) -> list[str]:
    """What answers this learner's own mistakes: why the option they chose loses, what is true instead of each
    misconception they stated."""
    chosen = question.option(grade.choice)
    lines = [f"Why not {chosen.label}: {chosen.why_not}"] if chosen and chosen.id != question.correct and chosen.why_not else []
    corrections = {p.id: p.correction for p in question.misconceptions}
    return lines + [f"{m.text} In fact: {corrections[m.id]}" for m in grade.misconceptions
                    if m.made and corrections.get(m.id)]


def suggest_next(settings: InterviewSettings, score: int, weak: list[str],
                 titles: dict[str, str]) -> tuple[InterviewSettings, str]:
    """A short session on the weakest topics, pitched by the overall score."""
    if score < 50:
        mix, level = {"easy": 1, "medium": 1, "hard": 0}, "easy to medium"
    elif score < 75:
        mix, level = {"easy": 0, "medium": 2, "hard": 1}, "mostly medium"
    else:
        mix, level = {"easy": 0, "medium": 1, "hard": 2}, "mostly hard"
    suggestion = InterviewSettings(count=3, seconds_per_question=240, topics=tuple(weak), weak_topics=not weak,
                                   difficulty_mix=mix, mode=settings.mode)
    where = " and ".join(titles.get(t, t) for t in weak) if weak else "a mix weighted towards your weak topics"
    return suggestion, f"Quick 3 x 4 min on {where}, {level}."


def report_markdown(report: Report) -> str:
    lines = [f"# {report.title}", "", f"- Settings: {report.settings}", f"- Status: {report.status}",
             f"- Score: {report.score}/100{_provisional(report)}", f"- Time used: {format_clock(report.seconds)}",
             f"- Strongest: {_topics(report.strongest)}", f"- Weakest: {_topics(report.weakest)}",
             f"- Next session: {report.suggestion_text}", ""]
    for design in report.rounds:
        lines += [f"## Design round: {design.title} - {design.score}/100", "", f"> {' '.join(design.prompt.split())}",
                  ""] + [f"- {title}: {'awaiting grade' if score is None else f'{score}/100'}"
                         for title, score in design.stages]
        lines += ["- Read in the notes:"] + [f"  - {heading}" for _, heading in design.read] + [""]
    for r in report.results:
        if r.kind == "question":
            lines += [f"## {r.label}. {r.question_id} ({report.topic_titles.get(r.topic, r.topic)}, {r.difficulty})",
                      "", f"> {r.prompt}", ""]
        else:
            lines += [f"### {r.label}", "", f"> {' '.join(r.prompt.split())}", ""]
        lines += [f"- Result: {_verdict_text(r)}", f"- Time used: {format_clock(r.seconds)} ({r.outcome})"]
        if r.kind == "question":
            if r.options:
                lines += ["- Options as shown: " + "; ".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(r.options))]
            lines += [f"- Your choice: {r.choice}", f"- Right choice: {r.right}"]
        if r.answer:
            lines += ["- Your answer:", "", *[f"  > {line}" for line in r.answer.splitlines()], ""]
        lines += [f"- {' '.join(line.split())}" for line in r.aimed]
        if r.feedback:
            lines += [f"- Feedback: {' '.join(r.feedback.split())}"]
        if r.missed:
            lines += ["- Key points missed:"] + [f"  - {m}" for m in r.missed]
        if r.strong and not r.feedback:  # graded feedback ends with the strong answer already
            lines += [f"- A strong answer: {' '.join(r.strong.split())}"]
        if r.read:
            lines += ["- Read in the notes:"] + [f"  - {heading}" for _, heading in r.read]
        if r.grader:
            lines.append(f"- Graded by: {r.grader}")
        lines.append("")
    return "\n".join(lines)


def report_html(report: Report, colours: dict[str, str] | None = None) -> str:
    """HTML for export (light colours) or for the app, which passes its theme's colours."""
    colours = colours or VERDICT_COLOURS
    parts = [f"<h1>{escape(report.title)}</h1><table cellpadding='3'>",
             _row("Settings", escape(report.settings)), _row("Status", escape(report.status)),
             _row("Score", f"<b>{report.score}/100</b>{escape(_provisional(report))}"),
             _row("Time used", format_clock(report.seconds)),
             _row("Strongest", escape(_topics(report.strongest))), _row("Weakest", escape(_topics(report.weakest))),
             _row("Next session", escape(report.suggestion_text)), "</table>"]
    for design in report.rounds:
        parts.append(f"<h2>Design round: {escape(design.title)} · {design.score}/100</h2>"
                     f"<p style='color:{colours['muted']}'>{escape(design.prompt)}</p><table cellpadding='3'>"
                     + "".join(_row(escape(title), "awaiting grade" if score is None else f"{score}/100")
                               for title, score in design.stages) + "</table>")
        if design.read:
            parts.append("<p><b>Read in the notes</b></p><ul>" + "".join(
                f"<li><a href='cite:{escape(ref)}'>{escape(heading)}</a></li>" for ref, heading in design.read)
                + "</ul>")
    for r in report.results:
        colour = colours.get(r.verdict, colours["muted"])
        heading = (f"{r.label}. {escape(report.topic_titles.get(r.topic, r.topic))} · {escape(r.difficulty)}"
                   if r.kind == "question" else escape(r.label))
        parts.append(f"<h{2 if r.kind == 'question' else 3}>{heading}"
                     f" <span style='color:{colour}'>{escape(_verdict_text(r))}</span></h{2 if r.kind == 'question' else 3}>")
        choice = (f" &nbsp; <b>Your choice:</b> {escape(r.choice)} &nbsp; <b>Right choice:</b> {escape(r.right)}"
                  if r.kind == "question" else "")
        parts.append(f"<p style='color:{colours['muted']}'>{escape(r.prompt)}</p><p><b>Time used:</b> "
                     f"{format_clock(r.seconds)} ({escape(r.outcome)}){choice}</p>")
        if r.options:
            parts.append("<ol type='A'>" + "".join(f"<li>{escape(o)}</li>" for o in r.options) + "</ol>")
        if r.answer:
            parts.append("<p><b>Your answer</b></p><blockquote>" + escape(r.answer).replace("\n", "<br>")
                         + "</blockquote>")
        if r.aimed:
            parts.append("<ul>" + "".join(f"<li>{escape(line)}</li>" for line in r.aimed) + "</ul>")
        if r.feedback:
            parts.append(f"<p><b>Feedback</b></p><p>{escape(r.feedback)}</p>")
        if r.missed:
            parts.append("<p><b>Key points missed</b></p><ul>" + "".join(f"<li>{escape(m)}</li>" for m in r.missed)
                         + "</ul>")
        if r.strong and not r.feedback:
            parts.append(f"<p><b>A strong answer</b></p><p>{escape(r.strong)}</p>")
        if r.read:
            parts.append("<p><b>Read in the notes</b></p><ul>" + "".join(
                f"<li><a href='cite:{escape(ref)}'>{escape(heading)}</a></li>" for ref, heading in r.read) + "</ul>")
        if r.grader:
            parts.append(f"<p style='color:{colours['faint']}; font-size:9pt'>Graded by {escape(r.grader)}</p>")
    return "".join(parts)


def _row(label: str, value: str) -> str:
    return f"<tr><td><b>{label}</b></td><td>{value}</td></tr>"


def _verdict_text(r: QuestionResult) -> str:
    if r.status == "awaiting grade":
        return "awaiting grade"
    if r.status == "not graded":
        return f"{r.outcome}, 0/100"
    return f"{r.verdict}, {r.score}/100" + (" (rubric only)" if r.grader == "rubric only" else "")


def _provisional(report: Report) -> str:
    return f" (provisional: {report.pending} answer(s) awaiting grades)" if report.pending else ""


def _topics(items: list[tuple[str, int]]) -> str:
    return ", ".join(f"{title} ({score})" for title, score in items) or "-"
