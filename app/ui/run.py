"""Starts the GUI: opens the user database and the library, shows the window, loads the model after."""
from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QMessageBox

from app import paths
from app.library import open_library
from app.storage.userdb import UserDbError, open_user_db


def run_gui() -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    try:
        db = open_user_db(paths.user_db_path())
    except UserDbError as exc:
        QMessageBox.critical(None, "Interview Coach", str(exc))
        return 1
    window = build_window(db)  # noqa: F841 - the window must stay referenced while the event loop runs
    return app.exec()


def build_window(db=None):
    """Open the library, show the main window and start loading the model in the background."""
    from app.ui.main_window import MainWindow
    window = MainWindow(open_library(defer_embedding=True), db or open_user_db(paths.user_db_path()))
    window.show()
    window.start()
    return window
