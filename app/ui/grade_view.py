"""Shows a grade: verdict and score first, then the streamed explanation, points and citations."""
from __future__ import annotations

from html import escape

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import QTextBrowser

from app.core import learner_calls
from app.core.model import Grade, Question, grader_file, path_note
from app.core.policy import Flag
from app.ui import theme

FLAG_TEXT = {Flag.EVASIVE: "does not commit to an answer", Flag.BOTH: "recommends doing both",
             Flag.INSTRUCTIONS: "contains instructions to the grader", Flag.EMPTY: "empty or evasive",
             Flag.TOO_SHORT: "very short", Flag.KEYWORD_LIST: "a list of keywords with no argument",
             Flag.OFF_TOPIC: "off-topic"}


class GradeView(QTextBrowser):
    section_clicked = Signal(str)
    # the learner's call on an unsure item: (key point id or "choice", "made" / "missed" / an option id / None)
    called = Signal(str, object)

    def __init__(self):
        super().__init__()
        self.setOpenLinks(False)
        self.anchorClicked.connect(self._clicked)
        self.question: Question | None = None
        self.grade: Grade | None = None
        self.explanation = ""
        self.status = ""
        self.override: str | None = None
        self.calls: dict[str, str] = {}
        self.callable = False  # whether the calls can be stored (a graded attempt is on screen)
        self.details = False  # confidences, the grader's file and hash, how the notes were searched
        self.setMinimumHeight(120)
        theme.notifier().changed.connect(self._rethemed)

    def _clicked(self, url: QUrl) -> None:
        if url.toString().startswith("call:"):
            _, item, value = url.toString().split(":", 2)
            self.called.emit(item, None if value == "undo" else value)
            return
        if url.toString() == "details:toggle":
            self.details = not self.details
            self._render()
            return
        self.section_clicked.emit(url.toString().removeprefix("cite:"))

    def _rethemed(self) -> None:
        if self.question is not None:
            self._render()
        else:
            self.clear_grade(self.status)

    def clear_grade(self, status: str = "") -> None:
        self.question, self.grade, self.explanation, self.status = None, None, "", status
        self.override, self.calls, self.callable = None, {}, False
        self.setHtml(f"<p style='color:{theme.colour('muted')}'>{escape(status)}</p>" if status else "")

    def show_page(self, html: str) -> None:
        """Something other than a grade in this pane (a review's summary)."""
        self.clear_grade()
        self.setHtml(html)

    def show_status(self, question: Question, status: str) -> None:
        self.question, self.grade, self.explanation, self.status = question, None, "", status
        self.calls, self.callable = {}, False
        self._render()

    def show_verdict(self, question: Question, grade: Grade) -> None:
        self.question, self.grade, self.explanation, self.override = question, grade, "", None
        self.calls, self.callable = {}, False  # calls are made on the stored grade, once it is final
        self.status = "Writing the explanation..."
        self._render()

    def set_status(self, status: str) -> None:
        """The line in italics after the explanation (what is still being done)."""
        if self.grade is not None and self.status:
            self.status = status
            self._render()

    def add_token(self, piece: str) -> None:
        self.explanation += piece
        self._render()

    def show_final(self, question: Question, grade: Grade, override: str | None = None,
                   calls: dict[str, str] | None = None) -> None:
        """The grade as stored; with `override` (your own verdict) the headline shows yours and the grader's beside;
        `calls` are the learner's own calls on the items the grader was unsure of, which can be made from here."""
        self.question, self.grade, self.explanation, self.status = question, grade, grade.explanation, ""
        self.override, self.calls, self.callable = override, dict(calls or {}), True
        self._render()

    def set_calls(self, calls: dict[str, str]) -> None:
        self.calls = dict(calls)
        self._render()

    def _render(self) -> None:
        q, g = self.question, self.grade
        if q is None:
            return
        parts, muted = [], theme.colour("muted")
        if g is None:
            parts.append(f"<p><b>{escape(self.status)}</b></p>")
            self.setHtml("".join(parts))
            return
        chosen = q.option(g.choice)
        right = q.option(q.correct)
        if self.override and self.override != g.verdict:
            colour = theme.verdict_colour(self.override)
            parts.append(f"<h2 style='color:{colour}'>{self.override.capitalize()} (your verdict)</h2>"
                         f"<p>The grader said {g.verdict} &nbsp; {g.score}/100.</p>")
        else:
            colour = theme.verdict_colour(g.verdict)
            parts.append(f"<h2 style='color:{colour}'>{g.verdict.capitalize()} &nbsp; {g.score}/100</h2>")
        if q.options:  # an open answer (follow-up, probe, design stage) has no choice to show
            parts.append(f"<p><b>Your choice:</b> {escape(chosen.label) if chosen else 'no clear recommendation'}"
                         f" &nbsp; <b>Right choice:</b> {escape(right.label if right else q.correct)}</p>")
            parts += self._choice_call(q, g, muted)
        if g.notice:
            parts.append(f"<p style='color:{theme.colour('bad')}'>{escape(g.notice)}</p>")
        if g.flags:
            parts.append("<p><b>Flags:</b> " + ", ".join(escape(FLAG_TEXT.get(f, f)) for f in g.flags) + "</p>")
        parts += aimed_feedback(q, g, muted)
        if self.explanation or self.status:
            parts.append("<h3>Feedback</h3><p>" + escape(self.explanation).replace("\n", "<br>")
                         + (f" <b><i>{escape(self.status)}</i></b>" if self.status else "") + "</p>")
        made = [p for p in g.key_points if p.made]
        missed = [p for p in g.key_points if not p.made]
        unsure = {p.id for p in learner_calls.unsure_points(g)} if self.grade is not None and self.callable else set()
        if made:
            parts.append("<h3>What you got right</h3><ul>" + "".join(
                f"<li>{escape(p.text)}<br><i style='color:{muted}'>“{escape(p.span.text if p.span else '')}”</i>"
                f"{self._point_call(p.id, unsure, muted)}</li>" for p in made) + "</ul>")
        if missed:
            parts.append("<h3>What you missed</h3><ul>" + "".join(
                f"<li>{escape(p.text)}{self._point_call(p.id, unsure, muted)}</li>" for p in missed) + "</ul>")
        if self.calls:
            parts.append(self._with_calls_line(q, g, muted))
        if q.options:  # an open answer's feedback already ends with its strong answer
            parts.append(f"<h3>Why {escape(right.label if right else q.correct)}</h3><p>{escape(q.rationale)}</p>")
        if g.citations:
            parts.append("<h3>Read in the notes</h3><ul>" + "".join(
                f"<li><a href='cite:{escape(c.section_id)}'>{escape(section_title(c.heading))}</a>"
                f"<br><span style='color:{muted}'>{escape(c.snippet)}</span></li>"
                for c in g.citations) + "</ul>")
        elif g.retrieval_mode:
            parts.append(f"<p style='color:{muted}'>The notes have no section close enough to this question to "
                         "cite.</p>")
        timing = g.timings.get("total_s") or g.timings.get("verdict_s", 0.0)
        parts.append(f"<p style='color:{theme.colour('faint')}; font-size:9pt'>Graded by "
                     f"{escape(grader_file(g.grader))}{escape(path_note(g.path))} in {timing:.1f} s · "
                     "<a href='details:toggle'>"
                     f"{'Hide' if self.details else 'Show'} details</a></p>")
        if self.details:
            parts.append(details_html(g, theme.colour("faint")))
        scroll = self.verticalScrollBar().value()
        self.setHtml("".join(parts))
        self.verticalScrollBar().setValue(scroll)


    def _point_call(self, point_id: str, unsure: set[str], muted: str) -> str:
        """Under a point the grader is unsure of: the learner's call, or links to make it."""
        said = self.calls.get(point_id)
        if said:
            return (f"<br><span style='color:{muted}'>You said you {'made' if said == learner_calls.MADE else 'did not make'}"
                    f" this point. <a href='call:{escape(point_id)}:undo'>Take it back</a></span>")
        if point_id not in unsure:
            return ""
        return (f"<br><span style='color:{muted}'>The grader is unsure here. "
                f"<a href='call:{escape(point_id)}:{learner_calls.MADE}'>I made this point</a> · "
                f"<a href='call:{escape(point_id)}:{learner_calls.MISSED}'>I didn't</a></span>")

    def _choice_call(self, q: Question, g: Grade, muted: str) -> list[str]:
        said = self.calls.get(learner_calls.CHOICE)
        if said:
            option = q.option(said)
            return [f"<p style='color:{muted}'>You said you meant: "
                    f"{escape(option.label) if option else 'no clear recommendation'}. "
                    f"<a href='call:{learner_calls.CHOICE}:undo'>Take it back</a></p>"]
        if not self.callable or not learner_calls.choice_unsure(q, g):
            return []
        links = " · ".join(f"<a href='call:{learner_calls.CHOICE}:{escape(o.id)}'>{escape(o.label)}</a>"
                           for o in q.options)
        return [f"<p style='color:{muted}'>The grader is unsure which option you chose. You meant: {links}</p>"]

    def _with_calls_line(self, q: Question, g: Grade, muted: str) -> str:
        _, _, verdict, score = learner_calls.with_calls(q, g, self.calls)
        if (verdict, score) == (g.verdict, g.score):
            return f"<p style='color:{muted}'>Your calls do not change the grade.</p>"
        return (f"<p style='color:{muted}'>With your calls the rule gives <b>{verdict}</b> {score}/100; the grader's "
                "grade stays beside them, and export-overrides writes them out as labels.</p>")


