"""Reads JSON Lines files, keeping each row's line number and naming every line that is not JSON."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator


def jsonl_rows(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, parsed row or None, error message or None) for each non-blank line."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), None
        except json.JSONDecodeError as exc:
            yield number, None, f"not valid JSON ({exc.msg})"
