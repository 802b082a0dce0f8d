"""The window as a learner lives in it: colours from one theme, every tab at 1024x640, a layout that is remembered,
plain-text search results, a highlighted section, a grade without jargon until details are asked for."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtGui import QPalette

from app import paths
from app.library import open_library
from app.storage.userdb import get_setting, open_user_db
from app.ui import theme
from app.ui.main_window import MainWindow
from app.ui.screenshots import seed_history

APP_UI = Path(__file__).resolve().parent.parent / "app" / "ui"
COLOUR_LITERAL = re.compile(r"#[0-9a-fA-F]{3,8}\b|\brgba?\(|\bQt\.(?:white|black|red|green|blue|gray|darkGray)\b"
                            r"|\bcolor:\s*(?:red|green|blue|gray|grey|black|white)\b")


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """One library for the module, with no models: search is by keywords, grades are from the rubric (fast)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COACH_DATA_DIR", str(tmp_path_factory.mktemp("library-data")))
        patch.setenv("COACH_MODELS_DIR", str(tmp_path_factory.mktemp("no-models")))
        return open_library()


@pytest.fixture
def window(qtbot, library, no_models) -> MainWindow:
    db = open_user_db(paths.user_db_path())
    seed_history(db, library, 18)
    window = MainWindow(library, db)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.start()
    yield window
    theme.apply("light")


def test_no_colour_literals_outside_the_theme_module() -> None:
    found = [f"{path.name}:{n}: {line.strip()}" for path in sorted(APP_UI.glob("*.py")) if path.name != "theme.py"
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if COLOUR_LITERAL.search(line)]
    assert not found, "colour literals outside app/ui/theme.py:\n" + "\n".join(found)
    assert COLOUR_LITERAL.search("label.setStyleSheet('color: #555')")  # the pattern itself catches one


def test_dark_mode_recolours_text_charts_and_notes(qtbot, window: MainWindow) -> None:
    window.set_theme("dark")
    assert window.palette().color(QPalette.Window).lightness() < 80
    assert get_setting(window.db, "theme") == "dark"
    history = window.history
    history.list.setCurrentItem(history.list.topLevelItem(0))
    assert theme.DARK["muted"] in history.header.text() and theme.LIGHT["muted"] not in history.header.text()
    window.tabs.setCurrentWidget(window.progress)
    assert window.progress.charts["mastery"].chart().backgroundBrush().color().lightness() < 80
    window.notes.open_section("fine-tuning-vs-rag#decision-guide")
    assert theme.DARK["table_header"] in window.notes.browser.toHtml().lower()
    window.set_theme("light")
    assert window.palette().color(QPalette.Window).lightness() > 200
    assert window.progress.charts["mastery"].chart().backgroundBrush().color().lightness() > 200
    assert theme.LIGHT["muted"] in history.header.text()


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_every_tab_fits_1024x640(qtbot, window: MainWindow, mode: str) -> None:
    theme.apply(mode)
    window.resize(1024, 640)
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        qtbot.wait(50)
        hint = window.tabs.widget(index).minimumSizeHint()
        assert hint.width() <= 1000 and hint.height() <= 560, (window.tabs.tabText(index), hint)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 640, hint
    assert window.width() == 1024 and window.height() == 640


def test_the_window_remembers_size_splitters_and_tab(qtbot, library, no_models) -> None:
    db = open_user_db(paths.user_db_path())
    first = MainWindow(library, db)
    qtbot.addWidget(first)
    first.show()
    first.start()
    first.resize(1111, 666)
    first.tabs.setCurrentWidget(first.history)
    first.notes.splitter.setSizes([150, 900])
    notes_sizes = first.notes.splitter.sizes()
    first.close()
    second = MainWindow(library, db)
    qtbot.addWidget(second)
    second.show()
    second.start()
    assert (second.width(), second.height()) == (1111, 666)
    assert second.tabs.currentWidget() is second.history
    assert second.notes.splitter.sizes() == notes_sizes


def test_search_results_are_plain_text_and_tell_sections_apart(qtbot, window: MainWindow) -> None:
    notes = window.notes
    notes.search_box.setText("when should I fine-tune instead of using RAG")
    items = [notes.list.item(i).text() for i in range(notes.list.count())]
    assert len(items) >= 3
    assert not any(mark in text for text in items for mark in ("**", "| ", " |", "](", "`"))
    firsts = [text.splitlines()[0] for text in items]
    assert len(set(firsts)) == len(firsts), firsts  # no two results start the same way
    assert "0." not in notes.mode_label.text() and "hybrid" not in notes.mode_label.text()


def test_opening_a_section_highlights_it_and_selects_its_note(qtbot, window: MainWindow) -> None:
    notes = window.notes
    window.open_section("fine-tuning-vs-rag#decision-guide")
    assert notes.list.currentItem().data(256) == "fine-tuning-vs-rag"
    [band] = notes.browser.extraSelections()
    assert band.cursor.selectedText().startswith("Decision guide")
    assert "Trade-offs" not in band.cursor.selectedText()  # the band stops at the next heading
    assert notes.browser.verticalScrollBar().value() > 0
    window.open_section("fine-tuning-vs-rag")
    assert notes.browser.extraSelections() == []


def test_grade_details_are_behind_a_toggle(qtbot, window: MainWindow) -> None:
    history = window.history
    history.list.setCurrentItem(history.list.topLevelItem(0))
    view = history.grade_view
    shown = view.toPlainText()
    assert "Show details" in shown and "Confidence" not in shown and "rubric only" in shown
    view.details = True
    view._render()
    assert "Confidence in the choice" in view.toPlainText()


def test_the_progress_trend_has_a_point_per_answer(qtbot, window: MainWindow) -> None:
    window.tabs.setCurrentWidget(window.progress)
    chart = window.progress.charts["trend"].chart()
    dots = [s for s in chart.series() if s.name() == "score"]
    assert dots and dots[0].count() == len(window.progress.progress.score_trend) >= 10


def test_a_search_below_the_gate_lists_the_closest_sections_and_says_so(qtbot, window: MainWindow) -> None:
    notes = window.notes  # keywords only here (no embedding model); test_search_gate.py drives the fitted gate
    query = next(q for q in ("model", "cost", "data", "answer", "system")
                 if not window.library.lookup(q, 8)[0].in_notes and window.library.lookup(q, 8)[0].hits)
    notes.search_box.setText(query)
    assert 0 < notes.list.count() <= 3 and "may not answer it" in notes.mode_label.text()
    notes.search_box.setText("zebra saxophone quilt")  # nothing in common with any section
    assert notes.list.count() == 0 and "No section of the notes matches this" in notes.mode_label.text()
