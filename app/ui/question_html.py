"""A scenario and its options as the practice and interview views show it."""
from __future__ import annotations

from html import escape

from app.core.model import Question


def question_html(question: Question) -> str:
    if not question.options:  # a follow-up, probe or design stage: an open question
        return f"<p style='font-size:12pt'>{escape(question.prompt)}</p>"
    options = "".join(f"<li>{escape(o.label)}</li>" for o in question.options)
    return f"<p style='font-size:12pt'>{escape(question.prompt)}</p><p><b>Options</b></p><ol type='A'>{options}</ol>"
