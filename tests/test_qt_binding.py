"""The Qt binding keeps Python's reference counts. PySide6 6.12.0 dropped one reference to None or True on every
void call and every signal emit, so a long session (the interview countdown sets labels five times a second) ended
in "Fatal Python error: none_dealloc" / "bool_dealloc"; pyproject.toml pins a release that does not."""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

CALLS = 2000


class Sender(QObject):
    posted = Signal(object)


def lost(value, call) -> int:
    before = sys.getrefcount(value)
    for _ in range(CALLS):
        call()
    return before - sys.getrefcount(value)


def test_void_calls_and_emits_keep_none_and_true_alive(qtbot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    sender = Sender()
    sender.posted.connect(lambda _: None)
    assert lost(None, lambda: label.setText("tick")) < CALLS // 100
    assert lost(True, lambda: sender.posted.emit(1)) < CALLS // 100
