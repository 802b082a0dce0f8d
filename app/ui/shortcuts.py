"""The main window's keyboard: one table of actions registers the shortcuts, fills the shortcut sheet and the
command palette's actions; plus the Help menu and the zoom."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QWidget

from app.core.commands import Command, build_commands
from app.storage import userdb
from app.ui import zoom
from app.ui.palette import CommandPalette
from app.ui.shortcut_sheet import ShortcutSheet


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    keys: tuple[str, ...]
    run: Callable[[], object]
    tab: QWidget | None = None  # its keys are live only while this tab shows; elsewhere they reach the widgets
    in_palette: bool = True


class Keyboard(QObject):
    """Owns the window's shortcut actions, the palette and the sheet, and the zoom factor."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.palette: CommandPalette | None = None
        self.sheet: ShortcutSheet | None = None
        self.zoom = zoom.apply(userdb.get_setting(window.db, "zoom", zoom.DEFAULT))
        self.entries = self._entries()
        self.actions = {entry.id: self._action(entry) for entry in self.entries}
        window.tabs.currentChanged.connect(self._tab_changed)
        self._tab_changed()
        QApplication.instance().installEventFilter(self)
        help_menu = window.menuBar().addMenu("&Help")
        help_menu.addAction(self.actions["sheet"])
        help_menu.addAction(self.actions["palette"])

    def _entries(self) -> list[Entry]:
        w = self.window
        tabs = [Entry(f"tab-{i + 1}", f"Go to the {w.tabs.tabText(i).replace('&', '')} tab",
                      (f"Ctrl+{i + 1}",) if i < 9 else (), lambda i=i: self.go_to(w.tabs.widget(i)))
                for i in range(w.tabs.count())]
        return tabs + [
            Entry("next-question", "Next practice question", ("Ctrl+N",), self.next_question),
            Entry("review-due", "Practise the next question due for review", (), self.review_due),
            Entry("submit", "Submit the answer (Practice)", ("Ctrl+Return", "Ctrl+Enter"),
                  lambda: self.go_to(w.practice) and w.practice.submit(), tab=w.practice),
            Entry("cancel-grading", "Cancel the grading that is running (Practice)", ("Esc",),
                  w.practice.cancel_grading, tab=w.practice),
            # the interview's answer box handles these keys itself (before word navigation can); these entries
            # give them the rest of the Interview tab and the sheet
            Entry("interview-submit", "Submit the answer, or go on after feedback (Interview)",
                  ("Ctrl+Return", "Ctrl+Enter"), w.interview.submit, tab=w.interview, in_palette=False),
            Entry("interview-skip", "Skip the question (Interview)", ("Ctrl+Right",), w.interview.skip,
                  tab=w.interview, in_palette=False),
            Entry("interview-abandon", "Abandon the interview (Interview)", ("Esc",), w.interview.ask_abandon,
                  tab=w.interview, in_palette=False),
            Entry("notes-search", "Search the notes", ("Ctrl+F",), self.search_notes),
            Entry("notes-back", "Back to the note shown before (Notes)", ("Alt+Left",),
                  lambda: self.go_to(w.notes) and w.notes.back(), tab=w.notes),
            Entry("mock-interview", "Set up a mock interview", (), self.set_up_interview),
            Entry("palette", "Command palette: open anything by name", ("Ctrl+K",),
                  self.open_palette, in_palette=False),
            Entry("sheet", "Keyboard shortcuts", ("F1", "?"), self.open_sheet),
            Entry("zoom-in", "Zoom in (larger text)", ("Ctrl+=", "Ctrl++"),
                  lambda: self.set_zoom(zoom.larger(self.zoom))),
            Entry("zoom-out", "Zoom out (smaller text)", ("Ctrl+-",), lambda: self.set_zoom(zoom.smaller(self.zoom))),
            Entry("zoom-reset", "Reset the zoom", ("Ctrl+0",), lambda: self.set_zoom(zoom.DEFAULT)),
            Entry("grading-model", "Choose the grading model", (), w.choose_model),
            Entry("quit", "Quit (your drafts are saved)", ("Ctrl+Q",), w.close),
        ]

    def eventFilter(self, watched, event) -> bool:
        """Ctrl+K opens the palette even from a text box, whose Linux key bindings would claim it for 'delete to
        the end of the line': the override is refused before the box can accept it."""
        if event.type() == QEvent.ShortcutOverride and event.key() == Qt.Key_K \
                and event.modifiers() == Qt.ControlModifier and self.window.isActiveWindow():
            event.ignore()
            return True
        return False

    def _action(self, entry: Entry) -> QAction:
        action = QAction(entry.title, self.window)
        action.setShortcuts([QKeySequence(keys) for keys in entry.keys])
        # window-wide, but text boxes still claim the keys they edit with (Qt asks them first)
        action.setShortcutContext(Qt.WindowShortcut)
        action.triggered.connect(lambda _checked=False, run=entry.run: run())
        self.window.addAction(action)
        return action

    def _tab_changed(self, _index: int = -1) -> None:
        """A tab's own keys (Esc cancels a grade) are live only on that tab, so elsewhere they reach the widgets."""
        current = self.window.tabs.currentWidget()
        for entry in self.entries:
            if entry.tab is not None:
                self.actions[entry.id].setEnabled(entry.tab is current)

    def sheet_rows(self) -> list[tuple[str, str]]:
        return [(keys_text(entry), entry.title) for entry in self.entries if entry.keys]

    # -- what the entries do ------------------------------------------------------------------------------
    def go_to(self, page: QWidget) -> bool:
        """Show a tab, unless a running interview has locked it."""
        tabs = self.window.tabs
        index = tabs.indexOf(page)
        if not tabs.isTabEnabled(index):
            self.window.statusBar().showMessage(
                f"The {tabs.tabText(index).replace('&', '')} tab is locked until the interview ends.", 5000)
            return False
        tabs.setCurrentIndex(index)
        return True

    def next_question(self) -> None:
        if self.go_to(self.window.practice):
            self.window.practice.next_question()

    def review_due(self) -> None:
        if self.go_to(self.window.practice):
            self.window.practice.review_bar.start_review()

    def search_notes(self) -> None:
        if self.go_to(self.window.notes):
            box = self.window.notes.search_box
            box.setFocus(Qt.ShortcutFocusReason)
            box.selectAll()

    def set_up_interview(self) -> None:
        interview = self.window.interview
        if self.go_to(interview) and interview.pages.currentWidget() is interview.setup:
            interview.setup.start_button.setFocus(Qt.ShortcutFocusReason)

    def set_zoom(self, factor: float) -> None:
        self.zoom = zoom.apply(factor)
        db = self.window.db
        self.window.writes.run("your zoom", lambda: userdb.set_setting(db, "zoom", self.zoom))
        self.window.statusBar().showMessage(f"Zoom {round(self.zoom * 100)}%", 3000)

    def open_sheet(self) -> None:
        if self.sheet is None:
            self.sheet = ShortcutSheet(self.sheet_rows(), self.window)
        self.sheet.open()

    def open_palette(self) -> None:
        w = self.window
        if self.palette is None:  # built once: the notes and questions do not change while the app runs
            actions = [(entry.id, entry.title, keys_text(entry)) for entry in self.entries if entry.in_palette]
            commands = build_commands(w.library.notes, w.library.questions, w.library.topics(), actions)
            self.palette = CommandPalette(commands, w)
            self.palette.chosen.connect(self.run_command)
        self.palette.filter.clear()
        self.palette.place_over(w)
        self.palette.open()
        self.palette.filter.setFocus(Qt.PopupFocusReason)

    def run_command(self, command: Command) -> None:
        w = self.window
        if command.kind == "Action":
            next(entry for entry in self.entries if entry.id == command.target).run()
        elif command.kind in ("Note", "Section"):
            if self.go_to(w.notes):
                w.open_section(command.target)
        elif command.kind == "Topic":
            if self.go_to(w.practice):
                w.practice_topic(command.target)
        elif command.kind == "Question" and self.go_to(w.practice):
            w.practice_question(w.library.by_id[command.target])


def keys_text(entry: Entry) -> str:
    """The keys as the platform writes them (Cmd on a Mac), alternatives separated by 'or'."""
    return " or ".join(QKeySequence(keys).toString(QKeySequence.NativeText) for keys in entry.keys)

