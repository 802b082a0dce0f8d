"""The command palette: type to filter notes, sections, topics, questions and actions; Enter runs the choice."""
from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QDialog, QHeaderView, QLabel, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout

from app.core.commands import Command, rank
from app.ui.theme import colour

WIDTH, HEIGHT = 580, 380  # fits over a 1024x640 window with room to spare
SHOWN = 200  # rows listed at most: the rest are reached by typing more, and the list stays quick to redraw
NAVIGATION = (Qt.Key_Up, Qt.Key_Down, Qt.Key_PageUp, Qt.Key_PageDown)


class CommandPalette(QDialog):
    chosen = Signal(object)  # the Command to run, once the palette has closed

    def __init__(self, commands: list[Command], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Command palette")
        self.commands = commands
        self.filter = QLineEdit(placeholderText="Type to find a note, section, topic, question or action")
        self.filter.textChanged.connect(self.refresh)
        self.filter.returnPressed.connect(self.run_current)
        self.filter.installEventFilter(self)
        self.list = QTreeWidget(columnCount=3, rootIsDecorated=False, headerHidden=True, uniformRowHeights=True)
        self.list.itemActivated.connect(lambda *_: self.run_current())
        header = self.list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        header.setSectionResizeMode(2, QHeaderView.Interactive)
        header.resizeSection(2, WIDTH // 3)
        self.count = QLabel()
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.count)
        self.resize(WIDTH, HEIGHT)
        self.setMaximumSize(600, 400)
        self.refresh("")

    def refresh(self, text: str) -> None:
        found = rank(self.commands, text)
        detail = QBrush(QColor(colour("faint")))
        self.list.clear()
        for command in found[:SHOWN]:
            item = QTreeWidgetItem([command.kind, command.title, command.detail])
            item.setData(0, Qt.UserRole, command)
            item.setForeground(0, detail)
            item.setForeground(2, detail)
            item.setToolTip(1, f"{command.title}\n{command.detail}")
            self.list.addTopLevelItem(item)
        if found:
            self.list.setCurrentItem(self.list.topLevelItem(0))
        more = f", the first {SHOWN} shown: type more to narrow" if len(found) > SHOWN else ""
        self.count.setText(f"{len(found)} match{'es' if len(found) != 1 else ''}{more}. "
                           "Enter runs, Esc closes." if found else "Nothing matches every word.")

    def eventFilter(self, watched, event) -> bool:
        """Up, Down and the page keys move through the list while the typing stays in the filter."""
        if watched is self.filter and event.type() == QEvent.KeyPress and event.key() in NAVIGATION:
            self.list.keyPressEvent(event)
            return True
        return super().eventFilter(watched, event)

    def run_current(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        self.accept()
        self.chosen.emit(item.data(0, Qt.UserRole))

    def place_over(self, window) -> None:
        """Centred near the top of the window, like an editor's palette."""
        frame = window.frameGeometry()
        self.move(frame.x() + (frame.width() - self.width()) // 2, frame.y() + min(80, frame.height() // 8))
