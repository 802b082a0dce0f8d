"""The one place colours live: the light and dark palettes, named colours for HTML and charts, the theme setting."""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

MODES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}

# Named colours for text the views write as HTML, and for charts. Dark ones are lighter so they keep contrast
# on a dark window (each pair measured >= 4.5:1 against its own window colour).
LIGHT = {
    "window": "#f3f3f3", "base": "#ffffff", "text": "#1d1d1d", "muted": "#505050", "faint": "#6b6b6b",
    "good": "#1b7f3b", "warn": "#9a5b00", "bad": "#b3261e", "accent": "#2f63b5", "link": "#1f5fbf",
    "banner": "#fff4e0", "banner_border": "#e0b060", "table_header": "#e8eef6", "code": "#f0f0f0",
    "rule": "#9a9a9a", "highlight": "#fff3b0", "button": "#e9e9e9", "selection": "#2f63b5",
}
DARK = {
    "window": "#1f2023", "base": "#16171a", "text": "#e6e6e6", "muted": "#b4b4b4", "faint": "#9c9c9c",
    "good": "#5cc77f", "warn": "#e6a94a", "bad": "#ff7b72", "accent": "#6f9ef0", "link": "#8ab4f8",
    "banner": "#3a2f1a", "banner_border": "#8a6a2a", "table_header": "#2c3440", "code": "#2a2b2f",
    "rule": "#5a5a5a", "highlight": "#4a4220", "button": "#2d2e33", "selection": "#3d6fc2",
}
VERDICT_ROLE = {"correct": "good", "partial": "warn", "incorrect": "bad"}


class _Notifier(QObject):
    changed = Signal()


_notifier: _Notifier | None = None
_mode = "system"
_following = False


def notifier() -> _Notifier:
    """Views connect `notifier().changed` to redraw what they wrote with named colours."""
    global _notifier
    if _notifier is None:
        _notifier = _Notifier()
    return _notifier


def is_dark() -> bool:
    app = QApplication.instance()
    return app is not None and app.palette().color(QPalette.Window).lightness() < 128


def colour(role: str) -> str:
    """A named colour ('muted', 'good', 'bad', ...) for the palette now in use."""
    return (DARK if is_dark() else LIGHT)[role]


def verdict_colour(verdict: str | None) -> str:
    return colour(VERDICT_ROLE.get(verdict or "", "text"))


def report_colours() -> dict[str, str]:
    """The interview report's verdict and text colours in the theme now in use."""
    return {**{verdict: colour(role) for verdict, role in VERDICT_ROLE.items()}, "muted": colour("muted"),
            "faint": colour("faint")}


def mode() -> str:
    return _mode


def system_is_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply(chosen: str = "system") -> None:
    """Light, dark, or whatever the system says; every view that listens redraws."""
    global _mode
    _mode = chosen if chosen in MODES else "system"
    app = QApplication.instance()
    dark = _mode == "dark" or (_mode == "system" and system_is_dark())
    app.setStyle(QStyleFactory.create("Fusion"))  # the same look on every platform, and it honours the palette
    colours = DARK if dark else LIGHT
    app.setPalette(_palette(colours))
    app.setStyleSheet(_role_rules(colours))
    notifier().changed.emit()


def set_role(widget, role: str, bold: bool = False):
    """Colour a label's text by name ('muted', 'bad', ...); the rule follows the theme when it changes."""
    widget.setProperty("role", role + ("_bold" if bold else ""))
    widget.style().unpolish(widget)
    widget.style().polish(widget)
    return widget


def _role_rules(colours: dict[str, str]) -> str:
    rules = []
    for name in ("muted", "faint", "good", "warn", "bad", "accent", "text"):
        rules.append(f'QLabel[role="{name}"] {{ color: {colours[name]}; }}')
        rules.append(f'QLabel[role="{name}_bold"] {{ color: {colours[name]}; font-weight: bold; }}')
    rules.append(f'QFrame[role="banner"] {{ background: {colours["banner"]}; border: 1px solid {colours["banner_border"]};'
                 ' border-radius: 4px; }')
    return "\n".join(rules)


def follow_system() -> None:
    """Re-apply when the system switches scheme while the mode is 'system' (connected once per process)."""
    global _following
    if not _following:
        QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _scheme: _mode == "system" and apply("system"))
        _following = True


def _palette(colours: dict[str, str]) -> QPalette:
    palette = QPalette()
    roles = {QPalette.Window: "window", QPalette.WindowText: "text", QPalette.Base: "base",
             QPalette.AlternateBase: "window", QPalette.Text: "text", QPalette.Button: "button",
             QPalette.ButtonText: "text", QPalette.ToolTipBase: "base", QPalette.ToolTipText: "text",
             QPalette.Highlight: "selection",
             QPalette.Link: "link", QPalette.PlaceholderText: "faint", QPalette.BrightText: "bad"}
    for role, name in roles.items():
        palette.setColor(role, QColor(colours[name]))
    palette.setColor(QPalette.HighlightedText, QColor("#ffffff"))
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        palette.setColor(QPalette.Disabled, role, QColor(colours["faint"]))
    return palette
