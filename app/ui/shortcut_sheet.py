"""The shortcut sheet: every key the window answers to and what it does, as the shortcut table lists them."""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QTreeWidget, QTreeWidgetItem, QVBoxLayout

WIDTH, HEIGHT = 560, 380


class ShortcutSheet(QDialog):
    def __init__(self, rows: list[tuple[str, str]], parent=None):
        """rows: (keys as shown, what they do)."""
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.list = QTreeWidget(columnCount=2, rootIsDecorated=False, uniformRowHeights=True)
        self.list.setHeaderLabels(["Keys", "Does"])
        self.list.header().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        for keys, description in rows:
            self.list.addTopLevelItem(QTreeWidgetItem([keys, description]))
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)
        self.resize(WIDTH, HEIGHT)
        self.setMaximumSize(600, 400)