def aimed_feedback(q: Question, g: Grade, muted: str) -> list[str]:
    """What answers this learner's own mistakes, from the bank: why the option they chose loses here, and what is
    true instead of each misconception they stated. It comes before the model's explanation."""
    parts = []
    chosen = q.option(g.choice)
    if chosen is not None and chosen.id != q.correct and chosen.why_not:
        parts.append(f"<h3>Why not {escape(chosen.label)}</h3><p>{escape(chosen.why_not)}</p>")
    corrections = {p.id: p.correction for p in q.misconceptions}
    wrong = [m for m in g.misconceptions if m.made]
    if wrong:
        parts.append("<h3>Misconceptions</h3><ul>" + "".join(
            f"<li>{escape(m.text)}<br><i style='color:{muted}'>you wrote: “{escape(m.span.text if m.span else '')}”</i>"
            + (f"<br><b>In fact:</b> {escape(corrections[m.id])}" if corrections.get(m.id) else "") + "</li>"
            for m in wrong) + "</ul>")
    return parts


def section_title(path: str) -> str:
    """'Note title > Section': the section first, then the note it is in."""
    note, _, section = path.rpartition(" > ")
    return f"{section} (in {note})" if note else section


RETRIEVAL_TEXT = {"hybrid": "by meaning and keywords", "bm25": "by keywords only (the meaning index was not ready)"}


def details_html(g: Grade, colour: str) -> str:
    """What the grade rests on, for a learner who wants to check it."""
    rows = [f"Grader: {escape(g.grader)}" + (f" ({escape(g.path)})" if g.path else ""),
            f"Confidence in the choice it read: {g.choice_confidence:.0%}"]
    checked = g.evidence.get("point_checks", {}) if g.evidence else {}
    rows += [f"Key point “{escape(p.text[:60])}”: {'made' if p.made else 'missed'}, confidence {p.confidence:.0%}"
             + (" (the model was asked whether your answer makes it)" if p.id in checked else "")
             for p in g.key_points]
    if g.retrieval_mode:
        rows.append(f"Notes searched {RETRIEVAL_TEXT.get(g.retrieval_mode, escape(g.retrieval_mode))}")
    rows += [f"Cited {escape(c.section_id)}: similarity {c.score:.2f}" for c in g.citations]
    rows += [f"{escape(k)}: {v:.2f} s" for k, v in g.timings.items()]
    return f"<p style='color:{colour}; font-size:9pt'>" + "<br>".join(rows) + "</p>"
