"""What import-data checks in each row's values before anything is written: column types, the closed sets of values
(verdicts, modes, statuses), the JSON columns, and that references point at rows the file carries."""
from __future__ import annotations

import json
from typing import Any, Callable

from app.core.model import VERDICTS, Grade

VERDICT_VALUES = (*VERDICTS, "pending", "skipped")
ENUMS: dict[tuple[str, str], tuple] = {
    ("attempts", "verdict"): VERDICT_VALUES,
    ("attempts", "override_verdict"): (*VERDICTS, None),
    ("attempts", "mode"): ("practice", "interview"),
    ("interviews", "status"): ("running", "finished", "abandoned"),
    ("interview_answers", "outcome"): ("answered", "timed out", "skipped", "not answered"),
    ("cards", "kind"): ("question", "point"),
}
# (table, column) -> what the JSON must be: "any" JSON, an "object", or a "grade" ("" when there is none)
JSON_COLUMNS = {("settings", "value"): "any", ("cards", "card_json"): "object",
                ("interviews", "settings_json"): "object", ("interviews", "state_json"): "object",
                ("attempts", "grade_json"): "grade"}
REFERENCES = {("reviews", "attempt_id"): ("attempts", "id"),
              ("interview_answers", "attempt_id"): ("attempts", "id"),
              ("interview_answers", "interview_id"): ("interviews", "id")}


def row_problems(table: str, row: dict[str, Any], types: dict[str, type], primary: list[str]) -> list[str]:
    """Each problem as 'column: what is wrong'."""
    problems = []
    for column, kind in types.items():
        value = row.get(column)
        if value is None:
            if column in primary:
                problems.append(f"{column}: a key column must have a value")
            elif (table, column) == ("attempts", "verdict"):
                problems.append(f"{column}: must be one of {', '.join(VERDICT_VALUES)}, not null")
            continue
        if not _is(value, kind):
            problems.append(f"{column}: must be {kind.__name__}, got {type(value).__name__} {value!r:.40}")
            continue
        allowed = ENUMS.get((table, column))
        if allowed is not None and value not in allowed:
            problems.append(f"{column}: {value!r:.40} is not one of {', '.join(str(a) for a in allowed)}")
        shape = JSON_COLUMNS.get((table, column))
        if shape is not None:
            problem = _json_problem(value, shape)
            if problem:
                problems.append(f"{column}: {problem}")
    return problems


def _is(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return False
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def _json_problem(text: str, shape: str) -> str | None:
    if shape == "grade" and text == "":
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        return f"is not valid JSON ({exc})"
    if shape in ("object", "grade") and not isinstance(value, dict):
        return "must be a JSON object"
    if shape == "grade":
        try:
            Grade.from_dict(value)
        except (KeyError, TypeError, ValueError) as exc:
            return f"is not a grade the app can read ({type(exc).__name__}: {exc})"
    return None


def reference_problems(tables: dict[str, dict], key_of: Callable[[str], str]) -> list[str]:
    """'tables.X.rows[n].column: ...' for each reference to a row the file does not carry."""
    problems = []
    for (table, column), (target, target_column) in REFERENCES.items():
        present = {row.get(target_column) for row in tables.get(target, {}).get("rows", [])}
        for number, row in enumerate(tables.get(table, {}).get("rows", [])):
            value = row.get(column)
            if value is not None and value not in present:
                problems.append(f"tables.{table}.rows[{number}].{column}: {value!r} is not the {target_column} "
                                f"of any row in tables.{target}")
    return problems
