"""The interview report page: the report as it fills in, exports to Markdown, HTML and PDF."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QTextDocument
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from app.core.interview_report import Report, report_html, report_markdown
from app.ui import theme

EXPORT_FILTERS = {"md": "Markdown (*.md)", "html": "HTML (*.html)", "pdf": "PDF (*.pdf)"}


def export_report(report: Report, path: Path) -> Path:
    """Write the report in the format its suffix names (.md, .html or .pdf)."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "md":
        path.write_text(report_markdown(report), encoding="utf-8")
    elif suffix == "html":
        path.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>{report.title}</title></head>"
                        f"<body>{report_html(report)}</body></html>", encoding="utf-8")
    elif suffix == "pdf":
        printer = QPrinter(QPrinter.HighResolution)
        printer.setOutputFormat(QPrinter.PdfFormat)
        printer.setOutputFileName(str(path))
        document = QTextDocument()
        document.setHtml(report_html(report))
        document.print_(printer)
    else:
        raise ValueError(f"{path}: cannot export a report as {path.suffix or 'a file without a suffix'}; "
                         "use .md, .html or .pdf")
    return path


class InterviewReportView(QWidget):
    section_clicked = Signal(str)
    back_requested = Signal()
    suggestion_requested = Signal(object)    # InterviewSettings
    regrade_requested = Signal()
    cancel_requested = Signal()

    def __init__(self):
        super().__init__()
        self.report: Report | None = None
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(lambda url: self.section_clicked.emit(url.toString().removeprefix("cite:")))
        self.status = theme.set_role(QLabel(), "muted")
        self.grading, self.model_ready = 0, False
        theme.notifier().changed.connect(self._rethemed)
        self.buttons = {}
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        for key, text, slot in (("cancel", "Cancel grading", self.cancel_requested.emit),
                                ("regrade", "Grade the rest", self.regrade_requested.emit),
                                ("md", "Export Markdown...", lambda: self._export("md")),
                                ("html", "Export HTML...", lambda: self._export("html")),
                                ("pdf", "Export PDF...", lambda: self._export("pdf")),
                                ("suggested", "Start the suggested session", self._suggested),
                                ("back", "Back to setup", self.back_requested.emit)):
            button = QPushButton(text)
            button.clicked.connect(slot)
            self.buttons[key] = button
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addLayout(row)

    def _rethemed(self) -> None:
        if self.report is not None:
            self.show_report(self.report, self.grading, self.model_ready)

    def show_report(self, report: Report, grading: int, model_ready: bool = False) -> None:
        """`model_ready`: answers graded from the rubric alone (the model was down) can be graded again."""
        self.report, self.grading, self.model_ready = report, grading, model_ready
        scroll = self.browser.verticalScrollBar().value()
        self.browser.setHtml(report_html(report, theme.report_colours()))
        self.browser.verticalScrollBar().setValue(scroll)
        if grading:
            self.status.setText(f"Grading in the background: {grading} answer(s) to go; the report fills in.")
        elif report.pending:
            self.status.setText(f"{report.pending} answer(s) not graded yet.")
        else:
            self.status.setText("All answers graded.")
        self.buttons["cancel"].setVisible(bool(grading))
        rubric_only = model_ready and any(r.grader == "rubric only" for r in report.results)
        self.buttons["regrade"].setText("Grade the rest" if report.pending else "Grade again with the model")
        self.buttons["regrade"].setVisible(bool(report.pending or rubric_only) and not grading)

    def _export(self, kind: str) -> None:
        if self.report is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export the report", f"interview-report.{kind}",
                                              EXPORT_FILTERS[kind])
        if path:
            target = Path(path)
            export_report(self.report, target if target.suffix else target.with_suffix("." + kind))
            self.status.setText(f"Exported to {path}")

    def _suggested(self) -> None:
        if self.report is not None:
            self.suggestion_requested.emit(self.report.suggestion)

