"""Starts the GUI: opens the user database and the library, shows the window, loads the model after."""
from __future__ import annotations

import sys

from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication, QMessageBox

from app import paths
from app.instance import FolderLock, server_name
from app.library import open_library
from app.storage.rescue import EXPORT, RESTORE, open_with_rescue
from app.storage.userdb import open_user_db


def run_gui() -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    folder = paths.data_dir()
    lock, db = claim_data_folder(_ask, _tell)
    if lock is None:
        return _bring_forward(folder)
    if db is None:
        return 1
    window = build_window(db)
    server = _listen(folder, window)  # noqa: F841 - kept while the event loop runs, as the window is
    code = app.exec()
    lock.release()
    return code


def claim_data_folder(ask, tell):
    """(lock, user database) for a window on this data folder: (None, None) while another window holds it,
    (lock, None) when the database is damaged and the learner chose not to go on (open_with_rescue asks)."""
    lock = FolderLock(paths.data_dir())
    if not lock.acquire():
        return None, None
    return lock, open_with_rescue(paths.user_db_path(), ask, tell)


CHOICE_TEXT = {RESTORE: "Restore the latest backup", EXPORT: "Export what can be read"}


def _ask(message: str, choices: list[str]) -> str:
    box = QMessageBox(QMessageBox.Critical, "Interview Coach: your data needs attention",
                      f"{message}\n\nNothing has been changed. Backups are taken at every start.")
    buttons = {box.addButton(CHOICE_TEXT[c], QMessageBox.AcceptRole): c for c in choices if c in CHOICE_TEXT}
    box.addButton("Quit", QMessageBox.RejectRole)
    box.exec()
    return buttons.get(box.clickedButton(), "quit")


def _tell(message: str) -> None:
    QMessageBox.information(None, "Interview Coach", message)


def _bring_forward(folder) -> int:
    """Another window runs on this data folder: ask it to come forward rather than open the database twice."""
    socket = QLocalSocket()
    socket.connectToServer(server_name(folder))
    asked = socket.waitForConnected(2000)
    if asked:
        socket.write(b"raise\n")
        socket.waitForBytesWritten(2000)
        socket.disconnectFromServer()
    print(f"Interview Coach is already open on {folder}" + ("; its window was brought forward." if asked else "."),
          file=sys.stderr)
    return 0


def _listen(folder, window) -> QLocalServer:
    server = QLocalServer()
    QLocalServer.removeServer(server_name(folder))  # a name left by a process that was killed
    server.listen(server_name(folder))

    def come_forward() -> None:
        connection = server.nextPendingConnection()
        connection.readyRead.connect(connection.readAll)
        window.showNormal()
        window.raise_()
        window.activateWindow()
        print("Another launch on this data folder asked for this window: brought forward.", file=sys.stderr)
    server.newConnection.connect(come_forward)
    return server


def build_window(db=None):
    """Open the library, show the main window and start loading the model in the background."""
    from app.ui.main_window import MainWindow
    window = MainWindow(open_library(defer_embedding=True), db or open_user_db(paths.user_db_path()))
    window.show()
    window.start()
    return window
