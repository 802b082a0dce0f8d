"""python -m app: the GUI with no arguments, otherwise a headless command."""
from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if not argv:
        from app.ui.run import run_gui
        return run_gui()
    from app.cli import run_cli
    return run_cli(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
