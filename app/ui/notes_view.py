"""The notes browser: a searchable list, the rendered note, links between notes and to sections."""
from __future__ import annotations

from html import escape

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QColor, QTextCursor, QTextFormat
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton,
                               QSplitter, QTextBrowser, QTextEdit, QVBoxLayout, QWidget)

from app.library import Library
from app.ui import theme
from app.ui.markdown_html import note_html

ROLE = 256  # Qt.UserRole
RESULTS = 8  # sections listed for a query the notes probably answer
NEAREST = 3  # sections listed when the gate says the notes probably do not answer it


class NotesView(QWidget):
    practice_requested = Signal(str)  # topic id

    def __init__(self, library: Library):
        super().__init__()
        self.library = library
        self.current_note: str | None = None
        self.shown_ref: str | None = None  # the note or section on screen; None while the contents page shows
        self.visited: list[str] = []  # what was shown before it, latest last, for Back (Alt+Left)
        self.search_box = QLineEdit(placeholderText="Search the notes (e.g. 'semantic cache', 'LoRA rank')")
        self.search_box.textChanged.connect(self.run_search)
        self.mode_label = theme.set_role(QLabel(wordWrap=True), "muted")
        self.list = QListWidget(wordWrap=True)
        self.list.currentItemChanged.connect(self._item_chosen)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._link_clicked)
        self.title = QLabel(wordWrap=True)
        self.title.setStyleSheet("font-weight: bold;")
        self.section_slug = ""
        theme.notifier().changed.connect(self._rethemed)
        self.practice_button = QPushButton("Practice this topic")
        self.practice_button.clicked.connect(lambda: self.current_note and self.practice_requested.emit(self.current_note))
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.search_box)
        left_layout.addWidget(self.list)
        left_layout.addWidget(self.mode_label)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.practice_button)
        right_layout.addLayout(header)
        right_layout.addWidget(self.browser)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([300, 700])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.splitter = splitter
        self.run_search("")
        self.show_contents()

    def _rethemed(self) -> None:
        if self.current_note is not None:
            note, slug = self.current_note, self.section_slug
            self.current_note = None
            self.open_section(f"{note}#{slug}" if slug else note, remember=False)

    def show_contents(self) -> None:
        """Before a note is chosen: what the notes are for, and every note as a link."""
        self.current_note = self.shown_ref = None
        self.title.setText("Concept notes")
        self.practice_button.setEnabled(False)
        links = "".join(f'<li><a href="{escape(n.id)}.md">{escape(n.title)}</a></li>' for n in self.library.notes)
        self.browser.setHtml(
            "<p>These notes are what the grader cites: every grade links to the sections behind the right choice. "
            "Pick a note here or on the left, or search them by meaning above (for example 'why does my agent "
            "loop cost so much').</p>"
            f"<ul>{links}</ul>")

    def run_search(self, text: str) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        if not text.strip():
            for note in self.library.notes:
                item = QListWidgetItem(note.title)
                item.setData(ROLE, note.id)
                self.list.addItem(item)
            self.mode_label.setText(f"{len(self.library.notes)} notes")
        else:
            found, mode = self.library.lookup(text, RESULTS)
            # never an empty list for a question the notes may answer in other words: when the gate says the notes
            # probably do not answer it, the closest sections are still listed, marked as such
            hits = found.hits if found else []
            shown = hits if found and found.in_notes else hits[:NEAREST]
            for hit in shown:
                self.list.addItem(result_item(hit, self.library))
            why = "there is no embedding model" if self.library.embedder is None else "the meaning index is not ready"
            keywords = "" if mode == "hybrid" else (f" Matching keywords only ({why}): try the words the notes "
                                                    "would use.")
            self.mode_label.setText((f"{len(shown)} sections match, best first." if found and found.in_notes else
                                     "Probably not in the notes. The closest sections are listed; they may not "
                                     "answer it." if shown else
                                     "No section of the notes matches this.") + keywords)
        self.list.blockSignals(False)

    def _item_chosen(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.open_section(item.data(ROLE))

    def open_section(self, ref: str, remember: bool = True) -> bool:
        """Show a note ('note-id') or a section ('note-id#slug'); False when it does not exist."""
        note_id, _, slug = ref.partition("#")
        note = self.library.notes_by_id.get(note_id)
        if note is None:
            return False
        if remember and self.shown_ref not in (None, ref):
            self.visited.append(self.shown_ref)
        self.shown_ref = ref
        if note_id != self.current_note:
            self.current_note = note_id
            self.practice_button.setEnabled(True)
            self.title.setText(note.title)
            self.browser.setHtml(note_html(note.body))
        self.section_slug = slug
        self._select_in_list(note_id, ref)
        self._highlight(slug)
        if slug:
            self.browser.scrollToAnchor(slug)
        else:
            self.browser.verticalScrollBar().setValue(0)
        return True

    def _select_in_list(self, note_id: str, ref: str) -> None:
        """The list shows where you are: the search result for this section, else the note."""
        items = [self.list.item(i) for i in range(self.list.count())]
        match = (next((i for i in items if i.data(ROLE) == ref), None)
                 or next((i for i in items if i.data(ROLE) == note_id), None))
        self.list.blockSignals(True)
        self.list.setCurrentItem(match) if match else self.list.clearSelection()
        self.list.blockSignals(False)

    def _highlight(self, slug: str) -> None:
        """A tinted band over the section a citation or search result pointed to, up to the next heading."""
        selections = []
        block = _anchor_block(self.browser.document(), slug) if slug else None
        if block is not None:
            level = block.blockFormat().headingLevel() or 6
            cursor = QTextCursor(block)
            end = block.next()
            while end.isValid() and not 0 < end.blockFormat().headingLevel() <= level:
                cursor.setPosition(end.position() + max(end.length() - 1, 0), QTextCursor.KeepAnchor)
                end = end.next()
            if cursor.position() == block.position():
                cursor.movePosition(QTextCursor.EndOfBlock, QTextCursor.KeepAnchor)
            selection = QTextEdit.ExtraSelection()
            selection.cursor = cursor
            selection.format.setBackground(QColor(theme.colour("highlight")))
            selection.format.setProperty(QTextFormat.FullWidthSelection, True)
            selections.append(selection)
        self.browser.setExtraSelections(selections)

    def back(self) -> None:
        """The note or section shown before this one; from the first one, the contents page."""
        if self.visited:
            self.open_section(self.visited.pop(), remember=False)
        else:
            self.show_contents()

    def _link_clicked(self, url: QUrl) -> None:
        target = url.toString()
        if "://" in target:
            return
        file_part, _, anchor = target.partition("#")
        note_id = file_part[:-3] if file_part.endswith(".md") else (file_part or self.current_note or "")
        self.open_section(f"{note_id}#{anchor}" if anchor else note_id)


def result_item(hit, library: Library) -> QListWidgetItem:
    """A search result a learner can tell apart from its neighbours: the section first, its note after, then the
    words that matched, as plain text."""
    note = library.notes_by_id.get(hit.note_id)
    title = note.title if note else hit.note_id
    item = QListWidgetItem(f"{hit.heading}  —  {title}\n{hit.snippet[:150]}")
    item.setData(ROLE, hit.section_id)
    item.setToolTip(f"{hit.path}\n\n{hit.snippet}")
    return item


def _anchor_block(document, slug: str):
    block = document.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            if slug in it.fragment().charFormat().anchorNames():
                return block if block.blockFormat().headingLevel() else block.next()
            it += 1
        block = block.next()
    return None
