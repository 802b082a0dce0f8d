"""Shows a grade: verdict and score first, then the streamed explanation, points and citations."""
from __future__ import annotations

from html import escape

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import QTextBrowser

from app.core.model import Grade, Question
from app.core.policy import Flag

COLOURS = {"correct": "#1b7f3b", "partial": "#b26a00", "incorrect": "#b3261e"}
FLAG_TEXT = {Flag.EVASIVE: "does not commit to an answer", Flag.BOTH: "recommends doing both",
             Flag.INSTRUCTIONS: "contains instructions to the grader", Flag.EMPTY: "empty or evasive",
             Flag.TOO_SHORT: "very short", Flag.KEYWORD_LIST: "a list of keywords with no argument",
             Flag.OFF_TOPIC: "off-topic"}


class GradeView(QTextBrowser):
    section_clicked = Signal(str)

    def __init__(self):
        super().__init__()
        self.setOpenLinks(False)
        self.anchorClicked.connect(self._clicked)
        self.question: Question | None = None
        self.grade: Grade | None = None
        self.explanation = ""
        self.status = ""
        self.override: str | None = None
        self.setMinimumHeight(180)

    def _clicked(self, url: QUrl) -> None:
        self.section_clicked.emit(url.toString().removeprefix("cite:"))

    def clear_grade(self, status: str = "") -> None:
        self.question, self.grade, self.explanation, self.status = None, None, "", status
        self.override = None
        self.setHtml(f"<p style='color:#555'>{escape(status)}</p>" if status else "")

    def show_page(self, html: str) -> None:
        """Something other than a grade in this pane (a review's summary)."""
        self.clear_grade()
        self.setHtml(html)

    def show_status(self, question: Question, status: str) -> None:
        self.question, self.grade, self.explanation, self.status = question, None, "", status
        self._render()

    def show_verdict(self, question: Question, grade: Grade) -> None:
        self.question, self.grade, self.explanation, self.override = question, grade, "", None
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

    def show_final(self, question: Question, grade: Grade, override: str | None = None) -> None:
        """The grade as stored; with `override` (your own verdict) the headline shows yours and the grader's beside."""
        self.question, self.grade, self.explanation, self.status = question, grade, grade.explanation, ""
        self.override = override
        self._render()

    def _render(self) -> None:
        q, g = self.question, self.grade
        if q is None:
            return
        parts = []
        if g is None:
            parts.append(f"<p style='color:#555'>{escape(self.status)}</p>")
            self.setHtml("".join(parts))
            return
        chosen = q.option(g.choice)
        right = q.option(q.correct)
        if self.override and self.override != g.verdict:
            colour = COLOURS.get(self.override, "#333")
            parts.append(f"<h2 style='color:{colour}'>{self.override.capitalize()} (your verdict)</h2>"
                         f"<p>The grader said {g.verdict} &nbsp; {g.score}/100.</p>")
        else:
            colour = COLOURS.get(g.verdict, "#333")
            parts.append(f"<h2 style='color:{colour}'>{g.verdict.capitalize()} &nbsp; {g.score}/100</h2>")
        parts.append(f"<p><b>Your choice:</b> {escape(chosen.label) if chosen else 'no clear recommendation'}"
                     f" &nbsp; <b>Right choice:</b> {escape(right.label if right else q.correct)}</p>")
        if g.notice:
            parts.append(f"<p style='color:#b3261e'>{escape(g.notice)}</p>")
        if g.flags:
            parts.append("<p><b>Flags:</b> " + ", ".join(escape(FLAG_TEXT.get(f, f)) for f in g.flags) + "</p>")
        if self.explanation or self.status:
            parts.append("<h3>Feedback</h3><p>" + escape(self.explanation).replace("\n", "<br>")
                         + (f" <i style='color:#777'>{escape(self.status)}</i>" if self.status else "") + "</p>")
        made = [p for p in g.key_points if p.made]
        missed = [p for p in g.key_points if not p.made]
        if made:
            parts.append("<h3>What you got right</h3><ul>" + "".join(
                f"<li>{escape(p.text)}<br><i style='color:#555'>“{escape(p.span.text if p.span else '')}”</i></li>"
                for p in made) + "</ul>")
        if missed:
            parts.append("<h3>What you missed</h3><ul>" + "".join(f"<li>{escape(p.text)}</li>" for p in missed) + "</ul>")
        wrong = [m for m in g.misconceptions if m.made]
        if wrong:
            parts.append("<h3>Misconceptions</h3><ul>" + "".join(
                f"<li>{escape(m.text)}<br><i style='color:#555'>you wrote: “{escape(m.span.text if m.span else '')}”</i></li>"
                for m in wrong) + "</ul>")
        parts.append(f"<h3>Why {escape(right.label if right else q.correct)}</h3><p>{escape(q.rationale)}</p>")
        if g.citations:
            parts.append("<h3>Read in the notes</h3><ul>" + "".join(
                f"<li><a href='cite:{escape(c.section_id)}'>{escape(c.heading)}</a> "
                f"<span style='color:#777'>({c.score:.2f})</span><br><span style='color:#555'>{escape(c.snippet)}</span></li>"
                for c in g.citations) + "</ul>")
        elif g.retrieval_mode:
            parts.append("<p style='color:#777'>Not in the notes: no section was close enough to cite.</p>")
        timing = g.timings.get("total_s") or g.timings.get("verdict_s", 0.0)
        parts.append(f"<p style='color:#888; font-size:9pt'>Graded by {escape(g.grader)} in {timing:.1f} s"
                     f"{' - retrieval: ' + escape(g.retrieval_mode) if g.retrieval_mode else ''}</p>")
        scroll = self.verticalScrollBar().value()
        self.setHtml("".join(parts))
        self.verticalScrollBar().setValue(scroll)
