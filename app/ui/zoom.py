"""Zoom: the application font scaled by one of a few steps, relative to the font the app started with."""
from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

STEPS = (0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0)
DEFAULT = 1.0

_base: QFont | None = None  # the font before any zoom: every step scales it, so steps never compound


def apply(factor: float) -> float:
    """Scale the application font to `factor` of the starting font; returns the step used."""
    global _base
    factor = nearest(factor)
    if _base is None:
        _base = QFont(QApplication.font())
    font = QFont(_base)
    if _base.pointSizeF() > 0:
        font.setPointSizeF(_base.pointSizeF() * factor)
    else:
        font.setPixelSize(round(_base.pixelSize() * factor))
    QApplication.setFont(font)
    return factor


def nearest(factor: float) -> float:
    """A step, whatever was stored (an older or hand-edited setting)."""
    try:
        return min(STEPS, key=lambda step: abs(step - float(factor)))
    except (TypeError, ValueError):
        return DEFAULT


def larger(factor: float) -> float:
    return next((step for step in STEPS if step > factor), STEPS[-1])


def smaller(factor: float) -> float:
    return next((step for step in reversed(STEPS) if step < factor), STEPS[0])
