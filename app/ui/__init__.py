"""The only package that imports PySide6: windows and views that render the session services and forward input."""
