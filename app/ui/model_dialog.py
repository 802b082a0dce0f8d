"""Lets the user pick the grading model: any GGUF in models/, or a file elsewhere."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QLabel, QListWidget, QListWidgetItem,
                               QPushButton, QVBoxLayout)

from app.llm.files import list_models

ROLE = 256


class ModelDialog(QDialog):
    def __init__(self, models_dir: Path, current: str | None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Grading model")
        self.chosen: str | None = current
        self.list = QListWidget()
        for model in list_models(models_dir):
            item = QListWidgetItem(model.label)
            item.setData(ROLE, str(model.path))
            self.list.addItem(item)
            if current and Path(current) == model.path:
                self.list.setCurrentItem(item)
        browse = QPushButton("Use a .gguf file from elsewhere...")
        browse.clicked.connect(self._browse)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Models in {models_dir} (drop any .gguf there to add one):"))
        layout.addWidget(self.list)
        layout.addWidget(browse)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a GGUF model", "", "GGUF models (*.gguf)")
        if path:
            item = QListWidgetItem(Path(path).name + " (external)")
            item.setData(ROLE, path)
            self.list.addItem(item)
            self.list.setCurrentItem(item)

    def _accept(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.chosen = item.data(ROLE)
        self.accept()
