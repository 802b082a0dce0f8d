"""Run by `python -m app bench`: opens the real window offscreen and signals when it is shown and usable."""
from __future__ import annotations

import os
import sys

from PySide6.QtWidgets import QApplication

from app.ui.run import build_window


def main() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication(sys.argv)
    window = build_window()
    while not window.isVisible() or not window.practice.question:
        app.processEvents()
    app.processEvents()
    # a file, not stdout: llama.cpp silences file descriptors 1 and 2 while the model loads on the worker thread
    with open(os.environ["COACH_BENCH_SIGNAL"], "w", encoding="utf-8") as signal:
        signal.write("shown")
    window.close()


if __name__ == "__main__":
    main()
